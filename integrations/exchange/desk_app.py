"""The peer agency desk's pages: ``/desk/<OrganId>`` on the exchange simulator's own Flask app.

A person plays the other agency of a liên thông step (the court answering the police, the
Sở answering the phường): reads its mailbox, downloads the files, sends status packages and
answers with a reply form. The actions live in :class:`~.peer_desk.PeerDesk`; this module
only translates HTTP. No login (a loopback simulator, like the axis's other agencies' systems
it stands in for), but built like a product page: Jinja2 autoescaping (subjects come from
other systems), a per-app CSRF token in every form, a CSP without any script (the frame
shared with the other simulators' pages: :mod:`integrations.operator_pages`).
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from flask import Blueprint, redirect, request, send_file, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from ..operator_pages import OperatorPages
from .model import PRIORITIES, STATUS_CODES, Signer
from .peer_desk import DEFAULT_NOTATION, DEFAULT_SIGNER, DeskError, DeskNotFound, ReceivedDocument
from .records import MailItem

if TYPE_CHECKING:
    from .simulator import ExchangeSimulator

__all__ = ["DESK", "PREFIX", "desk_blueprint"]

DESK = "desk"
PREFIX = "/desk"
#: Seconds between two reloads of a mailbox (new documents show up without a click).
REFRESH_SECONDS = 10
#: field -> (label, required, max length) of the reply form
REPLY_FIELDS: dict[str, tuple[str, bool, int]] = {
    "code_number": ("Số", True, 20),
    "code_notation": ("Ký hiệu", True, 50),
    "subject": ("Trích yếu", True, 1000),
    "content": ("Nội dung", False, 20000),
    "signer_name": ("Người ký", True, 100),
    "signer_position": ("Chức vụ người ký", False, 100),
}
STATE_LABELS = {
    "pending": "Chưa xử lý",
    "processing": "Đang xử lý",
    "done": "Đã xử lý xong",
    "fail": "Đã báo lỗi",
}


def desk_blueprint(simulator: ExchangeSimulator) -> Blueprint:
    """The desk's pages for ``simulator``, mounted at ``/desk``, with a CSRF token of their own."""
    pages = OperatorPages(
        DESK,
        __name__,
        url_prefix=PREFIX,
        folder="peer_desk",
        max_content_length=lambda: simulator.desk_max_upload_bytes + 256 * 1024,
    )
    bp, page, message = pages.blueprint, pages.page, pages.message

    @bp.errorhandler(DeskNotFound)
    @bp.errorhandler(NotFound)
    def not_found(error: Exception) -> tuple[str, int]:
        text = str(error) if isinstance(error, DeskNotFound) else "Không có trang này."
        return message("Không tìm thấy", text, 404)

    @bp.errorhandler(RequestEntityTooLarge)
    def too_large(_error: Exception) -> tuple[str, int]:
        limit = _size(simulator.desk_max_upload_bytes)
        return message("Tệp quá lớn", f"Tệp đính kèm không được lớn hơn {limit}.", 413)

    @bp.get("/")
    def agencies() -> Any:
        auto = simulator.auto_replies()
        rows = [
            {
                "id": code,
                "name": name,
                "waiting": sum(m.state in ("pending", "processing") for m in simulator.mailbox(code, messagetype="edoc")),
                "auto_reply": auto.get(code),
            }
            for code, name in sorted(simulator.agencies().items())
        ]  # fmt: skip
        return page("agencies.html", agencies=rows)

    @bp.get("/<organ_id>")
    def mailbox(organ_id: str) -> Any:
        documents = simulator.desk_documents(organ_id)
        return page(
            "mailbox.html",
            organ_id=organ_id,
            organ_name=simulator.agencies()[organ_id],
            documents=[_document_view(simulator, organ_id, d) for d in documents],
            statuses=[_status_view(s.item, s.message, s.problems) for s in simulator.desk_statuses(organ_id)],
            auto_reply=simulator.auto_replies().get(organ_id),
            refresh=REFRESH_SECONDS,
        )

    def document_page(
        organ_id: str, received: ReceivedDocument, status: int = 200, **context: Any
    ) -> tuple[str, int]:
        view = _document_view(simulator, organ_id, received)
        if "form" not in context and received.envelope is not None:
            env = received.envelope
            context["form"] = {
                "code_number": simulator.next_code_number(organ_id),
                "code_notation": DEFAULT_NOTATION,
                "subject": f"V/v trả lời Văn bản số {env.code} ngày {env.promulgation_date:%d/%m/%Y}",
                "content": "",
                "signer_name": DEFAULT_SIGNER.full_name,
                "signer_position": DEFAULT_SIGNER.position,
            }
        return page(
            "document.html",
            status,
            organ_id=organ_id,
            organ_name=simulator.agencies()[organ_id],
            doc=view,
            choices=simulator.status_choices(organ_id, received),
            sent=_sent_notice(request.args.get("sent", ""), view),
            max_upload=_size(simulator.desk_max_upload_bytes),
            errors=context.pop("errors", []),
            **context,
        )

    @bp.get("/<organ_id>/documents/<doc_id>")
    def document(organ_id: str, doc_id: str) -> Any:
        return document_page(organ_id, simulator.desk_document(organ_id, doc_id))

    @bp.get("/<organ_id>/documents/<doc_id>/attachments/<int:n>")
    def attachment(organ_id: str, doc_id: str, n: int) -> Any:
        received = simulator.desk_document(organ_id, doc_id)
        if not 1 <= n <= len(received.attachments):
            raise DeskNotFound(f"Văn bản không có tệp đính kèm thứ {n}")
        att = received.attachments[n - 1]
        # another system chose the content type: only PDF is shown as such, the rest is bytes
        mimetype = "application/pdf" if att.content_type == "application/pdf" else "application/octet-stream"
        return send_file(
            io.BytesIO(att.data), mimetype=mimetype, as_attachment=True, download_name=att.name or f"tep-{n}"
        )

    @bp.post("/<organ_id>/documents/<doc_id>/status")
    def status(organ_id: str, doc_id: str) -> Any:
        received = simulator.desk_document(organ_id, doc_id)
        code = request.form.get("status_code", "")
        try:
            simulator.send_status(organ_id, received.item.doc_id, code)
        except DeskNotFound:
            raise
        except DeskError as exc:
            return document_page(organ_id, received, 422, errors=[str(exc)])
        return redirect(url_for(".document", organ_id=organ_id, doc_id=doc_id, sent=code), 303)

    @bp.post("/<organ_id>/documents/<doc_id>/reply")
    def reply(organ_id: str, doc_id: str) -> Any:
        received = simulator.desk_document(organ_id, doc_id)
        form, errors = _read_form(request.form)
        attachments = []
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            data = upload.stream.read(simulator.desk_max_upload_bytes + 1)
            if len(data) > simulator.desk_max_upload_bytes:
                errors.append(f"Tệp đính kèm không được lớn hơn {_size(simulator.desk_max_upload_bytes)}.")
            elif not data.startswith(b"%PDF-"):
                errors.append("Tệp đính kèm phải là tệp PDF.")
            else:
                attachments.append((_pdf_name(upload.filename), "application/pdf", data))
        if not errors:
            signer = Signer(DEFAULT_SIGNER.competence, form["signer_position"], form["signer_name"])
            try:
                simulator.reply(
                    organ_id,
                    received.item.doc_id,
                    code_number=form["code_number"],
                    code_notation=form["code_notation"],
                    subject=form["subject"],
                    content=form["content"],
                    attachments=attachments,
                    signer=signer,
                )
            except DeskNotFound:
                raise
            except DeskError as exc:
                errors.append(str(exc))
            else:
                return redirect(url_for(".document", organ_id=organ_id, doc_id=doc_id, sent="reply"), 303)
        return document_page(organ_id, received, 422, form=form, errors=errors)

    return bp


def _read_form(raw: MultiDict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The reply form's values (stripped) and its problems, in Vietnamese."""
    form = {name: (raw.get(name) or "").strip() for name in REPLY_FIELDS}
    errors = []
    for name, (label, required, max_length) in REPLY_FIELDS.items():
        if required and not form[name]:
            errors.append(f"{label}: không được để trống.")
        elif len(form[name]) > max_length:
            errors.append(f"{label}: không quá {max_length} ký tự.")
    return form, errors


def _pdf_name(filename: str) -> str:
    """The uploaded file's own name (no folders), ending in .pdf."""
    name = PurePosixPath(filename.replace("\\", "/")).name.strip()[:150] or "tep-dinh-kem.pdf"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def _document_view(sim: ExchangeSimulator, organ_id: str, received: ReceivedDocument) -> dict[str, Any]:
    """What the pages show of a received document."""
    item, env = received.item, received.envelope
    view: dict[str, Any] = {
        "doc_id": item.doc_id,
        "from": item.sender,
        "received": f"{item.created_time:%H:%M:%S %d/%m/%Y}",
        "state": item.state,
        "state_label": STATE_LABELS.get(item.state, item.state),
        "envelope": env,
        "problems": received.problems,
        "attachments": [
            {"n": n, "name": a.name, "size": _size(len(a.data)), "content_type": a.content_type}
            for n, a in enumerate(received.attachments, 1)
        ],
        "replies": sim.replies_sent(organ_id, item.doc_id),
        "statuses": [],
    }
    if env is not None:
        view.update(
            sender=env.sender,
            code=env.code,
            date=f"{env.promulgation_date:%d/%m/%Y}",
            due=f"{env.due_date:%d/%m/%Y}" if env.due_date else "",
            priority=PRIORITIES.get(env.priority, str(env.priority)),
            statuses=[(c, STATUS_CODES.get(c, c)) for c in sim.statuses_sent(organ_id, env.document_id)],
        )
    return view


def _status_view(item: MailItem, message: Any, problems: list[str]) -> dict[str, Any]:
    view: dict[str, Any] = {"doc_id": item.doc_id, "from": item.sender, "message": message, "problems": problems,
                            "received": f"{item.created_time:%H:%M:%S %d/%m/%Y}"}  # fmt: skip
    if message is not None:
        view["label"] = STATUS_CODES.get(message.status_code, message.status_code)
    return view


def _sent_notice(sent: str, view: dict[str, Any]) -> str:
    """The confirmation shown after a redirect (only for values the desk itself puts there)."""
    sender = view.get("sender")
    to = f" tới {sender.name}" if sender is not None else ""
    if sent == "reply":
        return f"Đã gửi văn bản trả lời{to} qua trục liên thông."
    if sent in STATUS_CODES:
        return f"Đã gửi trạng thái “{STATUS_CODES[sent]}” ({sent}){to}."
    return ""


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} byte"
    return f"{n / 1024:.3g} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.3g} MB"
