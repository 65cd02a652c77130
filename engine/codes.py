"""Dossier codes per DOMAIN.md: `{agency}-{yymmdd}-{NNNN}`, unique, gap-free under concurrency.

The counter row of (agency, day) is incremented with UPDATE … RETURNING inside the submitting
transaction: concurrent submissions queue on its row lock, and a rolled-back submission rolls
its number back too, so numbers are never skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ
from engine.models import CodeCounter


def next_dossier_code(session: Session, agency_code: str, moment: datetime) -> str:
    day = moment.astimezone(VN_TZ).strftime("%y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CodeCounter).values(agency_code=agency_code, day=day, last=0).on_conflict_do_nothing()
    )
    number = session.execute(
        update(CodeCounter)
        .where(CodeCounter.agency_code == agency_code, CodeCounter.day == day)
        .values(last=CodeCounter.last + 1)
        .returning(CodeCounter.last)
    ).scalar_one()
    return f"{agency_code}-{day}-{number:04d}"
