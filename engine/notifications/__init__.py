"""Citizen notifications in Vietnamese (e-mail and SMS), decided by the engine when a dossier
changes status and delivered through the outbox: a failed notification is an outbox incident,
never a failed dossier step. Whether it reached the citizen is recorded by engine/services/notices.py.

Which statuses notify is per procedure (`procedure.json` → `notifications`, status → template);
procedures that notify from a BPMN service task simply leave that status out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engine.calendar import VN_TZ
from engine.models import Dossier, OutboxMessage

DEFAULT_NOTIFICATIONS = {"received": "tiep-nhan", "supplement_requested": "yeu-cau-bo-sung", "refused": "tu-choi"}
# auto_reload off: the templates ship with the code, so no stat() of the file on every message
_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=False,
                   undefined=StrictUndefined, keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
                   auto_reload=False)


def _vn(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y") if value else ""


def _vn_short(value: Any) -> str:
    """Unaccented date for SMS (brandname gateways often refuse or triple-bill accented text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if value else ""


_ENV.filters["vn"] = _vn
_ENV.filters["vn_short"] = _vn_short


def render(kind: str, channel: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of template `kind` for `channel` ("email" or "sms"; SMS has no subject)."""
    template = _ENV.get_template(f"{kind}.{channel}.txt")
    text = template.render(**context).strip()
    if channel == "email":
        subject, _, body = text.partition("\n")
        return subject.removeprefix("Subject:").strip(), body.strip()
    return "", " ".join(text.split())


def messages(dossier: Dossier, kind: str, context: dict[str, Any], available: set[str],
             now: datetime | None = None) -> list[OutboxMessage]:
    """Outbox rows for every channel the applicant can be reached on and the province has enabled."""
    now = now or datetime.now(UTC)
    context = {"dossier": dossier, **context}
    rows = []
    targets = {"email": dossier.applicant_email, "sms": dossier.applicant_phone}
    for channel, address in targets.items():
        if not address or channel not in available:
            continue
        subject, text = render(kind, channel, context)
        payload = {"to": address, "text": text} | ({"subject": subject} if channel == "email" else {})
        rows.append(OutboxMessage(
            dossier_id=dossier.id, task_id=None, connector=channel, operation="send", payload=payload,
            idempotency_key=f"{dossier.code}:notify:{kind}:{channel}:{dossier.event_seq}", waits=False,
            state="pending", attempts=0, next_attempt_at=now, created_at=now,
            # what the relay or gateway answers goes to the dossier's history (engine/services/notices.py)
            context={"on_done": "record_notice", "template": kind}))
    return rows
