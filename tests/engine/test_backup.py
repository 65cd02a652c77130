"""Backup and restore: a restored system continues every dossier where it stood (SQLite and PostgreSQL),
and a restore refuses what it must: a database with dossiers, another schema revision, a file that is
not what the manifest says, a member that would land outside the staging folder."""

from __future__ import annotations

import dataclasses
import io
import tarfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import JSON, Text, cast, create_engine, func, inspect, select, text

from engine import history
from engine.audit import verify_all
from engine.backup import BackupFailed, RestoreRefused, backup, restore
from engine.context import build_context
from engine.db import transaction
from engine.documents.errors import StoreUnavailable
from engine.documents.store import FileStore
from engine.event_months import partitions
from engine.models import Base, Dossier
from engine.outbox import drain
from engine.services import get_dossier, list_attachments, list_inbox, read_attachment
from engine.services.uploads import store_file, submit_with_files
from tests.conftest import PG_ADMIN_URL, make_settings, service_missing, with_object_store
from tests.factories import APPLICANT, HKD, household_form, open_task, submit, work

PDF = b"%PDF-1.4\n% giay to kem theo ho so\n%%EOF\n"


# --- a fresh system to restore into ----------------------------------------------------------------

@pytest.fixture
def fresh(ctx, smtp, tmp_path):
    """A factory of empty systems, on the backend of `ctx` unless told: a never-migrated database (a new
    SQLite file or a new PostgreSQL database) and an empty data dir. Dropped after the test."""
    made: list[tuple[object, str | None]] = []
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def make(backend: str | None = None):
        n = len(made)
        name = None
        if (backend or ctx.db.dialect.name) == "sqlite":
            url = f"sqlite:///{tmp_path / f'restored-{n}.db'}"
        else:
            name = f"motcua_restore_{uuid.uuid4().hex[:10]}"
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # noqa: BLE001 - the server is missing
                service_missing("PostgreSQL", exc)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        target = build_context(make_settings(url, smtp.port, tmp_path / f"data-{n}"))
        made.append((target, name))
        return target

    yield make
    for target, name in made:
        target.db.dispose()
        if name is not None:
            with admin.connect() as conn:
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def row_counts(ctx) -> dict[str, int]:
    """Rows in every table of the database as it is (not as the backup code thinks it is); the
    history's monthly partitions are counted in `event`."""
    with ctx.db.connect() as conn:
        names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"} - partitions(conn))
        return {name: conn.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names}


def contents(ctx) -> dict[str, list[tuple]]:
    """Every row of every model table in primary-key order; JSON as its stored text, so that SQL NULL
    and a JSON null differ."""
    tables = {}
    with ctx.db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [cast(c, Text) if isinstance(c.type, JSON) else c for c in table.columns]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def dossier_count(ctx) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count(Dossier.id)))


# --- dossiers at different points of their life ----------------------------------------------------

def several_dossiers(ctx, actors) -> dict[str, str]:
    """Codes of: one just submitted, one with the specialist, one waiting for the applicant's supplement
    (with an uploaded file), one finished with its generated receipt and result."""
    citizen = actors["congdan"]
    submitted = submit(ctx, citizen).code
    in_review = submit(ctx, citizen).code
    work(ctx, actors["tiepnhan"], in_review, {"ket_qua_tiep_nhan": "tiep_nhan"})
    upload = store_file(ctx, PDF, "giay-de-nghi.pdf", "application/pdf")
    with_file = submit_with_files(ctx, citizen, HKD, dict(APPLICANT), household_form(), [upload]).code
    work(ctx, actors["tiepnhan"], with_file, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao CCCD"]})
    finished = submit(ctx, citizen).code
    work(ctx, actors["tiepnhan"], finished, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], finished, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(ctx, actors["lanhdao"], finished, {"quyet_dinh": "dong_y"})
    drain(ctx)  # the receipt and the result PDF are rendered into the file store
    work(ctx, actors["tiepnhan"], finished, {"hinh_thuc_tra": "truc_tiep"})
    return {"submitted": submitted, "in_review": in_review, "with_file": with_file, "finished": finished}


def snapshot_of(ctx, actor, codes: dict[str, str]) -> dict[str, tuple]:
    return {key: (view.status, len(view.history), view.due_at)
            for key, view in ((k, get_dossier(ctx, actor, code)) for k, code in codes.items())}


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_restored_history_of_past_months_goes_into_their_own_partitions(ctx, actors, fresh, tmp_path):
    """PostgreSQL partitions the history by month (migration 0013); a new database has partitions for
    the months around now only, so a restore makes the older ones as it loads their events."""
    code = submit(ctx, actors["congdan"]).code
    with transaction(ctx.sessions) as session:
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        history.record(session, dossier, "note", data={"text": "hồ sơ giấy năm 2017"},
                       at=datetime(2017, 5, 2, 3, 0, tzinfo=UTC))
    made = backup(ctx, tmp_path / "sao-luu.tar.gz")
    target = fresh()
    assert restore(target, made.path).audit.intact
    with target.db.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM event_default")) == 0
        assert conn.scalar(text("SELECT tableoid::regclass::text FROM event WHERE kind = 'note'")) == "event_2017_05"


def test_a_restored_system_continues_every_dossier_where_it_stood(ctx, actors, fresh, tmp_path):
    codes = several_dossiers(ctx, actors)
    citizen = actors["congdan"]
    before, counts = snapshot_of(ctx, citizen, codes), row_counts(ctx)

    made = backup(ctx, tmp_path / "sao-luu.tar.gz")
    target = fresh()
    result = restore(target, made.path)

    assert result.audit.intact and result.audit.dossiers == counts["dossier"] == made.dossiers
    assert row_counts(target) == counts == result.rows
    assert contents(target) == contents(ctx)
    assert snapshot_of(target, citizen, codes) == before
    [upload] = [a for a in list_attachments(target, citizen, codes["with_file"]) if a.kind == "upload"]
    assert read_attachment(target, citizen, codes["with_file"], upload.id)[1] == PDF
    result_pdf = next(a for a in list_attachments(target, citizen, codes["finished"]) if a.kind == "ket-qua")
    assert read_attachment(target, citizen, codes["finished"], result_pdf.id)[1].startswith(b"%PDF")

    work(target, actors["tiepnhan"], codes["submitted"], {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(target, actors["chuyenvien"], codes["in_review"], {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(target, citizen, codes["with_file"], {"noi_dung_bo_sung": "Đã bổ sung bản sao CCCD", "rut_ho_so": False})
    assert get_dossier(target, citizen, codes["submitted"]).status == "processing"
    assert open_task(target, actors["lanhdao"], codes["in_review"]).bpmn_id == "phe_duyet"
    assert open_task(target, actors["tiepnhan"], codes["with_file"]).bpmn_id == "tiep_nhan"
    assert get_dossier(target, citizen, codes["finished"]).status == "returned"
    assert not [t for t in list_inbox(target, actors["tiepnhan"]) if t.dossier_code == codes["finished"]]
    # ids and dossier numbers go on after the restored ones: a new dossier collides with nothing
    new = submit(target, citizen)
    assert new.code not in codes.values()
    assert verify_all(target).intact


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_files_in_a_bucket_are_backed_up_and_restored_into_a_bucket_or_a_folder(ctx, actors, fresh, tmp_path,
                                                                               s3_server):
    source = with_object_store(ctx, s3_server)
    in_folder = list(ctx.files.stored())
    codes = several_dossiers(source, actors)
    stored = list(source.files.stored())
    assert list(ctx.files.stored()) == in_folder  # every file went to the bucket

    made = backup(source, tmp_path / "sao-luu.tar.gz")

    assert made.files == len(stored) >= 3 and made.missing_files == []
    citizen = actors["congdan"]
    for target in (with_object_store(fresh(), s3_server, prefix="khoi-phuc"), fresh()):
        restore(target, made.path)
        assert list(target.files.stored()) == stored
        [upload] = [a for a in list_attachments(target, citizen, codes["with_file"]) if a.kind == "upload"]
        assert read_attachment(target, citizen, codes["with_file"], upload.id)[1] == PDF


def own_folder(ctx, tmp_path):
    """A view of `ctx` with a data dir (and so a folder store) of its own, empty."""
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, data_dir=tmp_path / "data"))


def test_a_folder_stores_backup_moves_into_a_bucket(ctx, actors, fresh, tmp_path, s3_server):
    """A province growing from one server to several: back up, restore with MOTCUA_FILE_STORE set."""
    source = own_folder(ctx, tmp_path)
    codes = several_dossiers(source, actors)
    made = backup(source, tmp_path / "sao-luu.tar.gz")
    target = with_object_store(fresh(), s3_server)
    restore(target, made.path)
    assert list(target.files.stored()) == list(source.files.stored())
    finished = next(a for a in list_attachments(target, actors["congdan"], codes["finished"]) if a.kind == "ket-qua")
    assert read_attachment(target, actors["congdan"], codes["finished"], finished.id)[1].startswith(b"%PDF")


class _CutOff(io.RawIOBase):
    """A stored file's body that stops early and then says so, as a bucket's body does when the
    connection drops (botocore checks the length it was promised)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.data:
            chunk, self.data = self.data[:size], self.data[size:]
            return chunk
        raise StoreUnavailable("connection broken: 10 bytes read, 100000 more expected")


def test_a_file_cut_off_while_being_archived_is_a_read_failure_not_a_damaged_file(ctx, actors, tmp_path,
                                                                                  monkeypatch):
    source = own_folder(ctx, tmp_path)
    several_dossiers(source, actors)
    digest, _size = next(iter(source.files.stored()))
    real_reader = FileStore.reader

    @contextmanager
    def cut_off(self, sha256):
        if sha256 != digest:
            with real_reader(self, sha256) as stream:
                yield stream
            return
        yield _CutOff(b"%PDF-1.4\n")

    monkeypatch.setattr(FileStore, "reader", cut_off)
    with pytest.raises(BackupFailed) as raised:
        backup(source, tmp_path / "sao-luu.tar.gz")
    assert "Không đọc được tệp" in raised.value.message_vi and "bị hỏng" not in raised.value.message_vi
    assert list(tmp_path.glob("*sao-luu*")) == []


def test_a_damaged_file_in_the_store_fails_the_backup_and_leaves_no_archive(ctx, actors, tmp_path):
    own = own_folder(ctx, tmp_path)
    several_dossiers(own, actors)
    digest, _size = next(iter(own.files.stored()))
    own.files.path(digest).write_bytes(b"tampered")
    out = tmp_path / "sao-luu.tar.gz"
    with pytest.raises(BackupFailed) as raised:
        backup(own, out)
    assert digest in raised.value.message_vi and "bị hỏng" in raised.value.message_vi
    assert list(tmp_path.glob("*sao-luu*")) == []


def test_a_backup_is_one_snapshot_even_while_a_dossier_is_submitted_during_it(ctx, actors, fresh, tmp_path):
    submit(ctx, actors["congdan"])
    before = row_counts(ctx)
    during: list[str] = []

    def meanwhile(table: str, _rows: int) -> None:
        if not during:  # after the first table, before the dossier tables are read
            during.append(submit(ctx, actors["congdan"]).code)

    made = backup(ctx, tmp_path / "sao-luu.tar.gz", progress=meanwhile)

    assert during and dossier_count(ctx) == 2
    assert {name: made.rows[name] for name in before} == before
    assert restore(fresh(), made.path).audit.intact


def test_restore_refuses_a_database_that_already_holds_dossiers_unless_forced(ctx, actors, tmp_path):
    kept = submit(ctx, actors["congdan"]).code
    made = backup(ctx, tmp_path / "sao-luu.tar.gz")
    later = submit(ctx, actors["congdan"]).code

    with pytest.raises(RestoreRefused) as refused:
        restore(ctx, made.path)
    assert "đã có 2 hồ sơ" in refused.value.message_vi and "--force" in refused.value.message_vi
    assert dossier_count(ctx) == 2

    result = restore(ctx, made.path, force=True)  # on PostgreSQL the wipe passes the audit triggers

    assert result.audit.intact and dossier_count(ctx) == 1
    assert get_dossier(ctx, actors["congdan"], kept).status == "submitted"
    with ctx.sessions() as session:
        assert session.scalar(select(Dossier.id).where(Dossier.code == later)) is None
    work(ctx, actors["tiepnhan"], kept, {"ket_qua_tiep_nhan": "tiep_nhan"})
    assert submit(ctx, actors["congdan"]).code != kept


@pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
def test_an_embedded_systems_backup_restores_into_postgresql(ctx, actors, fresh, tmp_path):
    codes = several_dossiers(ctx, actors)
    made = backup(ctx, tmp_path / "nhung.tar.gz")

    production = fresh("postgresql")
    result = restore(production, made.path)

    assert result.audit.intact and contents(production) == contents(ctx)
    work(production, actors["chuyenvien"], codes["in_review"], {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    assert open_task(production, actors["lanhdao"], codes["in_review"]).bpmn_id == "phe_duyet"
    assert submit(production, actors["congdan"]).code not in codes.values()


# --- archives that must be refused -------------------------------------------------------------------

def rewrite(archive: Path, out: Path, change: Callable[[tarfile.TarInfo, bytes], bytes] | None = None,
            extra: tuple[tarfile.TarInfo, bytes] | None = None) -> Path:
    """A copy of `archive` with members changed by `change` and one `extra` member added at the end."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if change is not None:
                data = change(member, data)
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
        if extra is not None:
            target.addfile(extra[0], io.BytesIO(extra[1]))
    return out


@pytest.fixture
def archive(ctx, actors, tmp_path) -> Path:
    """A backup holding a dossier with an uploaded file."""
    upload = store_file(ctx, PDF, "giay-de-nghi.pdf", "application/pdf")
    submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [upload])
    return backup(ctx, tmp_path / "sao-luu.tar.gz").path


def assert_untouched(target) -> None:
    """Nothing of a refused archive is left: no dossier, no file in the store, no staging folder."""
    with target.db.connect() as conn:
        migrated = "dossier" in inspect(conn).get_table_names()
    assert not migrated or dossier_count(target) == 0
    data_dir = Path(target.settings.data_dir)
    assert not [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.exists() else True


@pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
def test_restore_refuses_an_archive_of_another_schema_revision(archive, fresh, tmp_path):
    def older(member, data):
        if member.name != "manifest.json":
            return data
        return orjson.dumps({**orjson.loads(data), "alembic_revision": "0007"})

    target = fresh()
    with pytest.raises(RestoreRefused) as refused:
        restore(target, rewrite(archive, tmp_path / "cu.tar.gz", older))

    assert "'0007'" in refused.value.message_vi and "phiên bản" in refused.value.message_vi
    assert_untouched(target)


@pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
@pytest.mark.parametrize("member_prefix", ["files/", "db/dossier.jsonl"])
def test_restore_refuses_a_file_that_does_not_match_its_checksum(archive, fresh, tmp_path, member_prefix):
    def tamper(member, data):
        if not member.name.startswith(member_prefix):
            return data
        return data.replace(b"giay", b"GIAY") if member_prefix == "files/" else data.replace(b"submitted", b"finished")

    target = fresh()
    with pytest.raises(RestoreRefused) as refused:
        restore(target, rewrite(archive, tmp_path / "sua.tar.gz", tamper))

    assert "không khớp mã kiểm tra" in refused.value.message_vi
    assert_untouched(target)


@pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
def test_a_truncated_archive_is_refused_and_nothing_changes(archive, fresh, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])

    target = fresh()
    with pytest.raises(RestoreRefused) as refused:
        restore(target, cut)

    assert "Không đọc được bản sao lưu" in refused.value.message_vi
    assert_untouched(target)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    data = b"" if kind != tarfile.REGTYPE else b"owned\n"
    info.size = len(data)
    return info, data


@pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
@pytest.mark.parametrize("evil", [
    _member("../../ngoai-thu-muc.txt"),
    _member("files/../../../ngoai-thu-muc.txt"),
    _member("/tmp/motcua-backup-absolute-path-probe.txt"),
    _member("files/ab/cd/lien-ket", tarfile.SYMTYPE, "/etc/passwd"),
    _member("files/ab/cd/cung", tarfile.LNKTYPE, "manifest.json"),
    _member("files/ab/cd/" + "ab" * 32),  # a well-formed name the manifest does not list
], ids=["parent", "nested-parent", "absolute", "symlink", "hardlink", "unlisted"])
def test_restore_refuses_a_member_that_could_land_outside_or_is_not_listed(archive, fresh, tmp_path, evil):
    target = fresh()
    with pytest.raises(RestoreRefused):
        restore(target, rewrite(archive, tmp_path / "doc.tar.gz", extra=evil))

    assert not (tmp_path / "ngoai-thu-muc.txt").exists() and not Path(tmp_path.parent / "ngoai-thu-muc.txt").exists()
    assert not Path("/tmp/motcua-backup-absolute-path-probe.txt").exists()
    assert_untouched(target)
