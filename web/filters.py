"""Template filters: Vietnamese dates and plain-language history lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from engine.calendar import VN_TZ
from engine.statuses import label

EVENT_TEXT = {
    "submitted": "Nộp hồ sơ",
    "task_opened": "Chuyển đến bước «{title}»",
    "task_claimed": "Nhận xử lý «{title}»",
    "task_unclaimed": "Trả lại công việc «{title}»",
    "task_completed": "Hoàn thành «{title}»",
    "connector_done": "Hệ thống hoàn tất «{operation}»",
    "incident": "Sự cố khi gọi «{operation}»",
    "incident_retried": "Quản trị viên cho chạy lại sự cố",
    "milestone": "{text}",
    "notice": "Gửi {channel_label} «{notice}» tới {to}: {label}",
    "notice_status": "Báo cáo phát {channel_label} «{notice}» tới {to}: {label}",
}


def vn_datetime(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return ""
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def event_text(event: dict[str, Any]) -> str:
    if event["kind"] == "status":
        return f"Trạng thái: {label(event['status'])}"
    template = EVENT_TEXT.get(event["kind"], event["kind"])
    try:
        return template.format(**{k: v for k, v in event.get("data", {}).items() if isinstance(v, str)})
    except KeyError:
        return template


def register(app: Flask) -> None:
    app.jinja_env.filters["vn_datetime"] = vn_datetime
    app.jinja_env.filters["event_text"] = event_text
