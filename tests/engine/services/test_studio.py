"""The analyst studio's services: drafts, diagram and form edits, lint, publish, versions, migration.

Every test that publishes does so on a procedure of its own (a fresh slug): the catalogue is
published once for the whole session and other tests rely on its versions.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from engine.db import transaction
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcedureNotFound
from engine.models import Dossier, Procedure, ProcedureDraft, ProcedureVersion
from engine.procedures.catalogue import publish
from engine.procedures.lint import ERROR
from engine.services import get_dossier, studio, studio_exchange, studio_publish, submit_dossier
from tests.engine.procedures.models import linear
from tests.factories import APPLICANT, HKD, work

RENAMED = "Thẩm định hồ sơ (sửa)"


@pytest.fixture
def analyst(actors):
    return actors["phantich"]


@pytest.fixture
def own(ctx):
    """A procedure of this test's own, published once (version 1): its slug."""
    package = linear(pid=f"studio_{uuid.uuid4().hex[:8]}")
    with transaction(ctx.sessions) as session:
        publish(session, package, published_by="test")
    return package["procedure"]["slug"]


def _start(ctx, actors, slug: str) -> str:
    return submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code


def _renamed(ctx, analyst, draft):
    """Rename the appraisal task in the editor and give its form one more field."""
    view = studio.save_draft_bpmn(ctx, analyst, draft.id,
                                  draft.editor_xml.replace('name="Thẩm định hồ sơ"', f'name="{RENAMED}"'))
    form = view.package["forms"]["tham-dinh"]
    form["schema"]["properties"]["ghi_chu"] = {"type": "string", "title": "Ghi chú"}
    return studio.save_draft_form(ctx, analyst, draft.id, "tham-dinh", form["schema"], form["ui_schema"])


# -- access -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["chuyenvien", "tiepnhan", "lanhdao", "congdan"])
def test_only_analysts_and_admins_use_the_studio(ctx, actors, own, username):
    actor = actors[username]
    for call in (lambda: studio.list_procedures(ctx, actor), lambda: studio.open_draft(ctx, actor, own),
                 lambda: studio.list_versions(ctx, actor, own), lambda: studio.plan_migration(ctx, actor, own, 1),
                 lambda: studio.export_zip(ctx, actor, own), lambda: studio.import_file(ctx, actor, "a.bpmn", b"x")):
        with pytest.raises(Forbidden) as caught:
            call()
        assert "nghiệp vụ" in caught.value.message_vi
    assert studio.open_draft(ctx, actors["quantri"], own).slug == own


# -- drafts -----------------------------------------------------------------------------------------

def test_opening_a_procedure_copies_its_latest_version_into_its_one_open_draft(ctx, analyst, actors, own):
    draft = studio.open_draft(ctx, analyst, own)
    assert studio.open_draft(ctx, actors["quantri"], own).id == draft.id
    assert (draft.based_on_version, draft.latest_version, draft.stale) == (1, 1, False)
    assert draft.bpmn_file == f"{own.replace('-', '_')}.bpmn" and draft.updated_by == "phantich"
    assert draft.package["procedure"]["lanes"]["Chuyên viên"] == "specialist"
    assert '<spiffworkflow:property name="role" value="specialist"/>' in draft.editor_xml
    assert draft.import_findings == []
    [row] = [r for r in studio.list_procedures(ctx, analyst) if r.slug == own]
    assert (row.latest_version, row.draft_id, row.draft_updated_by, row.running) == (1, draft.id, "phantich", 0)
    catalogue = {r.slug: r for r in studio.list_procedures(ctx, analyst)}
    assert catalogue[HKD].latest_version >= 1 and catalogue[HKD].code == "1.001612"


def test_an_unknown_procedure_or_draft_is_not_found(ctx, analyst):
    with pytest.raises(ProcedureNotFound):
        studio.open_draft(ctx, analyst, "khong-co-thu-tuc-nay")
    with pytest.raises(NotFound) as caught:
        studio.get_draft(ctx, analyst, 987654321)
    assert "bản nháp" in caught.value.message_vi


def test_discarding_a_draft_deletes_it_and_the_next_open_starts_afresh(ctx, analyst, own):
    first = studio.open_draft(ctx, analyst, own)
    studio.save_draft_procedure(ctx, analyst, first.id, {"name": "Tên tạm"})
    studio.discard_draft(ctx, analyst, first.id)
    with pytest.raises(NotFound):
        studio.get_draft(ctx, analyst, first.id)
    again = studio.open_draft(ctx, analyst, own)
    assert again.id != first.id and again.name == "Thủ tục thử nghiệm"


def test_a_draft_is_stale_once_a_newer_version_is_published_meanwhile(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    newer = linear(pid=own.replace("-", "_"), deadline={"value": 5, "unit": "working_days"})
    with transaction(ctx.sessions) as session:
        publish(session, newer, published_by="khac")
    view = studio.get_draft(ctx, analyst, draft.id)
    assert (view.based_on_version, view.latest_version, view.stale) == (1, 2, True)


def test_two_writes_racing_inside_the_database_cannot_both_win(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    with ctx.sessions() as session:
        row = session.get(ProcedureDraft, draft.id)
        session.commit()  # the row stays loaded as it was (SQLite: the write lock is released)
        studio.save_draft_procedure(ctx, analyst, draft.id, {"name": "Người khác lưu trước"})
        row.name = "Lưu sau, từ bản cũ"
        with pytest.raises(StaleDataError):
            session.commit()
    assert studio.get_draft(ctx, analyst, draft.id).name == "Người khác lưu trước"


def test_a_save_from_a_page_loaded_before_someone_elses_save_is_refused_and_theirs_is_kept(ctx, analyst, actors, own):
    draft = studio.open_draft(ctx, analyst, own)
    theirs = studio.save_draft_procedure(ctx, actors["quantri"], draft.id, {"name": "Quản trị lưu trước"},
                                         revision=draft.revision)
    assert theirs.revision > draft.revision
    for stale_save in (lambda: studio.save_draft_bpmn(ctx, analyst, draft.id, draft.editor_xml, revision=draft.revision),
                       lambda: studio.save_draft_form(ctx, analyst, draft.id, "moi", {"type": "object"}, {},
                                                      revision=draft.revision),
                       lambda: studio.delete_draft_form(ctx, analyst, draft.id, "tham-dinh", revision=draft.revision),
                       lambda: studio.save_draft_procedure(ctx, analyst, draft.id, {"name": "Cũ"},
                                                           revision=draft.revision),
                       lambda: studio.publish_draft(ctx, analyst, draft.id, revision=draft.revision),
                       lambda: studio.discard_draft(ctx, analyst, draft.id, revision=draft.revision)):
        with pytest.raises(Conflict) as caught:
            stale_save()
        assert "quantri" in caught.value.message_vi and "tải lại" in caught.value.message_vi
    assert studio.get_draft(ctx, analyst, draft.id).package == theirs.package
    assert studio.save_draft_procedure(ctx, analyst, draft.id, {"name": "Sau khi tải lại"},
                                       revision=theirs.revision).name == "Sau khi tải lại"


# -- the diagram ------------------------------------------------------------------------------------

def test_saving_the_diagram_reads_roles_and_budgets_back_into_procedure_json(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    xml = draft.editor_xml.replace('<spiffworkflow:property name="role" value="leader"/>',
                                   '<spiffworkflow:property name="role" value="specialist"/>')
    xml = xml.replace('<bpmn:userTask id="tham_dinh" name="Thẩm định hồ sơ"><bpmn:extensionElements>'
                      '<spiffworkflow:properties>',
                      '<bpmn:userTask id="tham_dinh" name="Thẩm định hồ sơ"><bpmn:extensionElements>'
                      '<spiffworkflow:properties><spiffworkflow:property name="stepBudget" value="1,5 working_days"/>')
    view = studio.save_draft_bpmn(ctx, analyst, draft.id, xml)
    meta = view.package["procedure"]
    assert meta["lanes"] == {"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Lãnh đạo": "specialist",
                             "Công dân": "applicant"}  # a lane never drawn keeps its entry
    assert meta["step_budgets"] == {"tham_dinh": {"value": 1.5, "unit": "working_days"}}
    stored = view.package["bpmn"][view.bpmn_file]
    assert "stepBudget" not in stored and 'name="role"' not in stored
    assert '<spiffworkflow:property name="stepBudget" value="1.5 working_days"/>' in view.editor_xml
    assert studio.get_draft(ctx, analyst, draft.id).package == view.package


@pytest.mark.parametrize(("xml", "expected"), [
    ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>\n<oops", "dòng 2"),
    ('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "a"><!ENTITY b "&a;&a;">]><x>&b;</x>', "DOCTYPE"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "a">]><bpmn:definitions xmlns:bpmn='
     '"http://www.omg.org/spec/BPMN/20100524/MODEL">&a;</bpmn:definitions>'.encode("utf-16"), "DOCTYPE"),
    ("   ", "trống"),
])
def test_malformed_or_hostile_bpmn_is_refused_and_the_draft_keeps_what_it_had(ctx, analyst, own, xml, expected):
    draft = studio.open_draft(ctx, analyst, own)
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_bpmn(ctx, analyst, draft.id, xml)
    assert expected in caught.value.errors["bpmn"][0]
    assert studio.get_draft(ctx, analyst, draft.id).package == draft.package


def test_a_role_the_engine_does_not_know_is_refused_where_it_is(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    xml = draft.editor_xml.replace('value="leader"', 'value="giam-doc"')
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_bpmn(ctx, analyst, draft.id, xml)
    [problem] = caught.value.errors["bpmn"]
    assert "dòng" in problem and "lane_2" in problem and "giam-doc" in problem


# -- forms and procedure.json -----------------------------------------------------------------------

def test_forms_are_added_replaced_and_refused_when_the_renderer_would_refuse_them(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    schema = {"type": "object", "properties": {"so_ban": {"type": "integer", "title": "Số bản"}}}
    view = studio.save_draft_form(ctx, analyst, draft.id, "bo-sung", schema, {"so_ban": {"ui:help": "Số bản sao"}})
    assert view.package["forms"]["bo-sung"] == {"schema": schema, "ui_schema": {"so_ban": {"ui:help": "Số bản sao"}}}
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_form(ctx, analyst, draft.id, "bo-sung", {"type": "array"}, None)
    assert "bo-sung" in caught.value.errors["schema"][0]
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_form(ctx, analyst, draft.id, "../Bo Sung", schema, {})
    assert "name" in caught.value.errors
    assert studio.get_draft(ctx, analyst, draft.id).package["forms"]["bo-sung"]["schema"] == schema


def test_a_form_in_use_cannot_be_deleted_and_an_unused_one_can(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    for used, where in (("tham-dinh", "Thẩm định hồ sơ"), ("de-nghi", "biểu mẫu nộp hồ sơ")):
        with pytest.raises(InvalidInput) as caught:
            studio.delete_draft_form(ctx, analyst, draft.id, used)
        assert where in caught.value.errors["name"][0]
    studio.save_draft_form(ctx, analyst, draft.id, "thua", {"type": "object", "properties": {}}, {})
    assert "thua" not in studio.delete_draft_form(ctx, analyst, draft.id, "thua").package["forms"]
    with pytest.raises(NotFound):
        studio.delete_draft_form(ctx, analyst, draft.id, "thua")


def test_procedure_fields_are_checked_replaced_or_removed(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    view = studio.save_draft_procedure(ctx, analyst, draft.id, {
        "name": "Thủ tục đổi tên", "deadline": {"value": 5, "unit": "working_days"}, "supplement_clock": None,
        "fees": [{"name": "Lệ phí", "amount": 50000, "valid_from": "2026-01-01", "valid_to": None}],
        "ghi_chu_rieng": ["giữ nguyên"]})
    meta = view.package["procedure"]
    assert view.name == "Thủ tục đổi tên" and meta["deadline"] == {"value": 5, "unit": "working_days"}
    assert "supplement_clock" not in meta and meta["ghi_chu_rieng"] == ["giữ nguyên"]
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_procedure(ctx, analyst, draft.id, {
            "deadline": {"value": -1, "unit": "tuan"}, "lanes": {"Lãnh đạo": "boss"}, "start_form": "khong-co",
            "fees": [{"name": "", "amount": 1.5, "valid_from": "1/1/2026"}], "name": None, "slug": "moi"})
    errors = caught.value.errors
    assert set(errors) == {"deadline", "lanes.Lãnh đạo", "start_form", "fees[0].name", "fees[0].amount",
                           "fees[0].valid_from", "name", "slug"}
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_procedure(ctx, analyst, draft.id, {"slug": "duong-dan-moi"})
    assert "không đổi được" in caught.value.errors["slug"][0]
    with pytest.raises(InvalidInput) as caught:
        studio.save_draft_procedure(ctx, analyst, draft.id, {"agency": "000.00.99.H99"})
    assert "000.00.99.H99" in caught.value.errors["agency"][0]
    with pytest.raises(InvalidInput) as caught:  # values of the wrong JSON type are refused, not a crash
        studio.save_draft_procedure(ctx, analyst, draft.id, {"bpmn": ["a.bpmn"], "lanes": {"Lãnh đạo": ["leader"]},
                                                             "fees": ["50000"]})
    assert set(caught.value.errors) == {"bpmn", "lanes.Lãnh đạo", "fees[0]"}
    assert studio.get_draft(ctx, analyst, draft.id).package["procedure"] == meta


# -- lint, diff, publish ----------------------------------------------------------------------------

def test_lint_reports_located_findings_and_uses_the_registered_connector_operations(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    xml = draft.editor_xml.replace('<spiffworkflow:property name="role" value="leader"/>', "")
    xml = xml.replace('<bpmn:userTask id="tiep_nhan" name="Tiếp nhận hồ sơ">',
                      '<bpmn:serviceTask id="tiep_nhan" name="Tiếp nhận hồ sơ"><bpmn:extensionElements>'
                      '<spiffworkflow:serviceTaskOperator id="khong/co"/></bpmn:extensionElements>'
                      '</bpmn:serviceTask><bpmn:userTask id="khong_dung" name="Không dùng">')
    studio.save_draft_bpmn(ctx, analyst, draft.id, xml)
    errors = {(f.rule, f.element_id): f for f in studio.lint_draft(ctx, analyst, draft.id) if f.severity == ERROR}
    assert ("lan-vai-tro", "phe_duyet") in errors and ("ket-noi", "tiep_nhan") in errors
    finding = errors[("lan-vai-tro", "phe_duyet")]
    assert finding.file == draft.bpmn_file and finding.line and "Lãnh đạo" in finding.message
    clean = studio.open_draft(ctx, analyst, HKD)  # the registered operations include the payment platform's
    assert [f for f in studio.lint_draft(ctx, analyst, clean.id) if f.severity == ERROR] == []


def test_publishing_is_refused_while_lint_has_errors_and_nothing_is_published(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    studio.save_draft_bpmn(ctx, analyst, draft.id,
                           draft.editor_xml.replace('value="returned"', 'value="processing"'))
    with pytest.raises(InvalidInput) as caught:
        studio.publish_draft(ctx, analyst, draft.id)
    [message] = caught.value.errors["lint"]
    assert "ket_thuc" in message and "dossierStatus" in message
    assert [v.number for v in studio.list_versions(ctx, analyst, own)] == [1]
    assert studio.get_draft(ctx, analyst, draft.id).id == draft.id


def test_publishing_an_unchanged_draft_is_refused(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    with pytest.raises(InvalidInput) as caught:
        studio.publish_draft(ctx, analyst, draft.id)
    assert "phiên bản 1" in caught.value.errors["publish"][0]


def test_a_save_that_lands_while_the_draft_is_checked_for_publishing_stops_the_publish(
        ctx, analyst, actors, own, monkeypatch):
    draft = _renamed(ctx, analyst, studio.open_draft(ctx, analyst, own))
    checks = studio_publish._refuse_unrunnable

    def checked_while_someone_saves(ctx_, package):
        checks(ctx_, package)
        studio.save_draft_procedure(ctx, actors["quantri"], draft.id, {"name": "Đổi trong lúc kiểm tra"})

    monkeypatch.setattr(studio_publish, "_refuse_unrunnable", checked_while_someone_saves)
    with pytest.raises(Conflict):
        studio.publish_draft(ctx, analyst, draft.id)
    assert [v.number for v in studio.list_versions(ctx, analyst, own)] == [1]
    assert studio.get_draft(ctx, analyst, draft.id).name == "Đổi trong lúc kiểm tra"


def test_the_diff_against_the_latest_version_names_the_renamed_task_and_the_new_field(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    assert studio.diff_draft(ctx, analyst, draft.id).empty
    _renamed(ctx, analyst, draft)
    diff = studio.diff_draft(ctx, analyst, draft.id)
    assert diff.tasks_renamed == {"tham_dinh": ("Thẩm định hồ sơ", RENAMED)}
    assert [(f.form, f.fields_added) for f in diff.forms] == [("tham-dinh", ["ghi_chu"])]
    assert RENAMED in diff.summary


def test_a_published_draft_runs_new_dossiers_while_running_ones_finish_on_their_version(ctx, actors, analyst, own):
    old = _start(ctx, actors, own)
    draft = _renamed(ctx, analyst, studio.open_draft(ctx, analyst, own))

    result = studio.publish_draft(ctx, analyst, draft.id)
    assert (result.slug, result.version, result.created) == (own, 2, True)
    with pytest.raises(NotFound):
        studio.get_draft(ctx, analyst, draft.id)
    new = _start(ctx, actors, own)
    assert get_dossier(ctx, actors["quantri"], new).procedure_version == 2
    assert get_dossier(ctx, actors["quantri"], old).procedure_version == 1
    latest, first = studio.list_versions(ctx, analyst, own)
    assert (latest.number, latest.latest, latest.published_by, latest.running) == (2, True, "phantich", 1)
    assert RENAMED in latest.diff_summary and "ghi_chu" in latest.diff_summary
    assert (first.number, first.latest, first.running, first.diff_summary) == (1, False, 1, None)

    for code, title, appraisal in ((old, "Thẩm định hồ sơ", {"y_kien": "dat"}),
                                   (new, RENAMED, {"y_kien": "dat", "ghi_chu": "mới"})):
        work(ctx, actors["tiepnhan"], code, {"y_kien": "dat"})
        task, _view = work(ctx, actors["chuyenvien"], code, appraisal)
        assert task.title == title
        work(ctx, actors["lanhdao"], code, {"y_kien": "dat"})
    for code, version in ((old, 1), (new, 2)):
        final = get_dossier(ctx, actors["quantri"], code)
        assert (final.status, final.procedure_version) == ("returned", version) and final.finished_at
    assert [r.running for r in studio.list_versions(ctx, analyst, own)] == [0, 0]


def test_only_admins_migrate_and_analysts_may_plan(ctx, actors, analyst, own):
    code = _start(ctx, actors, own)
    draft = _renamed(ctx, analyst, studio.open_draft(ctx, analyst, own))
    studio.publish_draft(ctx, analyst, draft.id)
    plan = studio.plan_migration(ctx, analyst, own, 2)
    assert [(i.dossier_code, i.movable) for i in plan.items] == [(code, True)]
    with pytest.raises(Forbidden):
        studio.migrate(ctx, analyst, [i.id for i in plan.movable])
    [moved] = studio.migrate(ctx, actors["quantri"], [i.id for i in plan.movable])
    assert moved.migrated and get_dossier(ctx, actors["quantri"], code).procedure_version == 2



# -- import, export, test runs ----------------------------------------------------------------------

def test_an_exported_bpmn_carries_roles_and_budgets_and_imports_as_a_new_procedures_draft(ctx, analyst, own):
    draft = studio.open_draft(ctx, analyst, own)
    studio.save_draft_procedure(ctx, analyst, draft.id, {"step_budgets": {"tham_dinh": {"value": 2, "unit": "days"}}})
    name, data = studio.export_bpmn(ctx, analyst, own, draft_id=draft.id)
    assert name == f"{own}-ban-nhap.bpmn" and b'name="stepBudget" value="2 days"' in data
    assert b'<spiffworkflow:property name="role" value="leader"/>' in data

    other = f"nhap-{uuid.uuid4().hex[:8]}"  # a process of another name: the import is another procedure
    data = data.replace(f'process id="{own.replace("-", "_")}"'.encode(), f'process id="{other}"'.encode())
    imported = studio.import_file(ctx, analyst, f"{other}.bpmn", data)
    meta = imported.package["procedure"]
    assert (imported.slug, imported.latest_version, imported.based_on_version) == (other, None, None)
    assert meta["lanes"] == {"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Lãnh đạo": "leader"}
    assert meta["step_budgets"] == {"tham_dinh": {"value": 2, "unit": "days"}}
    assert "stepBudget" not in imported.package["bpmn"][imported.bpmn_file]
    [row] = [r for r in studio.list_procedures(ctx, analyst) if r.slug == other]
    assert (row.draft_id, row.latest_version, row.running) == (imported.id, None, 0)

    with pytest.raises(InvalidInput) as caught:  # forms, start form, agency, deadline: not in a bare BPMN
        studio.publish_draft(ctx, analyst, imported.id)
    assert any("tham-dinh-schema.json" in m for m in caught.value.errors["lint"])
    source = draft.package
    for form_name, form in source["forms"].items():
        studio.save_draft_form(ctx, analyst, imported.id, form_name, form["schema"], form["ui_schema"])
    studio.save_draft_procedure(ctx, analyst, imported.id, {
        key: source["procedure"][key] for key in ("agency", "deadline", "start_form", "code")})
    result = studio.publish_draft(ctx, analyst, imported.id)
    assert (result.slug, result.version) == (other, 1)
    [version] = studio.list_versions(ctx, analyst, other)
    assert version.diff_summary == "Phiên bản đầu tiên của thủ tục." and version.published_by == "phantich"


def test_a_bare_bpmn_imported_onto_a_published_procedure_keeps_its_forms_and_settings(ctx, analyst, own):
    name, data = studio.export_bpmn(ctx, analyst, own)
    assert name == f"{own}-v1.bpmn"
    edited = data.replace('name="Thẩm định hồ sơ"'.encode(), f'name="{RENAMED}"'.encode())
    draft = studio.import_file(ctx, analyst, f"{own}.bpmn", edited)
    assert (draft.slug, draft.based_on_version, draft.latest_version) == (own, 1, 1)
    published = studio.open_draft(ctx, analyst, own)  # the import is now the procedure's one open draft
    assert published.id == draft.id
    meta = draft.package["procedure"]
    assert meta["agency"] == "000.00.21.H99" and meta["start_form"] == "de-nghi"
    assert set(draft.package["forms"]) == {"de-nghi", "tiep-nhan", "tham-dinh", "phe-duyet"}
    assert studio.diff_draft(ctx, analyst, draft.id).tasks_renamed == {"tham_dinh": ("Thẩm định hồ sơ", RENAMED)}
    with pytest.raises(InvalidInput) as caught:
        studio.import_file(ctx, analyst, f"{own}.bpmn", edited)
    assert "đang có bản nháp" in caught.value.errors["file"][0]


def test_an_import_racing_another_for_the_same_procedure_is_refused_by_the_one_draft_rule(
        ctx, analyst, own, monkeypatch):
    _name, data = studio.export_bpmn(ctx, analyst, own)
    first = studio.import_file(ctx, analyst, f"{own}.bpmn", data)
    # The other import looked before this one was stored: only the database's unique slug stops it.
    monkeypatch.setattr(studio_exchange, "open_draft_row", lambda session, slug: None)
    with pytest.raises(InvalidInput) as caught:
        studio.import_file(ctx, analyst, f"{own}.bpmn", data)
    assert "đang có bản nháp" in caught.value.errors["file"][0]
    assert studio.open_draft(ctx, analyst, own).id == first.id


def _as_foreign_model(data: bytes, slug: str, *, process_id: str | None = None, name: str | None = None) -> bytes:
    """The exported BPMN of `slug` as another modeller may hand it back: its process given another id
    and/or a name of its own (our export writes the process with neither changed)."""
    old = f'<bpmn:process id="{slug.replace("-", "_")}"'
    assert old.encode() in data
    new = f'<bpmn:process id="{process_id or slug.replace("-", "_")}"' + (f' name="{name}"' if name else "")
    return data.replace(old.encode(), new.encode())


def test_a_bpmn_renamed_in_another_modeller_lands_on_the_published_procedure_running_its_process(ctx, analyst, own):
    _name, data = studio.export_bpmn(ctx, analyst, own)
    edited = _as_foreign_model(data, own, name="Quy trình cấp phép (sửa trong Camunda)")
    edited = edited.replace('name="Thẩm định hồ sơ"'.encode(), f'name="{RENAMED}"'.encode())

    draft = studio.import_file(ctx, analyst, "quy-trinh-cap-phep.bpmn", edited)

    assert (draft.slug, draft.based_on_version, draft.latest_version) == (own, 1, 1)
    meta = draft.package["procedure"]
    assert draft.name == meta["name"] == "Thủ tục thử nghiệm"  # the procedure's name, not the diagram's label
    assert meta["deadline"] == {"value": 3, "unit": "working_days"} and meta["start_form"] == "de-nghi"
    assert studio.diff_draft(ctx, analyst, draft.id).tasks_renamed == {"tham_dinh": ("Thẩm định hồ sơ", RENAMED)}
    assert [r.slug for r in studio.list_procedures(ctx, analyst) if r.draft_id == draft.id] == [own]


def test_a_model_that_only_shares_a_published_procedures_name_becomes_a_new_procedure_under_a_free_slug(
        ctx, analyst, own):
    _name, data = studio.export_bpmn(ctx, analyst, own)
    stranger = _as_foreign_model(data, own, process_id=f"khac_{uuid.uuid4().hex[:8]}", name=own)
    another = _as_foreign_model(data, own, process_id=f"khac_{uuid.uuid4().hex[:8]}", name=own)

    first = studio.import_file(ctx, analyst, "a.bpmn", stranger)
    second = studio.import_file(ctx, analyst, "b.bpmn", another)

    assert (first.slug, first.based_on_version, first.latest_version) == (f"{own}-2", None, None)
    assert (second.slug, second.based_on_version) == (f"{own}-3", None)  # -2 is the first import's draft
    assert next(r for r in studio.list_procedures(ctx, analyst) if r.slug == own).draft_id is None
    assert studio.open_draft(ctx, analyst, own).package["procedure"]["name"] == "Thủ tục thử nghiệm"


def test_a_process_id_two_published_procedures_share_lands_on_neither(ctx, analyst):
    process_id = f"chung_{uuid.uuid4().hex[:8]}"
    slugs = [f"{prefix}-{process_id.replace('_', '-')}" for prefix in ("mot", "hai")]
    with transaction(ctx.sessions) as session:
        for slug in slugs:
            publish(session, linear(pid=process_id, slug=slug), published_by="test")
    _name, data = studio.export_bpmn(ctx, analyst, slugs[0])

    draft = studio.import_file(ctx, analyst, "chung.bpmn", data)

    assert draft.slug not in slugs and draft.based_on_version is None
    assert draft.slug == process_id.replace("_", "-")  # read off the process (its name is its id)


def test_a_new_procedures_import_takes_the_next_free_slug_when_another_import_took_its_slug_first(
        ctx, analyst, own, monkeypatch):
    _name, data = studio.export_bpmn(ctx, analyst, own)
    model = _as_foreign_model(data, own, process_id=f"khac_{uuid.uuid4().hex[:8]}", name=f"{own}-moi")
    taken = studio.import_file(ctx, analyst, "a.bpmn", model)
    assert taken.slug == f"{own}-moi"
    real_free_slug = studio_exchange._free_slug
    looked = []

    def looked_before_the_other_import_was_stored(session, slug):
        looked.append(slug)
        return slug if len(looked) == 1 else real_free_slug(session, slug)

    monkeypatch.setattr(studio_exchange, "_free_slug", looked_before_the_other_import_was_stored)
    second = studio.import_file(ctx, analyst, "b.bpmn", model)

    assert len(looked) == 2 and second.slug == f"{own}-moi-2"
    assert studio.get_draft(ctx, analyst, taken.id).slug == f"{own}-moi"


def test_a_zip_with_procedure_json_keeps_its_slug_even_when_a_published_procedure_runs_its_process(
        ctx, analyst, own):
    _name, data = studio.export_zip(ctx, analyst, own)
    slug = f"ban-sao-{uuid.uuid4().hex[:8]}"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name.replace(f"{own}/", f"{slug}/", 1): archive.read(name) for name in archive.namelist()}
    meta = json.loads(files[f"{slug}/procedure.json"])
    files[f"{slug}/procedure.json"] = json.dumps({**meta, "slug": slug, "name": "Bản sao"}).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)

    draft = studio.import_file(ctx, analyst, f"{slug}.zip", buffer.getvalue())

    assert (draft.slug, draft.name, draft.based_on_version) == (slug, "Bản sao", None)
    assert draft.package["procedure"]["process_id"] == own.replace("-", "_")
    assert next(r for r in studio.list_procedures(ctx, analyst) if r.slug == own).draft_id is None


def test_an_exported_zip_imports_back_to_the_same_package(ctx, analyst, own):
    name, data = studio.export_zip(ctx, analyst, own, version=1)
    assert name == f"{own}-v1.zip"
    draft = studio.import_file(ctx, analyst, name, data)
    with ctx.sessions() as session:
        published = session.get(ProcedureVersion, session.get(Procedure, draft_procedure_id(session, own))
                                 .latest_version_id).package
    assert draft.package == published
    with pytest.raises(InvalidInput) as caught:
        studio.publish_draft(ctx, analyst, draft.id)
    assert "publish" in caught.value.errors


def test_exports_of_unknown_versions_or_of_another_procedures_draft_are_not_found(ctx, analyst, own):
    with pytest.raises(NotFound):
        studio.export_bpmn(ctx, analyst, own, version=9)
    other = studio.open_draft(ctx, analyst, HKD)
    with pytest.raises(NotFound):
        studio.export_zip(ctx, analyst, own, draft_id=other.id)
    with pytest.raises(ProcedureNotFound):
        studio.export_zip(ctx, analyst, "khong-co-thu-tuc-nay")


def test_unreadable_uploads_are_refused_in_vietnamese(ctx, analyst):
    for filename, data in (("so-do.bpmn", b""), ("so-do.bpmn", b"<bpmn:definitions"), ("anh.png", b"\x89PNG")):
        with pytest.raises(InvalidInput) as caught:
            studio.import_file(ctx, analyst, filename, data)
        assert caught.value.errors["file"]


def test_a_test_run_runs_the_draft_in_memory_with_sample_data(ctx, analyst, own):
    draft = _renamed(ctx, analyst, studio.open_draft(ctx, analyst, own))
    sample = studio.sample_start_data(ctx, analyst, draft.id)
    assert isinstance(sample.get("noi_dung"), str)
    with ctx.sessions() as session:
        dossiers_before = session.scalar(select(func.count(Dossier.id)))
    waiting = studio.simulate_draft(ctx, analyst, draft.id, sample, [{"task": "tiep_nhan", "data": {"y_kien": "dat"}}])
    [task] = waiting.waiting
    assert (task.element_id, task.title, task.role, waiting.ended) == ("tham_dinh", RENAMED, "specialist", False)
    answers = [{"task": t, "data": {"y_kien": "dat"}} for t in ("tiep_nhan", "tham_dinh", "phe_duyet")]
    done = studio.simulate_draft(ctx, analyst, draft.id, sample, answers)
    assert done.ended and done.status == "returned" and done.error is None
    assert [s.element_id for s in done.path if s.element_id in ("tiep_nhan", "tham_dinh", "phe_duyet")] == \
        ["tiep_nhan", "tham_dinh", "phe_duyet"]
    with ctx.sessions() as session:
        assert session.scalar(select(func.count(Dossier.id))) == dossiers_before
    with pytest.raises(InvalidInput):
        studio.simulate_draft(ctx, analyst, draft.id, ["không phải đối tượng"], [])


def draft_procedure_id(session, slug: str) -> int:
    return session.scalar(select(Procedure.id).where(Procedure.slug == slug))
