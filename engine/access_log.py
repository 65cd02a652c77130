"""Who read a dossier's personal data: one row per look, written in the reading transaction.

Staff reads are logged (desk, specialists, leaders, admins, and anyone else who is not the
dossier's own applicant); an applicant reading their own dossier is not, since the data is theirs.
The row goes in with a single INSERT in the same transaction as the read, so a read that fails
leaves no row and a row never claims a read that did not happen. A document download is the one
exception: its file is read with no transaction open (a bucket is asked over the network), then the
row is written, so a failed read still leaves none (engine/services/dossiers.py, read_attachment).

A page often reads the same dossier through several services (the task, then the dossier with its
form, then its documents); inside `one_entry_per_dossier()` (the web opens it per request) the
first of them writes the row and the others add nothing: it was one look.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.models import AccessLog, Dossier
from engine.origin import current_origin

#: what was read (access_log.what)
DOSSIER_VIEW = "dossier_view"
TASK_VIEW = "task_view"
DOCUMENT_DOWNLOAD = "document_download"
EXPORT = "export"

_logged: ContextVar[set[int] | None] = ContextVar("motcua_access_logged", default=None)


@contextmanager
def one_entry_per_dossier() -> Iterator[None]:
    """Within this block, each dossier is logged at most once (the first read names what was read)."""
    token = _logged.set(set())
    try:
        yield
    finally:
        _logged.reset(token)


def will_log(actor: Any, dossier: Dossier) -> bool:
    """Whether `log_access` would write a row for this read now (a logged reader, not yet logged in
    this `one_entry_per_dossier` block)."""
    logged = _logged.get()
    return is_logged_reader(actor, dossier) and (logged is None or dossier.id not in logged)


def is_logged_reader(actor: Any, dossier: Dossier) -> bool:
    """Everyone but the dossier's own applicant."""
    if getattr(actor, "role", None) == "citizen":
        return False
    actor_id = getattr(actor, "id", None)
    return actor_id is None or actor_id != dossier.owner_id


def log_access(session: Session, actor: Any, dossier: Dossier, what: str) -> bool:
    """Log that `actor` read `dossier`'s personal data (`what`: DOSSIER_VIEW, TASK_VIEW, ...) in the
    caller's transaction; the caller commits. Returns whether a row was written."""
    if not is_logged_reader(actor, dossier):
        return False
    logged = _logged.get()
    if logged is not None:
        if dossier.id in logged:
            return False
        logged.add(dossier.id)
    session.execute(insert(AccessLog).values(
        at=datetime.now(UTC), actor_id=getattr(actor, "id", None), actor_name=getattr(actor, "full_name", None),
        actor_role=getattr(actor, "role", None), dossier_id=dossier.id, what=what, origin=current_origin()))
    return True
