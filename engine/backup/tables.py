"""Which tables a backup holds, in which order, and how one row becomes one JSON line and back.

The models' metadata (engine/models.py, engine/reports/tables.py) is the schema at the Alembic head,
so the same codec reads a PostgreSQL database and writes a SQLite one, or the other way round.
A row is a JSON array in the column order the manifest lists. Values JSON cannot hold as they
are: datetimes and dates as ISO 8601 text (microseconds kept: the audit hash covers them), binary
as base64, and a JSON column wrapped in a one-element array, so that SQL NULL (`null`) and a stored
JSON null (`[null]`) stay different things after a restore.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Table, Text, cast, null
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

import engine.reports.tables  # noqa: F401 - registers the report tables on Base.metadata
from engine.models import Base

#: Alembic's own bookkeeping: the revision is in the manifest, the restore target has its own row.
NOT_DATA = frozenset({"alembic_version"})


@dataclass(frozen=True)
class ColumnCodec:
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    #: the SELECT expression (JSON columns are read as their stored text, see module docstring)
    read: ColumnElement[Any]


def _same(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _encode_json(raw: str | None) -> Any:
    return None if raw is None else [orjson.loads(raw)]


def _decode_json(wrapped: Any) -> Any:
    if wrapped is None:
        return null()  # SQL NULL; a bare None would be stored as the JSON text 'null'
    [value] = wrapped
    return JSON.NULL if value is None else value


def _python_type(column: Column[Any]) -> type | None:
    kind = column.type
    if isinstance(kind, TypeDecorator):  # its python_type is `object` unless it says otherwise
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def column_codec(column: Column[Any]) -> ColumnCodec:
    """How one column is read, written to a JSON line and read back into the database."""
    if isinstance(column.type, JSON):
        return ColumnCodec(str(column.name), _encode_json, _decode_json, cast(column, Text).label(column.name))
    kind = _python_type(column)
    if kind is datetime:
        return ColumnCodec(str(column.name), _optional(datetime.isoformat), _optional(datetime.fromisoformat), column)
    if kind is date:
        return ColumnCodec(str(column.name), _optional(date.isoformat), _optional(date.fromisoformat), column)
    if kind is bytes:
        return ColumnCodec(str(column.name), _optional(lambda b: base64.b64encode(b).decode("ascii")),
                           _optional(base64.b64decode), column)
    return ColumnCodec(str(column.name), _same, _same, column)


@dataclass(frozen=True)
class TableCodec:
    table: Table
    columns: tuple[ColumnCodec, ...]
    #: columns of a foreign key declared `use_alter` (the two tables point at each other): written
    #: as NULL with the rows, then set once the table they point at is filled
    deferred: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.table.name)  # not SQLAlchemy's quoted_name: orjson takes only plain str keys

    def encode(self, row: Any) -> bytes:
        return orjson.dumps([codec.encode(value) for codec, value in zip(self.columns, row, strict=True)])

    def decode(self, line: bytes) -> dict[str, Any]:
        values = orjson.loads(line)
        return {codec.name: codec.decode(value) for codec, value in zip(self.columns, values, strict=True)}

    @property
    def primary_key(self) -> list[Column[Any]]:
        return list(self.table.primary_key.columns)


def table_codecs() -> list[TableCodec]:
    """Every data table, parents before children (the order rows are inserted in)."""
    codecs = []
    for table in Base.metadata.sorted_tables:
        deferred = tuple(fk.parent.name for fk in table.foreign_keys if fk.use_alter or fk.constraint.use_alter)
        codecs.append(TableCodec(table, tuple(column_codec(c) for c in table.columns), deferred))
    return codecs


def sequence_column(table: Table) -> Column[Any] | None:
    """The integer primary key a database numbers by itself (a PostgreSQL sequence, SQLite rowid)."""
    columns = list(table.primary_key.columns)
    if len(columns) == 1 and _python_type(columns[0]) is int and columns[0].autoincrement in (True, "auto"):
        return columns[0]
    return None


#: columns holding the digest of a file in the store: a backup without that file could not serve it
FILE_REFERENCES = {"attachment": "sha256", "exchange_message": "raw_sha256"}


def alembic_head() -> str:
    """The schema revision this code expects (engine/migrations)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from engine.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def database_revision(connection: Any) -> str | None:
    """The revision the database was migrated to (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
