"""Template filters: Vietnamese dates and plain-language history lines (in the page's language)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext, pgettext

from engine.calendar import VN_TZ
from engine.privacy import mask_email, mask_id_number, mask_phone
from engine.statuses import label


def event_templates() -> dict[str, str]:
    """The history line of each event kind in the page's language (built per call: translating needs
    the request's locale). "Nộp hồ sơ" has a context: in English the event is not the button's verb."""
    return {
        "submitted": pgettext("history", "Nộp hồ sơ"),
        "task_opened": gettext("Chuyển đến bước «{title}»"),
        "task_claimed": gettext("Nhận xử lý «{title}»"),
        "task_unclaimed": gettext("Trả lại công việc «{title}»"),
        "task_completed": gettext("Hoàn thành «{title}»"),
        "connector_done": gettext("Hệ thống hoàn tất «{operation}»"),
        "incident": gettext("Sự cố khi gọi «{operation}»"),
        "incident_script": gettext("Sự cố khi chạy bước «{operation}»"),
        "incident_retried": gettext("Quản trị viên cho chạy lại sự cố"),
        "incident_skipped": gettext("Quản trị viên bỏ qua sự cố: {reason}"),
        "suspended": gettext("Quản trị viên tạm dừng hồ sơ: {reason}"),
        "resumed": gettext("Quản trị viên cho hồ sơ chạy tiếp"),
        "milestone": "{text}",
        "notice": gettext("Gửi {channel_label} «{notice}» tới {to}: {label}"),
        "notice_status": gettext("Báo cáo phát {channel_label} «{notice}» tới {to}: {label}"),
        "apology": gettext("Lập Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
        "clock": gettext("Cập nhật thời hạn giải quyết"),
        "document": gettext("Lập văn bản ({kind})"),
        "signed": gettext("Ký số văn bản"),
        "payment": gettext("Nhận kết quả thanh toán trực tuyến (mã {reference})"),
        "payment_retry": gettext("Thanh toán lại: tạo giao dịch mới thay giao dịch mã {replaces}"),
        "exchange_received": gettext("Nhận văn bản liên thông từ {from}: «{subject}»"),
        "exchange_status": gettext("Cơ quan {from} báo trạng thái văn bản liên thông: {label}"),
        "exchange_attachment_refused": gettext("Không nhận tệp đính kèm văn bản liên thông từ {from}: {reason}"),
        "migrated": gettext("Chuyển hồ sơ sang phiên bản quy trình mới"),
        "rated": gettext("Người nộp hồ sơ đánh giá mức độ hài lòng"),
        "task_overdue": gettext("Bước «{title}» quá hạn xử lý"),
        "task_reassigned": gettext("Giao lại «{title}»"),
        "personal_data_erased": gettext("Xoá dữ liệu cá nhân của hồ sơ khi hết thời hạn lưu trữ"),
    }


def status_names() -> dict[str, str]:
    """Each dossier status (engine/statuses.py) by its name in the page's language: the Vietnamese
    names are the legal ones (Cổng DVCQG TrangThaiHoSo), repeated here so the catalog carries them."""
    return {
        "submitted": gettext("Mới đăng ký"),
        "received": gettext("Được tiếp nhận"),
        "refused": gettext("Không được tiếp nhận"),
        "processing": gettext("Đang xử lý"),
        "supplement_requested": gettext("Yêu cầu bổ sung giấy tờ"),
        "payment_requested": gettext("Yêu cầu thực hiện nghĩa vụ tài chính"),
        "withdrawn": gettext("Công dân yêu cầu rút hồ sơ"),
        "stopped": gettext("Dừng xử lý"),
        "result_ready": gettext("Đã xử lý xong"),
        "returned": gettext("Đã trả kết quả"),
    }


def status_name(key: str | None) -> str:
    return status_names().get(key or "", label(key or ""))


def vn_datetime(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return ""
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def event_text(event: dict[str, Any]) -> str:
    if event["kind"] == "status":
        return gettext("Trạng thái: %(label)s", label=status_name(event["status"]))
    kind = event["kind"]
    if kind == "incident" and (event.get("data") or {}).get("kind") == "script":
        kind = "incident_script"
    template = event_templates().get(kind, kind)
    try:
        return template.format(**{k: v for k, v in event.get("data", {}).items() if isinstance(v, str)})
    except KeyError:
        return template


def register(app: Flask) -> None:
    app.jinja_env.filters["vn_datetime"] = vn_datetime
    app.jinja_env.filters["event_text"] = event_text
    app.jinja_env.filters["status_name"] = status_name
    # personal data in lists: masked (engine/privacy.py); full values only on a dossier's own page
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_email"] = mask_email
