"""An admin's view of one dossier's audit trail: the hash-chained history with where each action
came from, whether the chain holds, and who read the dossier's personal data."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from engine.services.audit_trail import dossier_audit
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp


def _page_number(name: str) -> int:
    """A page number from the query string; anything that is not one is the first page."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def reader_roles() -> dict[str, str]:
    return {"desk": _("Cán bộ một cửa"), "specialist": _("Chuyên viên"), "leader": _("Lãnh đạo"),
            "admin": _("Quản trị"), "analyst": _("Cán bộ nghiệp vụ"), "citizen": _("Công dân")}


def access_kinds() -> dict[str, str]:
    return {"dossier_view": _("Xem hồ sơ"), "task_view": _("Mở công việc của hồ sơ"),
            "document_download": _("Xem hoặc tải giấy tờ"), "export": _("Xuất dữ liệu")}


def broken_reasons() -> dict[str, str]:
    return {"hash": _("nội dung bị sửa"), "link": _("mắt xích bị cắt hoặc xóa"), "head": _("mất các sự kiện cuối")}


@bp.get("/quan-tri/ho-so/<code>/nhat-ky", endpoint="operations_audit")
@login_required
def audit(code: str):
    trail = dossier_audit(engine_ctx(), page_actor(), code, event_page=_page_number("su_kien"),
                          access_page=_page_number("truy_cap"))
    return render_template("operations/audit.html", trail=trail, roles=reader_roles(), kinds=access_kinds(),
                           reasons=broken_reasons())
