"""The dossier's paperwork: which document an element asks for, with what content, rendered by a
background job (WeasyPrint takes ~0.3 s a page: never inside a person's request) and stored as an
attachment. Reliability comes from the outbox: the render is an internal outbox operation, so it
retries and becomes an incident like any connector call."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.models import Agency, Attachment, Dossier, OutboxMessage

log = logging.getLogger(__name__)

CONNECTOR = "documents"
OPERATION = "render"
SYMBOLS = {"giay-tiep-nhan": "GTN", "phieu-yeu-cau-bo-sung": "PBS", "phieu-tu-choi": "PTC",
           "phieu-xin-loi": "PXL", "ket-qua": "KQ", "phieu-kiem-soat": "PKS"}
TITLES = {"desk": "Công chức Bộ phận Một cửa", "specialist": "Chuyên viên thụ lý", "leader": "Chủ tịch",
          "system": "Bộ phận Một cửa"}
FILENAMES = {"giay-tiep-nhan": "giay-tiep-nhan-va-hen-tra-ket-qua", "phieu-yeu-cau-bo-sung": "phieu-yeu-cau-bo-sung",
             "phieu-tu-choi": "phieu-tu-choi", "phieu-xin-loi": "phieu-xin-loi-va-hen-lai", "ket-qua": "ket-qua",
             "phieu-kiem-soat": "phieu-kiem-soat"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_context(ctx: EngineContext, session: Session, dossier: Dossier, meta: dict[str, Any], kind: str,
                  data: dict[str, Any], actor: Any, now: datetime, **extra: Any) -> dict[str, Any]:
    """What the template of `kind` needs, as JSON (it travels in the outbox row)."""
    agency = session.get(Agency, dossier.agency_code)
    applicant = data.get("applicant") or {}
    number = dossier.code.rsplit("-", 1)[-1]
    context: dict[str, Any] = {
        "public_url": ctx.settings.public_url,
        "agency": {"name": agency.name if agency else dossier.agency_code, "code": dossier.agency_code,
                   "place": (agency.name.split(" ", 2)[-1] if agency else "") or "Hòa Bình"},
        "dossier": {"code": dossier.code, "submitted_at": _iso(dossier.submitted_at),
                    "received_at": _iso(dossier.received_at or now), "due_at": _iso(dossier.due_at),
                    "sets": 1, "return_place": f"Bộ phận Một cửa, {agency.name if agency else ''}".strip(", ")},
        "procedure": {"code": meta.get("code"), "name": meta["name"], "deadline": meta.get("deadline") or "",
                      "supplement_clock": meta.get("supplement_clock", "restart")},
        "applicant": {"name": dossier.applicant_name, "id_number": dossier.applicant_id_number,
                      "phone": dossier.applicant_phone, "email": dossier.applicant_email,
                      "address": applicant.get("address")},
        "official": {"name": getattr(actor, "full_name", "") or "Bộ phận Một cửa",
                     "title": TITLES.get(getattr(actor, "role", "system"), "Công chức")},
        "document": {"number": number, "symbol": f"{SYMBOLS.get(kind, 'VB')}-{dossier.agency_code}",
                     "date": now.isoformat()},
        "data": {k: v for k, v in data.items() if k not in ("dossier", "applicant")},
    }
    _KIND_CONTENT.get(kind, lambda *a: None)(context, meta, data, dossier)
    context.update(extra)
    return context


def _receipt(context: dict[str, Any], meta: dict[str, Any], data: dict[str, Any], dossier: Dossier) -> None:
    context["items"] = [{"name": doc["name"], "form": doc.get("form", "Bản chính"), "copies": doc.get("copies", 1)}
                        for doc in meta.get("required_documents") or [] if doc.get("required", True)]


def _first_text(data: dict[str, Any], prefixes: tuple[str, ...]) -> str | None:
    """The first non-empty text field whose name starts with one of `prefixes`, in that order."""
    for prefix in prefixes:
        for key, value in data.items():
            if key.startswith(prefix) and isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _supplement(context: dict[str, Any], meta: dict[str, Any], data: dict[str, Any], dossier: Dossier) -> None:
    items = data.get("giay_to_thieu") or []
    context["items"] = [str(item) for item in items] or ["Theo hướng dẫn của cán bộ tiếp nhận."]
    context["reason"] = _first_text(data, ("ly_do_bo_sung", "y_kien", "ghi_chu")) or \
        "Hồ sơ chưa đầy đủ, hợp lệ theo quy định."
    context["supplement"] = {"guidance": "Nộp bổ sung trực tuyến tại trang tra cứu hồ sơ hoặc tại Bộ phận Một cửa."}


def _refusal(context: dict[str, Any], meta: dict[str, Any], data: dict[str, Any], dossier: Dossier) -> None:
    reasons = data.get("ly_do_tu_choi") or _first_text(data, ("ly_do",)) or "Hồ sơ không đủ điều kiện giải quyết."
    context["reasons"] = [str(reasons)] if isinstance(reasons, str) else [str(r) for r in reasons]


def _result(context: dict[str, Any], meta: dict[str, Any], data: dict[str, Any], dossier: Dossier) -> None:
    result = meta.get("result") or {}
    context["document"].update(
        title=result.get("title") or f"Kết quả giải quyết thủ tục {meta['name']}",
        summary=result.get("summary") or f"Hồ sơ số {dossier.code}",
        lines=[f"Người yêu cầu: {dossier.applicant_name}", f"Thủ tục: {meta['name']}",
               "Kết quả: hồ sơ đã được giải quyết theo quy định."],
    )
    # Who signs differs by agency (Chủ tịch UBND, Giám đốc Công an tỉnh...): procedure.json result.signer.
    signer = result.get("signer") or {}
    context["official"] = {**context["official"], "title": signer.get("title", "Chủ tịch"),
                           "authority": signer.get("authority", "TM. Ủy ban nhân dân")}


_KIND_CONTENT = {"giay-tiep-nhan": _receipt, "phieu-yeu-cau-bo-sung": _supplement, "phieu-tu-choi": _refusal,
                 "ket-qua": _result}


def request(ctx: EngineContext, session: Session, dossier: Dossier, meta: dict[str, Any], kind: str,
            data: dict[str, Any], actor: Any, now: datetime, **extra: Any) -> OutboxMessage:
    """An outbox row that will render `kind` for the dossier (content frozen now)."""
    context = build_context(ctx, session, dossier, meta, kind, data, actor, now, **extra)
    return OutboxMessage(dossier_id=dossier.id, task_id=None, connector=CONNECTOR, operation=OPERATION,
                         payload={"kind": kind, "context": context},
                         idempotency_key=f"{dossier.code}:doc:{kind}:{dossier.event_seq}:{now.timestamp()}",
                         waits=False, state="pending", attempts=0,
                         # scheduled on the wall clock even when a sweep runs with a simulated `now`
                         next_attempt_at=min(now, datetime.now(UTC)), created_at=datetime.now(UTC))


def package_template_dir(ctx: EngineContext, content_hash: str, package: dict[str, Any]) -> list[Path]:
    """A procedure's own document templates, written once per version where the renderer can read them."""
    templates = package.get("documents") or {}
    if not templates:
        return []
    folder = Path(ctx.settings.data_dir) / "templates" / content_hash
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in templates.items():
            (folder / Path(name).name).write_text(text, encoding="utf-8")
    return [folder]


def render_job(ctx: EngineContext, message: OutboxMessage) -> dict[str, Any]:
    """Execute a render row: PDF → file store → attachment row + history event."""
    from engine.db import transaction
    from engine.documents import FileStore, render_pdf

    kind = message.payload["kind"]
    with ctx.sessions() as session:
        dossier = session.get(Dossier, message.dossier_id)
        version = ctx.versions.get(session, dossier.procedure_version_id)
    pdf = render_pdf(kind, message.payload["context"],
                     template_dirs=package_template_dir(ctx, version.content_hash, version.package))
    sha256, size = FileStore(Path(ctx.settings.data_dir) / "files").put(pdf)
    with transaction(ctx.sessions) as session:
        dossier = session.get(Dossier, message.dossier_id)
        attachment = Attachment(dossier_id=dossier.id, kind=kind, filename=f"{FILENAMES.get(kind, kind)}-{dossier.code}.pdf",
                                content_type="application/pdf", sha256=sha256, size=size,
                                created_at=datetime.fromisoformat(message.payload["context"]["document"]["date"]))
        session.add(attachment)
        session.flush()
        history.record(session, dossier, "document", status=dossier.status,
                       data={"kind": kind, "attachment": attachment.id, "sha256": sha256})
        if kind == "ket-qua":
            follow_up = sign_request(ctx, dossier, version.meta, attachment, pdf)
            if follow_up is not None:
                session.add(follow_up)
        return {"attachment": attachment.id, "sha256": sha256, "size": size}


SIGNING_CONNECTORS = ("remote_signing", "local_signing")
SIGNED_KIND = "ket-qua-ky-so"


def signing_connector(ctx: EngineContext, meta: dict[str, Any]) -> str | None:
    """The procedure's choice (procedure.json `signing`), else the first signing connector enabled."""
    available = set(ctx.connectors.available())
    wanted = meta.get("signing")
    if wanted:
        return wanted if wanted in available else None
    return next((c for c in SIGNING_CONNECTORS if c in available), None)


def sign_request(ctx: EngineContext, dossier: Dossier, meta: dict[str, Any], attachment: Attachment,
                 pdf: bytes) -> OutboxMessage | None:
    """Queue the PAdES signature of a rendered result; the signed copy is stored when it returns."""
    import base64

    connector = signing_connector(ctx, meta)
    if connector is None:
        return None
    now = datetime.now(UTC)
    signer = (meta.get("result") or {}).get("signer") or {}
    payload = {"pdf_b64": base64.b64encode(pdf).decode(), "reason": f"Ký số kết quả giải quyết hồ sơ {dossier.code}",
               "location": dossier.agency_code, "signer_title": signer.get("title", "Lãnh đạo")}
    return OutboxMessage(dossier_id=dossier.id, task_id=None, connector=connector, operation="sign_pdf",
                         payload=payload, idempotency_key=f"{dossier.code}:sign:{attachment.sha256[:16]}",
                         waits=False, state="pending", attempts=0, next_attempt_at=now, created_at=now,
                         context={"on_done": "store_signed", "attachment": attachment.id})


def store_signed(ctx: EngineContext, session: Session, message: OutboxMessage, result: dict[str, Any]) -> None:
    """Keep the signed result next to the unsigned one, findable by its verification code."""
    import base64

    from engine.documents import FileStore

    signed = base64.b64decode(result["pdf_b64"])
    sha256, size = FileStore(Path(ctx.settings.data_dir) / "files").put(signed)
    dossier = session.get(Dossier, message.dossier_id)
    original = session.get(Attachment, message.context["attachment"])
    attachment = Attachment(dossier_id=dossier.id, kind=SIGNED_KIND,
                            filename=original.filename.replace(".pdf", "-da-ky-so.pdf"),
                            content_type="application/pdf", sha256=sha256, size=size,
                            created_at=datetime.now(UTC), verification_code=result.get("verification_code"))
    session.add(attachment)
    session.flush()
    history.record(session, dossier, "signed", status=dossier.status,
                   data={"attachment": attachment.id, "signer": result.get("signer"),
                         "verification_code": result.get("verification_code"), "connector": message.connector})
