"""Dossier codes per DOMAIN.md: `{agency}-{yymmdd}-{NNNN}`, unique, gap-free under concurrency.

The counter row of (agency, day) is created or incremented by one upsert (`INSERT … ON CONFLICT DO
UPDATE … RETURNING`) inside the submitting transaction: concurrent submissions queue on its row lock,
and a rolled-back submission rolls its number back too, so numbers are never skipped.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ
from engine.models import CodeCounter


def next_dossier_code(session: Session, agency_code: str, moment: datetime) -> str:
    day = moment.astimezone(VN_TZ).strftime("%y%m%d")
    number = session.execute(_next_number(session.get_bind().dialect.name),
                             {"agency_code": agency_code, "day": day}).scalar_one()
    return f"{agency_code}-{day}-{number:04d}"


@lru_cache(maxsize=2)
def _next_number(dialect: str):
    """The day's first number (1) or the next one, in one statement built once per dialect: one round
    trip in the submission's pipeline where an INSERT … DO NOTHING and an UPDATE took two."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CodeCounter).values(agency_code=bindparam("agency_code"), day=bindparam("day"), last=1)
    return (statement.on_conflict_do_update(index_elements=[CodeCounter.agency_code, CodeCounter.day],
                                            set_={"last": CodeCounter.last + 1})
            .returning(CodeCounter.last))
