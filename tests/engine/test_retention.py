"""Retention: the personal data of dossiers finished longer ago than their period is erased (rows,
workflow state, connector calls, files), while report figures and the audit chain stay the same,
on SQLite and on PostgreSQL (whose append-only triggers guard the event rows)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from engine.audit import verify_all
from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.db import transaction
from engine.erasure import ERASED_EVENT, scrub_state
from engine.models import (
    Attachment,
    Dossier,
    Event,
    ExchangeMessage,
    OutboxMessage,
    Rating,
    WorkflowInstance,
)
from engine.privacy import ERASED
from engine.reports import rollup
from engine.reports.filters import Filters
from engine.retention import PERMANENT, _queue, retention_years, run_retention, years_before
from engine.services import rate_dossier, reports, submit_dossier
from engine.services.uploads import store_file, submit_with_files
from tests.conftest import with_object_store, with_store_down
from tests.engine.services.workspace import refuse_at_reception, to_result
from tests.factories import APPLICANT, HKD, drain_all, household_form, submit, work

PDF = b"%PDF-1.4\n% ban sao can cuoc cong dan 001090000001\n%%EOF\n"
#: what the applicant and the example form put in a dossier (tests/factories.py, example-submission.json)
PERSONAL = ("001090000001", "0912345678", "congdan@example.vn", "Phạm Thị Công Dân", "099186000123",
            "TRẦN THỊ THU HƯƠNG", "huong.tran@example.vn", "Số 12, ngõ 5", "Chờ hơi lâu nhưng được việc")
SHORT = "luu-tru-ngan"
OTHER_PDF = b"%PDF-1.4\n% ban sao can cuoc cua nguoi khac\n%%EOF\n"


def returned_with_upload(ctx, actors, content: bytes = PDF):
    """A dossier submitted online with an uploaded file, approved, its result returned and rated."""
    file = store_file(ctx, content, "can-cuoc-pham-thi-cong-dan.pdf", "application/pdf")
    view = submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [file])
    to_result(ctx, actors, view.code)
    work(ctx, actors["tiepnhan"], view.code, {"hinh_thuc_tra": "truc_tiep"})
    drain_all(ctx)
    rate_dossier(ctx, actors["congdan"], view.code, 4, "Chờ hơi lâu nhưng được việc")
    return view.code


def refused(ctx, actors) -> str:
    code = submit(ctx, actors["congdan"]).code
    refuse_at_reception(ctx, actors, code)
    drain_all(ctx)
    return code


def figures(ctx, actors) -> str:
    """Every figure the reports show for this year, as one comparable text."""
    rollup.refresh(ctx)
    admin = actors["quantri"]
    today = datetime.now(UTC).date()
    year = Filters(today - timedelta(days=365), today + timedelta(days=1))
    dashboard = reports.dashboard(ctx, admin, year)
    parts = [(dashboard.counts, dashboard.overdue_now, dashboard.processing, dashboard.steps),
             reports.breakdown(ctx, admin, year, "procedure"),
             reports.scorecard(ctx, admin, year),
             [(r.code, r.status, r.timeliness, r.finished_at) for r in
              reports.dossiers_behind(ctx, admin, "submitted", year, per_page=200).rows]]
    return repr(parts)


def everything_of(ctx, code: str) -> str:
    """All that the database and the file store hold for one dossier, as one searchable text."""
    with ctx.sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        rows = [dossier.applicant_name, dossier.applicant_id_number, dossier.applicant_phone, dossier.applicant_email]
        instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
        rows.append(instance.state.decode() if instance else "")
        for call in session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_id == dossier.id)):
            rows += [call.payload, call.result, call.context, call.last_error]
        for event in session.scalars(select(Event).where(Event.dossier_id == dossier.id)):
            rows += [event.data, event.actor_name]
        rows += [r.comment for r in session.scalars(select(Rating).where(Rating.dossier_id == dossier.id))]
        files = []
        for attachment in session.scalars(select(Attachment).where(Attachment.dossier_id == dossier.id)):
            rows.append(attachment.filename)
            if ctx.files.exists(attachment.sha256):
                files.append(ctx.files.open(attachment.sha256).decode("latin-1"))
    return json.dumps(rows, ensure_ascii=False, default=str) + "".join(files)


def dossier(ctx, code: str) -> Dossier:
    with ctx.sessions() as session:
        return session.scalar(select(Dossier).where(Dossier.code == code))


def digests(ctx, code: str) -> list[str]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Attachment.sha256).join(Dossier).where(Dossier.code == code)))


def later(years: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=365.25 * years)


def test_erasure_removes_the_personal_data_and_keeps_figures_and_the_audit_chain(ctx, actors):
    returned = returned_with_upload(ctx, actors)
    refused_code = refused(ctx, actors)
    running = submit(ctx, actors["congdan"]).code
    files = digests(ctx, returned)
    assert len(files) >= 2 and all(ctx.files.exists(d) for d in files)  # the upload and generated documents
    assert all(text in everything_of(ctx, returned) for text in PERSONAL)
    before = figures(ctx, actors)

    result = run_retention(ctx, now=later(6), batch=1)

    assert (result.due, result.erased, result.deferred, result.batches) == (2, 2, 0, 2)
    assert result.files_deleted == len(set(files + digests(ctx, refused_code)))
    for code in (returned, refused_code):
        held = everything_of(ctx, code)
        assert [text for text in PERSONAL if text in held] == []
        row = dossier(ctx, code)
        assert (row.applicant_name, row.applicant_id_number, row.applicant_phone, row.applicant_email) == (
            ERASED, None, None, None)
        assert row.code == code and row.finished_at is not None and row.status in ("returned", "refused")
    assert not any(ctx.files.exists(d) for d in files)
    kept = dossier(ctx, running)
    assert (kept.applicant_id_number, kept.applicant_phone) == (APPLICANT["id_number"], APPLICANT["phone"])
    assert APPLICANT["name"] in everything_of(ctx, running)
    audit = verify_all(ctx)
    assert audit.intact and audit.dossiers == 3
    with ctx.sessions() as session:
        erased_events = session.execute(select(Event.data).join(Dossier).where(
            Event.kind == ERASED_EVENT, Dossier.code == returned)).scalars().all()
        assert len(erased_events) == 1 and erased_events[0]["retention_years"] == 5
        assert session.scalar(select(Rating.score).join(Dossier).where(Dossier.code == returned)) == 4
    assert figures(ctx, actors) == before
    rollup.rebuild(ctx)
    assert figures(ctx, actors) == before


def test_a_dry_run_changes_nothing_and_a_second_run_finds_nothing_left(ctx, actors):
    code = refused(ctx, actors)
    held = everything_of(ctx, code)

    dry = run_retention(ctx, now=later(6), dry_run=True)
    assert (dry.due, dry.erased, dry.dry_run) == (1, 0, True)
    assert everything_of(ctx, code) == held

    assert run_retention(ctx, now=later(6)).erased == 1
    again = run_retention(ctx, now=later(7))
    assert (again.due, again.erased, again.files_deleted) == (0, 0, 0)
    with ctx.sessions() as session:
        kinds = session.scalars(select(Event.kind).join(Dossier).where(Dossier.code == code)).all()
    assert kinds.count(ERASED_EVENT) == 1


def test_dossiers_inside_their_period_or_before_the_given_day_are_untouched(ctx, actors):
    code = refused(ctx, actors)
    held = everything_of(ctx, code)

    assert run_retention(ctx, now=later(4.9)).due == 0
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date()
    assert run_retention(ctx, now=later(6), before=yesterday).due == 0
    assert everything_of(ctx, code) == held

    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    assert run_retention(ctx, now=later(6), before=tomorrow).erased == 1
    assert dossier(ctx, code).applicant_name == ERASED


def test_a_dossier_waiting_for_a_connector_call_is_deferred_until_the_call_is_done(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    refuse_at_reception(ctx, actors, code)  # the refusal notice is not sent yet

    waiting = run_retention(ctx, now=later(6))
    assert (waiting.due, waiting.deferred, waiting.erased) == (1, 1, 0)
    assert dossier(ctx, code).applicant_phone == APPLICANT["phone"]

    drain_all(ctx)
    assert run_retention(ctx, now=later(6)).erased == 1


def test_a_file_shared_with_a_dossier_still_kept_stays_in_the_store(ctx, actors):
    old = returned_with_upload(ctx, actors)
    shared = store_file(ctx, PDF, "cccd.pdf", "application/pdf")
    live = submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [shared])

    result = run_retention(ctx, now=later(6))

    assert result.erased == 1 and result.files_shared == 1
    assert ctx.files.open(shared.sha256) == PDF
    assert shared.sha256 in digests(ctx, old) and shared.sha256 in digests(ctx, live.code)


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_erasure_deletes_the_files_from_a_bucket_and_keeps_the_shared_one(ctx, actors, s3_server):
    bucket = with_object_store(ctx, s3_server)
    old = returned_with_upload(bucket, actors)
    shared = store_file(bucket, OTHER_PDF, "cccd.pdf", "application/pdf")
    submit_with_files(bucket, actors["congdan"], HKD, dict(APPLICANT), household_form(), [shared])
    files = set(digests(bucket, old))
    assert {digest for digest, _size in bucket.files.stored()} == files | {shared.sha256}

    result = run_retention(bucket, now=later(6))

    assert result.erased == 1 and result.files_deleted == len(files) and result.files_shared == 0
    assert [digest for digest, _size in bucket.files.stored()] == [shared.sha256]


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_files_the_store_could_not_delete_stay_queued_and_go_on_the_next_run(ctx, actors, s3_server):


    bucket = with_object_store(ctx, s3_server)
    down = with_store_down(bucket)
    code = returned_with_upload(bucket, actors)
    files = set(digests(bucket, code))

    first = run_retention(down, now=later(6))

    assert (first.erased, first.files_deleted, first.files_pending, first.store_unavailable) == (1, 0, len(files), True)
    assert {digest for digest, _size in bucket.files.stored()} == files  # still there, still queued
    assert dossier(bucket, code).applicant_name == ERASED  # the database's part is done regardless

    second = run_retention(bucket, now=later(6))

    assert (second.due, second.files_deleted, second.files_pending) == (0, len(files), 0)
    assert list(bucket.files.stored()) == []


def test_a_queued_file_a_kept_exchange_message_names_as_refused_stays(ctx, actors):
    """The same bytes refused from two packages: one dossier's data erased, the other's message kept."""
    digest, _size = ctx.files.put(b"%PDF-1.7 ban ve bi tu choi /JS")
    with transaction(ctx.sessions) as session:
        session.add(ExchangeMessage(direction="in", kind="edoc", state="matched", created_at=datetime.now(UTC),
                                    detail={"refused": [{"name": "ban-ve.pdf", "sha256": digest, "size": 30}]}))
    with transaction(ctx.sessions) as session:  # queued twice, as two runs at once would: one row
        _queue(session, {digest}, datetime.now(UTC))
    with transaction(ctx.sessions) as session:
        _queue(session, {digest}, datetime.now(UTC))

    result = run_retention(ctx, now=later(6))

    assert (result.files_deleted, result.files_shared, result.files_pending) == (0, 1, 0)
    assert ctx.files.exists(digest)


def test_a_file_refused_from_an_exchange_reply_leaves_the_store_with_its_dossier(ctx, actors):
    code = refused(ctx, actors)
    digest, _size = ctx.files.put(b"%PDF-1.7 ban ve cua ong Pham Thi Cong Dan /JS")
    with transaction(ctx.sessions) as session:
        session.add(ExchangeMessage(
            direction="in", dossier_id=dossier(ctx, code).id, kind="edoc", state="matched", subject="Trả lời",
            detail={"refused": [{"name": "ban-ve.pdf", "reason": "mã lệnh", "size": 46, "sha256": digest}]},
            created_at=datetime.now(UTC)))

    assert run_retention(ctx, now=later(6)).erased == 1
    assert not ctx.files.exists(digest)


def test_a_procedure_sets_its_own_period_in_procedure_json(ctx, actors, tmp_path):
    folder = tmp_path / SHORT
    shutil.copytree(PROJECT_ROOT / "processes" / HKD, folder)
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    # its own code and name too: the copy stays in this session's catalogue for the tests after this one
    meta.update(code="0.test.luu-tru-ngan", name="Đăng ký hộ kinh doanh (lưu trữ một năm)", retention_years=1)
    (folder / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    load_catalogue(ctx, tmp_path)
    short = submit_dossier(ctx, actors["congdan"], SHORT, dict(APPLICANT), household_form()).code
    refuse_at_reception(ctx, actors, short)
    default = refused(ctx, actors)
    drain_all(ctx)

    result = run_retention(ctx, now=later(2))

    assert result.erased == 1
    assert dossier(ctx, short).applicant_name == ERASED
    assert dossier(ctx, default).applicant_name == APPLICANT["name"]


def test_the_period_is_read_from_the_procedure_or_the_default():
    assert retention_years({}, 5) == 5
    assert retention_years({"retention_years": 10}, 5) == 10
    assert retention_years({"retention_years": PERMANENT}, 5) is None
    for wrong in (0, -3, "10", 2.5, True, None):
        assert retention_years({"retention_years": wrong}, 5) == 5
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)


def test_scrubbing_a_state_keeps_engine_facts_and_flags_and_drops_every_answer():
    state = {"data": {"dossier": {"code": "X"}, "peers": {"a": "b"}, "applicant": {"name": "A"}, "cam_ket": True,
                      "chu_ho": {"so_dinh_danh": "001090000001"}, "y_kien": "ghi chú", "le_phi": 100000},
             "correlations": {"k": "001090000001"}, "bpmn_events": [{"payload": "0912345678"}],
             "tasks": {"t": {"data": {"applicant": {"phone": "0912345678"}, "dossier": {"code": "X"}},
                             "internal_data": {"event_fired": True, "msg": "0912345678"},
                             "delta": {"updates": {"y_kien": "ghi chú", "ok": False}, "deletions": ["z"]}}},
             "subprocesses": {"s": {"data": {"ho_ten": "B"}, "tasks": {}}}}

    scrubbed = orjson.loads(scrub_state(orjson.dumps(state)))

    assert scrubbed["data"] == {"dossier": {"code": "X"}, "peers": {"a": "b"}, "cam_ket": True}
    assert scrubbed["tasks"]["t"]["data"] == {"dossier": {"code": "X"}}
    assert scrubbed["tasks"]["t"]["internal_data"] == {"event_fired": True}
    assert scrubbed["tasks"]["t"]["delta"] == {"updates": {"ok": False}, "deletions": ["z"]}
    assert (scrubbed["correlations"], scrubbed["bpmn_events"], scrubbed["subprocesses"]["s"]["data"]) == ({}, [], {})


@pytest.mark.parametrize("batch", [0, -1])
def test_a_batch_below_one_is_refused(ctx, batch):
    with pytest.raises(ValueError):
        run_retention(ctx, batch=batch)
