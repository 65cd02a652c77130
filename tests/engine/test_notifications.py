"""Citizen notices: every template renders in Vietnamese for e-mail and plain text for SMS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.models import Dossier
from engine.notifications import messages, render

KINDS = ["tiep-nhan", "yeu-cau-bo-sung", "tu-choi", "co-ket-qua", "xin-loi"]


def dossier() -> Dossier:
    return Dossier(id=1, code="000.00.21.H99-261130-0007", applicant_name="Phạm Thị Công Dân",
                   applicant_email="congdan@example.vn", applicant_phone="0912345678", event_seq=3,
                   due_at=datetime(2026, 12, 3, 10, tzinfo=UTC), new_appointment_at=datetime(2026, 12, 7, 10, tzinfo=UTC))


CONTEXT = {"procedure_name": "Đăng ký thành lập hộ kinh doanh", "items": ["Biên bản họp thành viên"],
           "tracking_url": "http://127.0.0.1:5000/tra-cuu?code=X", "reason": "Cần xác minh thêm"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_notice_renders_for_email_and_sms(kind):
    subject, text = render(kind, "email", {"dossier": dossier(), **CONTEXT})
    assert "000.00.21.H99-261130-0007" in subject and "Phạm Thị Công Dân" in text
    _none, sms = render(kind, "sms", {"dossier": dossier(), **CONTEXT})
    assert "000.00.21.H99-261130-0007" in sms and len(sms) <= 3 * 153 and sms.isascii()


def test_a_notice_goes_to_each_enabled_channel_the_applicant_gave():
    rows = messages(dossier(), "tiep-nhan", CONTEXT, {"email", "sms"})
    assert sorted(r.connector for r in rows) == ["email", "sms"]
    assert messages(dossier(), "tiep-nhan", CONTEXT, {"email"})[0].payload["to"] == "congdan@example.vn"
    assert messages(dossier(), "tiep-nhan", CONTEXT, set()) == []
    assert "10:00" not in messages(dossier(), "xin-loi", CONTEXT, {"email"})[0].payload["text"]  # Vietnam time: 17:00
