"""Published versions are immutable, so each process keeps them (and their compiled forms) in memory.

The hot paths (inbox, task completion) never re-read or re-parse a version's package from the DB.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import forms
from engine.errors import ProcedureNotFound
from engine.models import ProcedureVersion


@dataclass(frozen=True)
class PublishedVersion:
    id: int
    procedure_id: int
    number: int
    content_hash: str
    package: dict[str, Any]
    _forms: dict[str, forms.Form] = field(default_factory=dict, compare=False, repr=False)

    @property
    def meta(self) -> dict[str, Any]:
        return self.package["procedure"]

    def form(self, name: str) -> forms.Form:
        """The compiled form `name` (validator built once per version)."""
        compiled = self._forms.get(name)
        if compiled is None:
            spec = self.package["forms"][name]
            compiled = self._forms[name] = forms.load_form(spec["schema"], spec.get("ui_schema"))
        return compiled


class VersionCache:
    def __init__(self) -> None:
        self._items: dict[int, PublishedVersion] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> PublishedVersion:
        version = self._items.get(version_id)
        if version is not None:
            return version
        row = session.get(ProcedureVersion, version_id)
        if row is None:
            raise ProcedureNotFound(f"procedure version {version_id} not found")
        version = PublishedVersion(row.id, row.procedure_id, row.number, row.content_hash, row.package)
        with self._lock:
            return self._items.setdefault(version_id, version)
