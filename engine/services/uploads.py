"""Files the applicant uploads: stored in the file store, linked to their dossier as Attachment rows.

Uploads are stored first (content-addressed, so storing twice is harmless and an abandoned draft
leaves only an unreferenced file) and linked in the transaction that creates the dossier, or that
completes the applicant's supplement task, so a dossier never points at a file that is not there and
never has the files of an answer it did not take.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Forbidden, InvalidInput
from engine.models import Attachment, Dossier, Draft, Task
from engine.services.accounts import Actor
from engine.services.dossiers import DossierView, submit_in
from engine.services.tasks import TaskView, complete_task

#: The attachment kind of a file the applicant uploaded (generated documents have their own kinds).
UPLOAD_KIND = "upload"
#: Files one submission may carry: a procedure lists a handful of documents.
MAX_FILES = 30


@dataclass(frozen=True)
class StoredFile:
    """A file already in the file store, with what the applicant called it."""

    sha256: str
    filename: str
    content_type: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "filename": self.filename, "content_type": self.content_type,
                "size": self.size}

    @classmethod
    def of(cls, raw: Any) -> StoredFile:
        """From the dict a draft kept (unchecked JSON): anything malformed is refused."""
        try:
            return cls(str(raw["sha256"]), str(raw["filename"])[:255], str(raw["content_type"])[:128],
                       int(raw["size"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput({"": ["Tệp đính kèm không hợp lệ; vui lòng tải lên lại."]}) from exc


def store_file(ctx: EngineContext, content: bytes, filename: str, content_type: str) -> StoredFile:
    """Put an already checked upload (forms.Upload: type sniffed, size limited) into the file store."""
    sha256, size = ctx.files.put(content)
    return StoredFile(sha256, filename[:255], content_type, size)


def _check_stored(ctx: EngineContext, files: list[StoredFile]) -> None:
    """Before the transaction (a bucket is asked over the network; no lock is held meanwhile): at most
    MAX_FILES, each one a file the store holds."""
    if len(files) > MAX_FILES:
        raise InvalidInput({"": [f"Tối đa {MAX_FILES} tệp cho một lần nộp."]})
    store = ctx.files
    for file in files:
        if not store.exists(file.sha256):  # a reference the store never issued: refuse, never link
            raise InvalidInput({"": ["Tệp đính kèm không còn trên hệ thống; vui lòng tải lên lại."]})


def _link(session: Any, dossier_id: int, actor: Actor, files: list[StoredFile], now: datetime) -> None:
    for file in files:
        session.add(Attachment(dossier_id=dossier_id, kind=UPLOAD_KIND, filename=file.filename,
                               content_type=file.content_type, sha256=file.sha256, size=file.size,
                               created_at=now, created_by_id=actor.id))


def submit_with_files(ctx: EngineContext, actor: Actor, procedure: str, applicant: dict[str, Any],
                      data: dict[str, Any], files: list[StoredFile], *, draft_id: int | None = None) -> DossierView:
    """Submit a dossier with its uploaded files in one transaction; the draft it came from (the
    actor's own) is deleted in the same one, so a draft is never submitted twice."""
    _check_stored(ctx, files)
    with transaction(ctx.sessions) as session:
        draft = None
        if draft_id is not None:
            draft = session.scalar(select(Draft).where(Draft.id == draft_id, Draft.owner_id == actor.id)
                                   .with_for_update())
            if draft is None:
                from engine.services.drafts import _not_found

                raise _not_found(draft_id)
        view, outbox = submit_in(ctx, session, actor, procedure, applicant, data)
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == view.code))
        _link(session, dossier_id, actor, files, datetime.now(UTC))
        if draft is not None:
            session.delete(draft)
    ctx.notify_outbox(outbox)
    return view


def complete_with_files(ctx: EngineContext, actor: Actor, task_id: str, data: dict[str, Any],
                        files: list[StoredFile]) -> TaskView:
    """The applicant answers their step (a supplement request) with the files it asked for: the task
    is completed and the files are linked to the dossier in one transaction, so a refused file
    leaves the step open and a refused answer links no file."""

    def link(session: Any, task: Task) -> None:
        if task.role != "applicant":  # an official's file would be shown to the citizen as theirs
            raise Forbidden("only the applicant's steps take uploaded files",
                            message_vi="Chỉ bước của người nộp hồ sơ mới kèm tệp tải lên.")
        _link(session, task.dossier_id, actor, files, datetime.now(UTC))

    _check_stored(ctx, files)
    return complete_task(ctx, actor, task_id, data, also=link)


__all__ = ["MAX_FILES", "UPLOAD_KIND", "StoredFile", "complete_with_files", "store_file", "submit_with_files"]
