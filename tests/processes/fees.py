"""Fee schedules: the fee script of a procedure (script task `tinh_le_phi`) must charge what
procedure.json `fees` lists, at each edge of each schedule in Vietnam time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engine.scripting import RestrictedEvaluator
from tests.processes.diagram import BPMN

VN = timedelta(hours=7)


def fee_script(folder: Path, meta: dict[str, Any]) -> str:
    tasks = ElementTree.parse(folder / meta["bpmn"]).iter(f"{BPMN}scriptTask")
    return next(el.findtext(f"{BPMN}script") for el in tasks if el.get("id") == "tinh_le_phi")


def computed_fee(script: str, submitted_at: datetime) -> int:
    data = {"dossier": {"channel": "online", "submitted_at": submitted_at.isoformat()}}
    RestrictedEvaluator().execute(script, data)
    assert data["le_phi"] == data["le_phi_chi_tiet"]["tong"]
    return data["le_phi"]


def scheduled_fee(fees: list[dict[str, Any]], day: date) -> int:
    """The amount procedure.json says applies on `day` (0 when no schedule is in force)."""
    return next((fee["amount"] for fee in fees
                 if date.fromisoformat(fee["valid_from"]) <= day
                 and (fee["valid_to"] is None or day <= date.fromisoformat(fee["valid_to"]))), 0)


def vietnam_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - VN


def assert_script_follows_schedule(folder: Path, meta: dict[str, Any]) -> None:
    """At each edge of each schedule, in Vietnam time, the script charges what procedure.json lists."""
    script, fees = fee_script(folder, meta), meta["fees"]
    assert fees, "procedure.json lists no fee"
    minute = timedelta(minutes=1)
    for fee in fees:
        first = date.fromisoformat(fee["valid_from"])
        assert computed_fee(script, vietnam_midnight(first)) == fee["amount"]
        before = first - timedelta(days=1)
        assert computed_fee(script, vietnam_midnight(first) - minute) == scheduled_fee(fees, before)
        if fee["valid_to"]:
            last = date.fromisoformat(fee["valid_to"])
            after = last + timedelta(days=1)
            assert computed_fee(script, vietnam_midnight(after) - minute) == fee["amount"]
            assert computed_fee(script, vietnam_midnight(after)) == scheduled_fee(fees, after)
    today = (datetime.now(UTC) + VN).date()
    assert computed_fee(script, datetime.now(UTC)) == scheduled_fee(fees, today)


def fee_today(meta: dict[str, Any]) -> int:
    return scheduled_fee(meta["fees"], (datetime.now(UTC) + VN).date())


def skipping_the_platform(ctx, actors, platform, submit, desk: str = "tiepnhan") -> tuple[Any, list]:
    """A desk dossier and an online one from a province without the platform: neither asks the platform
    for a payment, both wait at reception. Returns the context with the platform and the two dossiers."""
    from engine.outbox import drain
    from engine.services import get_dossier
    from engine.services.payments import payment_of
    from tests.conftest import with_payment
    from tests.factories import open_task

    pay = with_payment(ctx, platform)
    dossiers = [submit(pay, actors[desk]), submit(ctx, actors["congdan"])]
    drain(pay)
    for dossier in dossiers:
        assert payment_of(pay, dossier.code) is None
        assert get_dossier(pay, actors[desk], dossier.code).status == "submitted"
        assert open_task(pay, actors[desk], dossier.code).bpmn_id == "tiep_nhan"
    assert platform.transactions == {}
    return pay, dossiers
