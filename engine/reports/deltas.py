"""Incremental rollups: what a few changed dossiers add to each rollup row, before and after their
facts are re-derived; the difference is applied to the rows it touches. A refresh after a handful
of events then costs a handful of small queries, not the re-aggregation of whole days and months
(about a second at a million dossiers). Rows that fall to zero are removed, so the tables end
exactly as a full rebuild leaves them (tests/engine/reports/test_rollup.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from engine.reports import bulk, measures
from engine.reports.facts import within
from engine.reports.tables import ReportDaily, ReportDuration, ReportStepDaily

Rows = dict[tuple[Any, ...], dict[str, Any]]


@dataclass
class Contributions:
    daily: Rows
    steps: Rows
    durations: Rows


def capture(session: Session, ids: Sequence[int]) -> Contributions:
    """What the current facts of dossiers `ids` add to each rollup row."""
    F, T = measures.F, measures.T
    daily: Rows = {}
    for column, values in measures.MEASURES:
        for row in session.execute(measures.daily_query(column, values, within(F.dossier_id, ids))).mappings():
            key = tuple(row[name] for name in measures.DAILY_KEY)
            daily.setdefault(key, dict.fromkeys(measures.DAILY_COLUMNS, 0)).update(
                {name: int(row[name] or 0) for name in values})
    steps = {tuple(row[name] for name in measures.STEP_KEY): dict(row)
             for row in session.execute(measures.step_query(within(T.dossier_id, ids))).mappings()}
    dialect = session.get_bind().dialect.name
    durations = {tuple(row[name] for name in measures.DURATION_KEY): {"dossiers": int(row["dossiers"])}
                 for row in session.execute(measures.duration_query(dialect, within(F.dossier_id, ids))).mappings()}
    return Contributions(daily, steps, durations)


def apply(session: Session, before: Contributions, after: Contributions) -> int:
    """Add `after − before` to the rollups; returns how many rollup rows changed."""
    changed = _apply(session, ReportDaily, measures.DAILY_KEY, measures.DAILY_COLUMNS, before.daily, after.daily)
    changed += _apply(session, ReportStepDaily, measures.STEP_KEY, measures.STEP_COLUMNS, before.steps, after.steps,
                      labels=("title", "role"))
    changed += _apply(session, ReportDuration, measures.DURATION_KEY, ("dossiers",), before.durations,
                      after.durations)
    return changed


def _apply(session: Session, table: type, key_names: Sequence[str], columns: Sequence[str], before: Rows,
           after: Rows, labels: Sequence[str] = ()) -> int:
    deltas = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, {}), after.get(key, {})
        delta = {name: int(new.get(name) or 0) - int(old.get(name) or 0) for name in columns}
        if any(delta.values()):
            deltas[key] = (delta, new)
    if not deltas:
        return 0
    key_columns = [getattr(table, name) for name in key_names]
    existing = {tuple(getattr(row, name) for name in key_names): row for row in session.scalars(
        select(table).where(tuple_(*key_columns).in_(list(deltas))))}
    inserts, removals = [], []
    for key, (delta, new) in deltas.items():
        row = existing.get(key)
        values = {name: (getattr(row, name) if row is not None else 0) + delta[name] for name in columns}
        if not any(values.values()):
            if row is not None:
                removals.append(key)
        elif row is not None:
            for name, value in values.items():
                setattr(row, name, value)
            for label in labels:
                setattr(row, label, new.get(label) or getattr(row, label))
        else:
            inserts.append({**dict(zip(key_names, key, strict=True)), **values,
                            **{label: new.get(label) for label in labels}})
    session.flush()
    if removals:
        session.execute(delete(table).where(tuple_(*key_columns).in_(removals)))
    bulk.write(session, table, inserts)
    return len(deltas)
