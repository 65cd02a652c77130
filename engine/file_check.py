"""`motcua files check`: every file the records point at is in the file store, and with --full each one
is read and hashed against its name. After a store moved (a folder copied into a bucket) or as a
periodic audit, beside `motcua audit verify` for the history's hash chain.

Pointed at: attachments that keep their data, raw exchange packages kept with their message, and the
files refused from a received package (kept for an administrator). Files in the store that nothing
kept points at (a draft's uploads, an unfinished submission's) are counted, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Text, cast, select

from engine.context import EngineContext
from engine.documents.store import stored_sha256
from engine.erasure import refused_files
from engine.models import ExchangeMessage
from engine.retention import kept_attachment_files, kept_exchange_files
from engine.services.exchange import HELD


@dataclass
class FileCheckResult:
    store: str
    referenced: int = 0
    stored: int = 0
    #: pointed at, not in the store
    missing: list[str] = field(default_factory=list)
    #: read with `full`: the bytes are not the ones their name promises (or vanished while being read)
    corrupt: list[str] = field(default_factory=list)
    #: in the store, pointed at by nothing kept
    unreferenced: int = 0
    #: files read and hashed (`full`)
    read: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


def referenced_files(ctx: EngineContext) -> set[str]:
    with ctx.sessions() as session:
        digests = {d.lower() for d in session.scalars(kept_attachment_files().union(kept_exchange_files()))}
        refusing = select(ExchangeMessage.detail).where(
            ExchangeMessage.direction == "in", ExchangeMessage.state != HELD,
            cast(ExchangeMessage.detail, Text).contains('"refused"'))
        for detail in session.scalars(refusing):
            digests |= refused_files(detail)
    return digests


def check_files(ctx: EngineContext, *, full: bool = False) -> FileCheckResult:
    store = ctx.files
    referenced = referenced_files(ctx)
    stored = dict(store.stored())
    result = FileCheckResult(store.describe(), referenced=len(referenced), stored=len(stored),
                             missing=sorted(referenced - stored.keys()), unreferenced=len(stored.keys() - referenced))
    if full:
        for digest in sorted(referenced & stored.keys()):
            if stored_sha256(store, digest) != digest:
                result.corrupt.append(digest)
            result.read += 1
    return result
