"""The dossier's paperwork: which document an element asks for, with what content, rendered by a
background job (WeasyPrint takes ~0.3 s a page: never inside a person's request) and stored as an
attachment. Reliability comes from the outbox: the render is an internal outbox operation, so it
retries and becomes an incident like any connector call."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.models import Attachment, Dossier, OutboxMessage

log = logging.getLogger(__name__)

CONNECTOR = "documents"
OPERATION = "render"
SYMBOLS = {"giay-tiep-nhan": "GTN", "phieu-yeu-cau-bo-sung": "PBS", "phieu-tu-choi": "PTC",
           "phieu-xin-loi": "PXL", "ket-qua": "KQ", "phieu-kiem-soat": "PKS", "cong-van": "CV"}
TITLES = {"desk": "Công chức Bộ phận Một cửa", "specialist": "Chuyên viên thụ lý", "leader": "Chủ tịch",
          "system": "Bộ phận Một cửa"}
FILENAMES = {"giay-tiep-nhan": "giay-tiep-nhan-va-hen-tra-ket-qua", "phieu-yeu-cau-bo-sung": "phieu-yeu-cau-bo-sung",
             "phieu-tu-choi": "phieu-tu-choi", "phieu-xin-loi": "phieu-xin-loi-va-hen-lai", "ket-qua": "ket-qua",
             "phieu-kiem-soat": "phieu-kiem-soat", "cong-van": "cong-van"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_context(ctx: EngineContext, session: Session, dossier: Dossier, meta: dict[str, Any], kind: str,
                  data: dict[str, Any], actor: Any, now: datetime, **extra: Any) -> dict[str, Any]:
    """What the template of `kind` needs, as JSON (it travels in the outbox row)."""
    agency_name = ctx.agency_name(session, dossier.agency_code)
    applicant = data.get("applicant") or {}
    number = dossier.code.rsplit("-", 1)[-1]
    context: dict[str, Any] = {
        "public_url": ctx.settings.public_url,
        "agency": {"name": agency_name or dossier.agency_code, "code": dossier.agency_code,
                   "place": (agency_name.split(" ", 2)[-1] if agency_name else "") or "Hòa Bình"},
        "dossier": {"code": dossier.code, "submitted_at": _iso(dossier.submitted_at),
                    "received_at": _iso(dossier.received_at or now), "due_at": _iso(dossier.due_at),
                    "sets": 1, "return_place": f"Bộ phận Một cửa, {agency_name or ''}".strip(", ")},
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


def _letter(context: dict[str, Any], meta: dict[str, Any], data: dict[str, Any], dossier: Dossier) -> None:
    """A công văn to another agency: the workflow writes its content in `cong_van` (kinh_gui, trich_yeu,
    noi_dung, noi_nhan, nguoi_ky) before the element that asks for the document."""
    letter = data.get("cong_van") or {}

    def lines(value: Any) -> list[str]:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []

    context["addressees"] = lines(letter.get("kinh_gui")) or ["Cơ quan phối hợp giải quyết hồ sơ"]
    context["paragraphs"] = [p.strip() for text in lines(letter.get("noi_dung")) for p in text.split("\n\n")
                             if p.strip()] or [f"Đề nghị phối hợp giải quyết hồ sơ {dossier.code}."]
    context["document"].update(about=letter.get("trich_yeu") or f"phối hợp giải quyết hồ sơ {dossier.code}",
                               recipients=lines(letter.get("noi_nhan")) or ["Như trên", "Lưu: VT"])
    signer = letter.get("nguoi_ky") or (meta.get("result") or {}).get("signer") or {}
    context["official"] = {"name": signer.get("ho_ten") or signer.get("name") or context["official"]["name"],
                           "title": signer.get("chuc_vu") or signer.get("title") or "Lãnh đạo",
                           "authority": signer.get("tham_quyen") or signer.get("authority")}


_KIND_CONTENT = {"giay-tiep-nhan": _receipt, "phieu-yeu-cau-bo-sung": _supplement, "phieu-tu-choi": _refusal,
                 "ket-qua": _result, "cong-van": _letter}


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
    from engine.documents import render_pdf

    kind = message.payload["kind"]
    with ctx.sessions() as session:
        dossier = session.get(Dossier, message.dossier_id)
        version = ctx.versions.get(session, dossier.procedure_version_id)
    pdf = render_pdf(kind, message.payload["context"],
                     template_dirs=package_template_dir(ctx, version.content_hash, version.package))
    sha256, size = ctx.files.put(pdf)
    with transaction(ctx.sessions) as session:
        # Locked as a completion locks it (engine/services/tasks.py): an official completing a step of the
        # dossier meanwhile waits for this commit, or this waits for theirs; the recording never loses
        # the dossier's optimistic lock to them.
        dossier = session.get(Dossier, message.dossier_id, with_for_update={"key_share": True},
                              populate_existing=True)
        attachment = Attachment(dossier_id=dossier.id, kind=kind, filename=f"{FILENAMES.get(kind, kind)}-{dossier.code}.pdf",
                                content_type="application/pdf", sha256=sha256, size=size,
                                created_at=datetime.fromisoformat(message.payload["context"]["document"]["date"]))
        session.add(attachment)
        session.flush()
        history.record(session, dossier, "document", status=dossier.status,
                       data={"kind": kind, "attachment": attachment.id, "sha256": sha256})
        follow_up = sign_request(ctx, dossier, version.meta, attachment, pdf) if kind in SIGNED_KINDS else None
        if follow_up is not None:
            session.add(follow_up)
        else:
            wake_waiting(session, dossier.id, kind)
        return {"attachment": attachment.id, "sha256": sha256, "size": size}


SIGNING_CONNECTORS = ("remote_signing", "local_signing")
#: Documents the agency signs digitally (the result; letters sent to other agencies), and the kind
#: their signed copy is stored under.
SIGNED_KINDS = ("ket-qua", "cong-van")
SIGNED_KIND = "ket-qua-ky-so"  # signed_kind("ket-qua"): the citizen's signed result
_SIGNING_REASONS = {"ket-qua": "Ký số kết quả giải quyết hồ sơ {code}",
                    "cong-van": "Ký số công văn liên thông về hồ sơ {code}"}


def signed_kind(kind: str) -> str:
    return f"{kind}-ky-so"


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
    reason = _SIGNING_REASONS.get(attachment.kind, "Ký số văn bản về hồ sơ {code}").format(code=dossier.code)
    payload = {"pdf_b64": base64.b64encode(pdf).decode(), "reason": reason,
               "location": dossier.agency_code, "signer_title": signer.get("title", "Lãnh đạo")}
    return OutboxMessage(dossier_id=dossier.id, task_id=None, connector=connector, operation="sign_pdf",
                         payload=payload, idempotency_key=f"{dossier.code}:sign:{attachment.sha256[:16]}",
                         waits=False, state="pending", attempts=0, next_attempt_at=now, created_at=now,
                         context={"on_done": "store_signed", "attachment": attachment.id})


def keep_signed_file(ctx: EngineContext, result: dict[str, Any]) -> None:
    """The signed PDF into the file store, before the transaction that records it (`store_signed`):
    a bucket is asked over the network, with no row locked meanwhile."""
    import base64

    ctx.files.put(base64.b64decode(result["pdf_b64"], validate=True))


def store_signed(ctx: EngineContext, session: Session, message: OutboxMessage, result: dict[str, Any]) -> None:
    """Keep the signed result next to the unsigned one, findable by its verification code."""
    import base64


    signed = base64.b64decode(result["pdf_b64"])
    sha256, size = hashlib.sha256(signed).hexdigest(), len(signed)  # stored already: keep_signed_file
    dossier = session.get(Dossier, message.dossier_id)
    original = session.get(Attachment, message.context["attachment"])
    attachment = Attachment(dossier_id=dossier.id, kind=signed_kind(original.kind),
                            filename=original.filename.replace(".pdf", "-da-ky-so.pdf"),
                            content_type="application/pdf", sha256=sha256, size=size,
                            created_at=datetime.now(UTC), verification_code=result.get("verification_code"))
    session.add(attachment)
    session.flush()
    history.record(session, dossier, "signed", status=dossier.status,
                   data={"attachment": attachment.id, "signer": result.get("signer"),
                         "verification_code": result.get("verification_code"), "connector": message.connector})
    wake_waiting(session, dossier.id, original.kind)


def wake_waiting(session: Session, dossier_id: int, kind: str) -> None:
    """Calls of the dossier waiting to attach `kind` may go now (they were told to ask again later)."""
    from sqlalchemy import select

    now = datetime.now(UTC)
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_id == dossier_id,
                                                           OutboxMessage.state == "pending",
                                                           OutboxMessage.next_attempt_at > now)):
        if kind in ((row.context or {}).get("attach") or ()):
            row.next_attempt_at = now


def attachments_for(ctx: EngineContext, dossier_id: int, kinds: list[str]) -> list[dict[str, Any]]:
    """The dossier's latest document of each kind, ready to travel (edXML attachments): the signed copy
    for kinds the agency signs. Not produced (or not signed) yet: the caller is asked to wait."""
    import base64

    from sqlalchemy import select

    from integrations import ConnectorPending

    store = ctx.files
    files = []
    with ctx.sessions() as session:
        dossier = session.get(Dossier, dossier_id)
        meta = ctx.versions.get(session, dossier.procedure_version_id).meta
        for kind in kinds:
            wanted = signed_kind(kind) if kind in SIGNED_KINDS and signing_connector(ctx, meta) else kind
            attachment = session.scalar(select(Attachment).where(Attachment.dossier_id == dossier_id,
                                                                 Attachment.kind == wanted)
                                        .order_by(Attachment.id.desc()).limit(1))
            if attachment is None:
                state = "được ký số" if wanted != kind else "được lập"
                raise ConnectorPending(f"Đang chờ văn bản «{kind}» của hồ sơ {dossier.code} {state}",
                                       detail=f"no {wanted} attachment yet", retry_after=15.0)
            files.append({"name": attachment.filename, "content_type": attachment.content_type,
                          "data_b64": base64.b64encode(store.open(attachment.sha256)).decode(),
                          "description": f"{kind} {dossier.code}"})
    return files
