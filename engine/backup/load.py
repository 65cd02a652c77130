"""`motcua restore`: put an archive back, all of it or nothing, then prove the audit trail intact.

Order of work: read and check the manifest (format, schema revision) and the target (migrated,
no dossiers unless forced); extract every member into a staging folder inside the data dir,
checking each against the manifest's sha256; move the files into the store; load every table in
one transaction that also re-checks the target, wipes it, restores the primary keys and moves the
id sequences past them, and compares row counts before it commits. The store is content-addressed
and its files immutable, so files moved in before a failed load are unreferenced, never wrong.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from engine.audit import AuditResult, verify_all
from engine.backup.archive import (
    DIGEST,
    check_member_name,
    copy_checked,
    file_member,
    read_manifest,
    refused,
    table_member,
)
from engine.backup.tables import (
    TableCodec,
    alembic_head,
    database_revision,
    sequence_column,
    table_codecs,
)
from engine.context import EngineContext
from engine.db import upgrade
from engine.documents.store import FileStore
from engine.event_months import ensure_months_of


@dataclass
class RestoreResult:
    rows: dict[str, int]
    files: int
    seconds: float
    audit: AuditResult
    created_at: str
    #: files the archive's rows refer to but did not hold (lost before the backup was taken)
    missing_files: list[str] = field(default_factory=list)

    @property
    def dossiers(self) -> int:
        return self.rows.get("dossier", 0)


def restore(ctx: EngineContext, archive: Path, *, force: bool = False, batch: int = 1000) -> RestoreResult:
    """Restore `archive` into ctx's database and data dir. Refuses (RestoreRefused) a target that
    holds dossiers unless `force`, an archive of another schema revision, and any member that is
    not exactly what the manifest lists."""
    started = time.perf_counter()
    codecs = table_codecs()
    try:
        with tarfile.open(archive, "r|gz") as tar:
            manifest = read_manifest(tar)
            _check_manifest(manifest, codecs)
            _prepare_target(ctx, force)
            rows = _restore_staged(ctx, tar, codecs, manifest, force=force, batch=batch)
    except (tarfile.TarError, EOFError) as exc:
        raise refused(f"unreadable archive: {exc}",
                      f"Không đọc được bản sao lưu ({exc}): tệp bị hỏng, bị cắt cụt hoặc không phải .tar.gz. "
                      "Dữ liệu hiện có không bị thay đổi.") from None
    audit = verify_all(ctx)
    return RestoreResult(rows, len(manifest["files"]), time.perf_counter() - started, audit,
                         manifest.get("created_at", ""), list(manifest.get("missing_files", [])))


def _restore_staged(ctx: EngineContext, tar: tarfile.TarFile, codecs: list[TableCodec], manifest: dict[str, Any],
                    *, force: bool, batch: int) -> dict[str, int]:
    """Extract into a staging folder inside the data dir (so the files move into a folder store by rename,
    or are uploaded to a bucket from there), load, clean up."""
    data_dir = Path(ctx.settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".motcua-restore-"))
    try:
        _extract(tar, manifest, staging)
        staged = FileStore(staging / "files")
        ctx.files.install((item["sha256"], staged.path(item["sha256"])) for item in manifest["files"])
        return _load_database(ctx, codecs, manifest, staging / "db", force=force, batch=batch)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_manifest(manifest: dict[str, Any], codecs: list[TableCodec]) -> None:
    head = alembic_head()
    if manifest.get("alembic_revision") != head:
        raise refused(f"archive at revision {manifest.get('alembic_revision')!r}, code at {head}",
                      f"Bản sao lưu có cấu trúc dữ liệu phiên bản {manifest.get('alembic_revision')!r}, "
                      f"phần mềm này cần phiên bản {head}. Hãy phục hồi bằng đúng phiên bản motcua đã tạo "
                      "bản sao lưu, rồi nâng cấp.")
    tables, files = manifest.get("tables"), manifest.get("files")
    if not isinstance(tables, list) or not isinstance(files, list) or not all(
            _entry_ok(t, "name", "columns", "rows") for t in tables) or not all(_entry_ok(f) for f in files):
        raise refused("malformed manifest", "manifest.json trong bản sao lưu không đúng định dạng.")
    expected = {codec.name: [c.name for c in codec.columns] for codec in codecs}
    if {t["name"]: t["columns"] for t in tables} != expected or len(tables) != len(expected):
        raise refused("the manifest's tables do not match the schema",
                      "Danh sách bảng trong bản sao lưu không khớp cấu trúc dữ liệu hiện tại.")


def _entry_ok(entry: Any, *keys: str) -> bool:
    """A manifest entry has a sha256, a size and the keys named (the archive is not trusted)."""
    return (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and DIGEST.fullmatch(entry["sha256"])
            is not None and isinstance(entry.get("size"), int) and entry["size"] >= 0 and all(k in entry for k in keys)
            and isinstance(entry.get("rows", 0), int))


def _prepare_target(ctx: EngineContext, force: bool) -> None:
    """Migrate a never-migrated database; refuse one at another revision or holding dossiers."""
    head = alembic_head()
    with ctx.db.connect() as conn:
        revision = database_revision(conn)
    if revision is None:
        upgrade(ctx.db)
    elif revision != head:
        raise refused(f"target database at revision {revision}, code at {head}",
                      f"Cơ sở dữ liệu đích đang ở phiên bản cấu trúc {revision}, phần mềm cần {head}: "
                      "hãy chạy `motcua db upgrade` trước khi phục hồi.")
    if not force:
        with ctx.db.connect() as conn:
            _refuse_dossiers(conn)


def _refuse_dossiers(conn: Connection) -> None:
    from engine.models import Dossier

    count = conn.scalar(select(func.count()).select_from(Dossier.__table__)) or 0
    if count:
        raise refused(f"target holds {count} dossiers",
                      f"Cơ sở dữ liệu đích đã có {count:,} hồ sơ. Chỉ phục hồi vào cơ sở dữ liệu trống; "
                      "dùng --force để XÓA toàn bộ dữ liệu hiện có rồi phục hồi.")


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path) -> None:
    """Every remaining member, checked, to a path built here; anything unexpected stops the restore."""
    expected: dict[str, tuple[Path, str, int]] = {}
    for table in manifest["tables"]:
        expected[table_member(table["name"])] = (staging / "db" / f"{table['name']}.jsonl", table["sha256"],
                                                 table["size"])
    files = FileStore(staging / "files")
    for item in manifest["files"]:
        expected[file_member(item["sha256"])] = (files.path(item["sha256"]), item["sha256"], item["size"])
    seen: set[str] = set()
    while (member := tar.next()) is not None:  # iterating `tar` would yield the manifest again
        check_member_name(member)
        if member.name not in expected or member.name in seen:
            raise refused(f"unexpected member {member.name!r}",
                          f"Bản sao lưu có tệp không có trong manifest: {member.name!r}. Đã từ chối phục hồi.")
        seen.add(member.name)
        target, sha256, size = expected[member.name]
        source = tar.extractfile(member)
        assert source is not None
        copy_checked(source, target, sha256, size, member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise refused(f"members missing: {missing[:5]}",
                      f"Bản sao lưu thiếu {len(missing):,} tệp so với manifest (ví dụ {missing[0]}): "
                      "bản sao lưu không đầy đủ.")


def _load_database(ctx: EngineContext, codecs: list[TableCodec], manifest: dict[str, Any], staged: Path, *,
                   force: bool, batch: int) -> dict[str, int]:
    """One transaction: (re-)check, wipe, insert every table, fix references and sequences, count."""
    expected = {t["name"]: t["rows"] for t in manifest["tables"]}
    with ctx.db.begin() as conn:
        if conn.dialect.name == "postgresql":
            # the audit tables' append-only triggers (migration 0008) refuse the wipe otherwise
            conn.execute(text("SET LOCAL motcua.purge = 'on'"))
        if not force:
            _refuse_dossiers(conn)
        _wipe(conn, codecs)
        deferred: dict[str, list[dict[str, Any]]] = {}
        for codec in codecs:
            deferred[codec.name] = _insert_table(conn, codec, staged / f"{codec.name}.jsonl", batch)
        for codec in codecs:
            _apply_deferred(conn, codec, deferred[codec.name])
        _reset_sequences(conn, codecs, manifest.get("sequences", {}))
        counts = {codec.name: int(conn.scalar(select(func.count()).select_from(codec.table)) or 0)
                  for codec in codecs}
        if counts != expected:
            differ = sorted(name for name in counts if counts[name] != expected.get(name))
            raise refused(f"row counts differ after loading: {differ}",
                          f"Số dòng sau khi nạp không khớp manifest ở các bảng: {', '.join(differ)}. "
                          "Đã hủy phục hồi, cơ sở dữ liệu không đổi.")
    return counts


def _wipe(conn: Connection, codecs: list[TableCodec]) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.format_table(c.table) for c in codecs)
        conn.execute(text(f"TRUNCATE {names}"))
        return
    for codec in codecs:  # the tables pointing at each other: cut the link first
        if codec.deferred:
            conn.execute(codec.table.update().values(dict.fromkeys(codec.deferred)))
    for codec in reversed(codecs):
        conn.execute(codec.table.delete())


def _insert_table(conn: Connection, codec: TableCodec, path: Path, batch: int) -> list[dict[str, Any]]:
    """Insert the table's rows `batch` at a time; return the deferred references to set afterwards.
    (A plain executemany: psycopg pipelines it; multi-row VALUES measured two to seven times slower.)"""
    later: list[dict[str, Any]] = []
    keys = [c.name for c in codec.primary_key]
    rows: list[dict[str, Any]] = []
    months: set[Any] = set()  # the history's months with a partition by now (PostgreSQL, migration 0013)

    def insert() -> None:
        if codec.name == "event":
            ensure_months_of(conn, (row["at"] for row in rows), months)
        conn.execute(codec.table.insert(), rows)

    for row in _lines(path):
        values = codec.decode(row)
        if codec.deferred:
            later.append({**{f"_{k}": values[k] for k in keys}, **{c: values[c] for c in codec.deferred}})
            values.update(dict.fromkeys(codec.deferred))
        rows.append(values)
        if len(rows) >= batch:
            insert()
            rows = []
    if rows:
        insert()
    return later


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        for line in source:
            if line.strip():
                yield line


def _apply_deferred(conn: Connection, codec: TableCodec, later: list[dict[str, Any]]) -> None:
    if not later:
        return
    table = codec.table
    where = [c == bindparam(f"_{c.name}") for c in codec.primary_key]
    conn.execute(table.update().where(*where).values({c: bindparam(c) for c in codec.deferred}), later)


def _reset_sequences(conn: Connection, codecs: list[TableCodec], marks: dict[str, int]) -> None:
    """Move each id sequence past the restored ids (and past ids the source had already handed out)."""
    for codec in codecs:
        column = sequence_column(codec.table)
        if column is None:
            continue
        highest = max(int(conn.scalar(select(func.max(column))) or 0), int(marks.get(codec.name, 0)))
        if conn.dialect.name == "postgresql":
            sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": conn.dialect.identifier_preparer.format_table(codec.table),
                                    "c": column.name})
            if sequence:
                conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                             {"s": sequence, "v": max(highest, 1), "called": highest > 0})
        elif codec.table.dialect_options["sqlite"].get("autoincrement") and highest:
            updated = conn.execute(text("UPDATE sqlite_sequence SET seq = :v WHERE name = :t"),
                                   {"v": highest, "t": codec.name})
            if not updated.rowcount:
                conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"),
                             {"v": highest, "t": codec.name})

