"""Drafts: save a submission half-way, resume it, submit it, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcedureNotFound
from engine.models import Dossier
from engine.services import delete_draft, get_dossier, get_draft, list_drafts, save_draft, submit_draft
from engine.services import drafts as drafts_module
from tests.factories import APPLICANT, HKD, household_form

pytestmark = pytest.mark.usefixtures("workspace")


def dossier_count(ctx) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count(Dossier.id)))


def test_a_citizen_saves_a_half_filled_form_and_resumes_it_later(ctx, actors):
    partial = {"ten_ho_kinh_doanh": "Hộ kinh doanh Phở", "von_kinh_doanh": "chưa rõ"}  # not valid yet: fine

    saved = save_draft(ctx, actors["congdan"], HKD, partial, step=1)

    assert saved.procedure == HKD and saved.step == 1 and saved.data == partial
    assert saved.procedure_name.startswith("Đăng ký") and saved.created_at == saved.updated_at
    resumed = get_draft(ctx, actors["congdan"], saved.id)
    assert resumed.data == partial and resumed.step == 1
    updated = save_draft(ctx, actors["congdan"], None, {**partial, "so_lao_dong": 4}, step=2, draft_id=saved.id)
    assert (updated.id, updated.step, updated.data["so_lao_dong"]) == (saved.id, 2, 4)
    assert updated.updated_at >= saved.updated_at
    [listed] = list_drafts(ctx, actors["congdan"])
    assert listed.id == saved.id and listed.step == 2 and listed.data is None  # the list carries no data


def test_a_draft_may_be_started_by_the_procedures_national_code(ctx, actors):
    saved = save_draft(ctx, actors["tiepnhan"], "1.001612", {})

    assert saved.procedure == HKD


def test_drafts_are_listed_most_recent_first_and_only_to_their_owner(ctx, actors):
    first = save_draft(ctx, actors["congdan"], HKD, {"a": 1})
    second = save_draft(ctx, actors["congdan"], HKD, {"a": 2})
    desk = save_draft(ctx, actors["tiepnhan"], HKD, {"a": 3})
    save_draft(ctx, actors["congdan"], None, {"a": 11}, draft_id=first.id)

    assert [d.id for d in list_drafts(ctx, actors["congdan"])] == [first.id, second.id]
    assert [d.id for d in list_drafts(ctx, actors["tiepnhan"])] == [desk.id]
    with pytest.raises(NotFound) as hidden:
        get_draft(ctx, actors["tiepnhan"], first.id)
    assert hidden.value.message_vi == "Không tìm thấy bản nháp."
    with pytest.raises(NotFound):
        save_draft(ctx, actors["tiepnhan"], None, {"taken": True}, draft_id=first.id)
    with pytest.raises(NotFound):
        delete_draft(ctx, actors["tiepnhan"], first.id)
    with pytest.raises(NotFound):
        submit_draft(ctx, actors["tiepnhan"], first.id)
    assert get_draft(ctx, actors["congdan"], first.id).data == {"a": 11}


@pytest.mark.parametrize(("data", "step", "field"), [
    (["not", "an", "object"], 0, "data"),
    ({"big": "x" * (256 * 1024)}, 0, "data"),
    ({}, -1, "step"),
    ({}, 1.5, "step"),
    ({}, True, "step"),
])
def test_a_draft_must_be_a_json_object_of_at_most_256_kb_at_a_step_of_zero_or_more(ctx, actors, data, step, field):
    with pytest.raises(InvalidInput) as invalid:
        save_draft(ctx, actors["congdan"], HKD, data, step=step)

    assert list(invalid.value.errors) == [field]
    assert list_drafts(ctx, actors["congdan"]) == []


def test_a_draft_just_under_the_size_limit_is_kept(ctx, actors):
    data = {"note": "x" * (256 * 1024 - 20)}

    assert get_draft(ctx, actors["congdan"], save_draft(ctx, actors["congdan"], HKD, data).id).data == data


def test_a_draft_for_an_unknown_procedure_or_moved_to_another_one_is_refused(ctx, actors):
    with pytest.raises(ProcedureNotFound):
        save_draft(ctx, actors["congdan"], "khong-ton-tai", {})
    saved = save_draft(ctx, actors["congdan"], HKD, {})
    with pytest.raises(InvalidInput) as moved:
        save_draft(ctx, actors["congdan"], "chung-thuc-ban-sao", {}, draft_id=saved.id)
    assert "procedure" in moved.value.errors


@pytest.mark.parametrize("who", ["chuyenvien", "lanhdao", "phantich", "quantri"])
def test_only_citizens_and_the_desk_keep_drafts(ctx, actors, who):
    with pytest.raises(Forbidden) as refused:
        save_draft(ctx, actors[who], HKD, {})

    assert refused.value.message_vi == "Chỉ công dân và bộ phận một cửa lưu được bản nháp hồ sơ."


def test_a_person_keeps_a_bounded_number_of_drafts(ctx, actors, monkeypatch):
    monkeypatch.setattr(drafts_module, "MAX_DRAFTS", 2)
    save_draft(ctx, actors["congdan"], HKD, {})
    save_draft(ctx, actors["congdan"], HKD, {})

    with pytest.raises(Conflict) as full:
        save_draft(ctx, actors["congdan"], HKD, {})

    assert "bản nháp" in full.value.message_vi
    assert len(list_drafts(ctx, actors["congdan"])) == 2


def test_submitting_a_complete_draft_creates_the_dossier_and_deletes_the_draft(ctx, actors):
    saved = save_draft(ctx, actors["congdan"], HKD, household_form(), step=3)  # the profile is the applicant

    dossier = submit_draft(ctx, actors["congdan"], saved.id)

    assert dossier.status == "submitted" and dossier.channel == "online"
    assert get_dossier(ctx, actors["congdan"], dossier.code).applicant_name == actors["congdan"].full_name
    assert list_drafts(ctx, actors["congdan"]) == []
    with pytest.raises(NotFound):
        submit_draft(ctx, actors["congdan"], saved.id)  # never submitted twice
    assert dossier_count(ctx) == 1


def test_the_desk_submits_a_walk_in_draft_with_the_applicant_it_saved(ctx, actors):
    saved = save_draft(ctx, actors["tiepnhan"], HKD, {**household_form(), "applicant": dict(APPLICANT)})

    dossier = submit_draft(ctx, actors["tiepnhan"], saved.id)

    assert dossier.channel == "desk" and dossier.applicant_name == APPLICANT["name"]
    assert list_drafts(ctx, actors["tiepnhan"]) == []


def test_an_invalid_draft_stays_a_draft_and_the_errors_come_back(ctx, actors):
    data = household_form()
    del data["ten_ho_kinh_doanh"]
    saved = save_draft(ctx, actors["congdan"], HKD, data, step=2)

    with pytest.raises(InvalidInput) as invalid:
        submit_draft(ctx, actors["congdan"], saved.id)

    assert any("ten_ho_kinh_doanh" in key for key in invalid.value.errors)
    assert get_draft(ctx, actors["congdan"], saved.id).data == data
    assert dossier_count(ctx) == 0


@pytest.mark.parametrize("applicant", [None, "Nguyễn Văn A", {"name": 42, "phone": ["0912345678"]}])
def test_a_desk_draft_without_a_usable_applicant_is_refused_with_field_errors(ctx, actors, applicant):
    data = household_form()
    if applicant is not None:
        data["applicant"] = applicant
    saved = save_draft(ctx, actors["tiepnhan"], HKD, data)

    with pytest.raises(InvalidInput) as invalid:
        submit_draft(ctx, actors["tiepnhan"], saved.id)

    assert "applicant.name" in invalid.value.errors
    assert len(list_drafts(ctx, actors["tiepnhan"])) == 1


def test_a_deleted_draft_is_gone(ctx, actors):
    saved = save_draft(ctx, actors["congdan"], HKD, {})

    delete_draft(ctx, actors["congdan"], saved.id)

    assert list_drafts(ctx, actors["congdan"]) == []
    with pytest.raises(NotFound):
        delete_draft(ctx, actors["congdan"], saved.id)
