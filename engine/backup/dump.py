"""`motcua backup`: one consistent snapshot of every table and the file store, in one archive.

The database is read in a single read-only transaction (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite: in WAL mode it sees one snapshot and blocks no writer), a batch of rows at a
time, each table to a temporary JSON-lines file. Files come after the rows: the store is
content-addressed and a file is written before the row naming it commits, and never deleted, so
every file the snapshot refers to is already there. The archive is written beside its destination
under a temporary name and renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.pool import NullPool

from engine.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupFailed,
    add_bytes,
    add_file,
    add_stored,
    table_member,
)
from engine.backup.tables import (
    FILE_REFERENCES,
    NOT_DATA,
    TableCodec,
    alembic_head,
    database_revision,
    sequence_column,
    table_codecs,
)
from engine.context import EngineContext
from engine.documents.store import Store
from engine.event_months import partitions


@dataclass
class BackupResult:
    path: Path
    rows: dict[str, int]
    files: int
    bytes: int
    seconds: float
    #: digests rows refer to that the store did not have at backup time (already lost before it)
    missing_files: list[str] = field(default_factory=list)

    @property
    def dossiers(self) -> int:
        return self.rows.get("dossier", 0)


@contextmanager
def snapshot(ctx: EngineContext) -> Iterator[Connection]:
    """A connection that sees one moment of the database for as long as it is open."""
    if ctx.db.dialect.name == "sqlite":
        # the engine's own connections BEGIN IMMEDIATE (the write lock); a reader needs no lock
        reader = create_engine(ctx.db.url, poolclass=NullPool)
        sa_event.listen(reader, "connect", _sqlite_manual_transactions)
        try:
            with reader.connect() as conn:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("ROLLBACK")
        finally:
            reader.dispose()
        return
    with ctx.db.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA busy_timeout=30000")


def backup(ctx: EngineContext, out: Path, *, batch: int = 1000,
           progress: Callable[[str, int], None] | None = None) -> BackupResult:
    """Write the database, the file store and a manifest to the archive `out` (replaced atomically)."""
    started = time.perf_counter()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".motcua-backup-") as work:
        with snapshot(ctx) as conn:
            revision = _check_schema(conn)
            tables, referenced = _dump_tables(conn, Path(work), batch, progress)
            sequences = _sequences(conn)
        store = ctx.files
        files = list(store.stored())
        present = {sha for sha, _size in files}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "alembic_revision": revision,
            "created_at": datetime.now(UTC).isoformat(), "database": ctx.db.dialect.name,
            "tables": tables, "sequences": sequences,
            "files": [{"sha256": sha, "size": size} for sha, size in files],
            "missing_files": sorted(referenced - present),
        }
        _write_archive(out, manifest, Path(work), store, files)
    return BackupResult(out, {t["name"]: t["rows"] for t in tables}, len(files), out.stat().st_size,
                        time.perf_counter() - started, manifest["missing_files"])


def _check_schema(conn: Connection) -> str:
    """The snapshot's revision; a database behind or ahead of this code is not backed up with its models."""
    revision, head = database_revision(conn), alembic_head()
    if revision != head:
        raise BackupFailed(f"database at revision {revision}, code at {head}",
                           message_vi=f"Cơ sở dữ liệu đang ở phiên bản cấu trúc {revision}, phần mềm cần {head}: "
                           "hãy chạy `motcua db upgrade` (hoặc dùng đúng phiên bản motcua) trước khi sao lưu.")
    known = {codec.name for codec in table_codecs()} | NOT_DATA
    unknown = sorted(set(inspect(conn).get_table_names()) - known - partitions(conn))
    if unknown:
        raise BackupFailed(f"tables unknown to the models: {unknown}",
                           message_vi=f"Cơ sở dữ liệu có bảng lạ không thuộc motcua: {', '.join(unknown)}.")
    return revision


def _dump_tables(conn: Connection, work: Path, batch: int,
                 progress: Callable[[str, int], None] | None) -> tuple[list[dict[str, Any]], set[str]]:
    (work / "db").mkdir()
    tables, referenced = [], set()
    for codec in table_codecs():
        path = work / table_member(codec.name)
        rows, digest, refs = _dump_table(conn, codec, path, batch)
        referenced |= refs
        tables.append({"name": codec.name, "columns": [c.name for c in codec.columns], "rows": rows,
                       "sha256": digest, "size": path.stat().st_size})
        if progress is not None:
            progress(codec.name, rows)
    return tables, referenced


def _dump_table(conn: Connection, codec: TableCodec, path: Path, batch: int) -> tuple[int, str, set[str]]:
    """One table to JSON lines, in primary-key order, `batch` rows in memory at a time."""
    digest, rows, refs = hashlib.sha256(), 0, set()
    ref_column = FILE_REFERENCES.get(codec.name)
    ref_index = [c.name for c in codec.columns].index(ref_column) if ref_column else None
    stmt = (select(*[c.read for c in codec.columns]).order_by(*codec.primary_key)
            .execution_options(yield_per=batch))
    with path.open("wb") as out:
        for row in conn.execute(stmt):
            line = codec.encode(row) + b"\n"
            digest.update(line)
            out.write(line)
            rows += 1
            if ref_index is not None and row[ref_index]:
                refs.add(row[ref_index].lower())
    return rows, digest.hexdigest(), refs


def _sequences(conn: Connection) -> dict[str, int]:
    """The highest id each table has handed out (deleted rows' ids included), so a restore never reuses one."""
    marks: dict[str, int] = {}
    if conn.dialect.name == "sqlite":
        if "sqlite_sequence" in inspect(conn).get_table_names():
            marks = {name: int(seq) for name, seq in conn.execute(text("SELECT name, seq FROM sqlite_sequence"))}
        return marks
    for codec in table_codecs():
        column = sequence_column(codec.table)
        if column is None:
            continue
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": conn.dialect.identifier_preparer.format_table(codec.table), "c": column.name})
        if sequence:
            last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
            marks[codec.name] = int(last) if called else int(last) - 1
    return marks


def _write_archive(out: Path, manifest: dict[str, Any], work: Path, store: Store, files: list[tuple[str, int]]) -> None:
    """Write to a temporary file beside `out`, make it durable, then rename it over `out`."""
    now = time.time()
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with tarfile.open(tmp_name, "w:gz", compresslevel=6) as tar:
            add_bytes(tar, MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2), now)
            for table in manifest["tables"]:
                name = table_member(table["name"])
                add_file(tar, name, work / name, table["sha256"], table["size"], now)
            for sha, size in files:
                add_stored(tar, store, sha, size, now)
        with open(tmp_name, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
