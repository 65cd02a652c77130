"""The fixed dataset of the indicator tests: eight household-business dossiers worked through the
service layer at chosen moments of February–March 2026 (Vietnam time), two agencies, two
procedures (the shipped one, whose clock restarts after a supplement, and a copy whose clock
pauses), one dossier across Tết Bính Ngọ (days off 16–20/2/2026).

Office hours 07:30–11:30 and 13:30–17:00 (450 working minutes a day). Legal deadline 3 working
days, counted in half-days that begin after reception (docs/clock.md). The expected figures are
worked out by hand in test_indicators.py from the timeline below.

  A  online, paid online  Fri 13/2 08:00 submitted, 08:30 paid, 14:00 received (due Wed 25/2 17:00)
                          Mon 23/2 10:00 reviewed, Tue 24/2 09:00 approved, 15:00 returned: early;
                          rated 5 at 16:00
  B  online, pause rule   Mon 2/3 08:00 submitted, 09:00 received (due Thu 5/3 11:30); Tue 3/3 10:00
                          supplement asked (clock paused), Thu 5/3 10:00 delivered (resumed: waited
                          1.5 days, due Fri 6/3 17:00); Fri 6/3 08:00 reviewed, 09:00 approved;
                          Mon 9/3 10:00 returned: late; rated 2 at 11:00
  C  desk, restart rule   Mon 9/3 08:00 submitted, 08:30 received (due Thu 12/3 11:30); Tue 10/3 09:00
                          supplement asked; Thu 12/3 14:00 delivered (clock restarts: due Tue 17/3
                          17:00); Fri 13/3 09:00 reviewed, 10:00 approved; Mon 16/3 09:00 returned:
                          early; rated 4 at 10:00 (with the tracking proof)
  D  online               Tue 10/3 08:00 submitted, 09:00 refused at reception
  E  desk, agency 22      Wed 11/3 08:00 submitted, 10:00 received (due Mon 16/3 11:30); Fri 13/3
                          14:00 reviewed; Mon 16/3 08:00 approved, 10:05 returned: on time; rated 5
  F  online               Thu 12/3 08:00 submitted, 09:00 received (due Tue 17/3 11:30); still in
                          review (its step due Fri 13/3 17:00): overdue on Wed 18/3
  G  online               Thu 12/3 08:15 submitted, 09:30 received (due Tue 17/3 11:30); Fri 13/3
                          09:00 supplement asked, still awaited (not overdue: the citizen is awaited)
  H  online               Mon 16/3 08:00 submitted, 09:00 supplement asked at reception, 10:00 withdrawn
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import load_catalogue
from engine.calendar import VN_TZ
from engine.config import PROJECT_ROOT
from engine.models import Procedure, User
from engine.outbox import drain
from engine.services import Actor, rate_dossier, submit_dossier
from engine.services.payments import confirm, payment_of
from tests.conftest import with_payment
from tests.engine.reports.clock import TestClock
from tests.factories import APPLICANT, HKD, household_form, work

PAUSED = "hkd-tam-dung-bao-cao"
AGENCY = "000.00.21.H99"
OTHER_AGENCY = "000.00.22.H99"
#: "now" for the live figures (overdue, waiting): Wednesday 18/3/2026 09:00
NOW = datetime(2026, 3, 18, 9, 0, tzinfo=VN_TZ)

ACCEPT = {"ket_qua_tiep_nhan": "tiep_nhan"}
REVIEWED = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}
ASK = {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu biên bản", "giay_to_thieu": ["Biên bản họp"]}
APPROVED = {"quyet_dinh": "dong_y"}
RETURNED = {"hinh_thuc_tra": "truc_tiep"}
DELIVERED = {"noi_dung_bo_sung": "Đã bổ sung biên bản"}


@dataclass(frozen=True)
class Dataset:
    codes: dict[str, str]
    procedure: int
    paused_procedure: int


def paused_copy(ctx, tmp: Path) -> None:
    """The household-business procedure with the pause rule (as tests/engine/services/test_clock_rules.py)."""
    folder = tmp / "processes" / PAUSED
    shutil.copytree(PROJECT_ROOT / "processes" / HKD, folder)
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    meta.update(code="0.test.bao-cao", name="Đăng ký hộ kinh doanh (tạm dừng thời hạn, báo cáo)",
                supplement_clock="pause")
    (folder / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    load_catalogue(ctx, folder.parent)


def build(ctx, tmp: Path, platform) -> Dataset:
    paused_copy(ctx, tmp)
    with ctx.sessions() as session:
        who = {u.username: Actor.of(u) for u in session.scalars(select(User))}
        ids = dict(session.execute(select(Procedure.slug, Procedure.id)).all())
    congdan, desk, specialist, leader = who["congdan"], who["tiepnhan"], who["chuyenvien"], who["lanhdao"]
    with pytest.MonkeyPatch.context() as patch:
        clock = TestClock(patch)
        at = clock.set
        codes = {}
        pay = with_payment(ctx, platform)

        at(2026, 2, 13, 8)                                       # A
        codes["A"] = submit_dossier(pay, congdan, HKD, dict(APPLICANT), household_form()).code
        drain(pay)
        at(2026, 2, 13, 8, 30)
        reference = payment_of(pay, codes["A"]).reference
        platform.pay(reference, "paid", deliver=False)
        confirm(pay, platform.confirm_for(reference))
        at(2026, 2, 13, 14)
        work(ctx, desk, codes["A"], ACCEPT)
        at(2026, 2, 23, 10)
        work(ctx, specialist, codes["A"], REVIEWED)
        at(2026, 2, 24, 9)
        work(ctx, leader, codes["A"], APPROVED)
        drain(ctx)
        at(2026, 2, 24, 15)
        work(ctx, desk, codes["A"], RETURNED)
        at(2026, 2, 24, 16)
        rate_dossier(ctx, congdan, codes["A"], 5)

        at(2026, 3, 2, 8)                                        # B
        codes["B"] = submit_dossier(ctx, congdan, PAUSED, dict(APPLICANT), household_form()).code
        at(2026, 3, 2, 9)
        work(ctx, desk, codes["B"], ACCEPT)
        at(2026, 3, 3, 10)
        work(ctx, specialist, codes["B"], ASK)
        at(2026, 3, 5, 10)
        work(ctx, congdan, codes["B"], DELIVERED)
        at(2026, 3, 6, 8)
        work(ctx, specialist, codes["B"], REVIEWED)
        at(2026, 3, 6, 9)
        work(ctx, leader, codes["B"], APPROVED)
        drain(ctx)
        at(2026, 3, 9, 10)
        work(ctx, desk, codes["B"], RETURNED)
        at(2026, 3, 9, 11)
        rate_dossier(ctx, congdan, codes["B"], 2)

        at(2026, 3, 9, 8)                                        # C (desk)
        codes["C"] = submit_dossier(ctx, desk, HKD, dict(APPLICANT), household_form()).code
        at(2026, 3, 9, 8, 30)
        work(ctx, desk, codes["C"], ACCEPT)
        at(2026, 3, 10, 9)
        work(ctx, specialist, codes["C"], ASK)
        at(2026, 3, 12, 14)
        work(ctx, desk, codes["C"], DELIVERED)  # a walk-in's supplement is handed in at the desk

        at(2026, 3, 10, 8)                                       # D
        codes["D"] = submit_dossier(ctx, congdan, HKD, dict(APPLICANT), household_form()).code
        at(2026, 3, 10, 9)
        work(ctx, desk, codes["D"], {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})

        at(2026, 3, 11, 8)                                       # E (agency 22)
        codes["E"] = submit_dossier(ctx, who["tiepnhan_ca"], HKD, dict(APPLICANT), household_form()).code
        at(2026, 3, 11, 10)
        work(ctx, who["tiepnhan_ca"], codes["E"], ACCEPT)

        at(2026, 3, 12, 8)                                       # F
        codes["F"] = submit_dossier(ctx, congdan, HKD, dict(APPLICANT), household_form()).code
        at(2026, 3, 12, 9)
        work(ctx, desk, codes["F"], ACCEPT)
        at(2026, 3, 12, 8, 15)                                   # G
        codes["G"] = submit_dossier(ctx, congdan, HKD, dict(APPLICANT), household_form()).code
        at(2026, 3, 12, 9, 30)
        work(ctx, desk, codes["G"], ACCEPT)

        at(2026, 3, 13, 9)
        work(ctx, specialist, codes["C"], REVIEWED)
        work(ctx, specialist, codes["G"], ASK)
        at(2026, 3, 13, 10)
        work(ctx, leader, codes["C"], APPROVED)
        drain(ctx)
        at(2026, 3, 13, 14)
        work(ctx, who["chuyenvien_ca"], codes["E"], REVIEWED)

        at(2026, 3, 16, 8)
        work(ctx, who["lanhdao_ca"], codes["E"], APPROVED)
        drain(ctx)
        codes["H"] = submit_dossier(ctx, congdan, HKD, dict(APPLICANT), household_form()).code   # H
        at(2026, 3, 16, 9)
        work(ctx, desk, codes["C"], RETURNED)
        work(ctx, desk, codes["H"], {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao CCCD"]})
        at(2026, 3, 16, 10)
        rate_dossier(ctx, None, codes["C"], 4, proof=APPLICANT["phone"])
        work(ctx, congdan, codes["H"], {"rut_ho_so": True})
        at(2026, 3, 16, 10, 5)
        work(ctx, who["tiepnhan_ca"], codes["E"], RETURNED)
        at(2026, 3, 16, 11)
        rate_dossier(ctx, None, codes["E"], 5, proof=APPLICANT["phone"])
    return Dataset(codes, ids[HKD], ids[PAUSED])
