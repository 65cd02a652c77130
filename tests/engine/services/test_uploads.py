"""Uploads: stored in the file store, linked to the new dossier in the transaction creating it, or to a
supplement in the transaction completing the applicant's answer: all of it or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, InvalidInput, NotFound, TaskNotFound
from engine.models import Dossier
from engine.services import (
    Actor,
    get_dossier,
    get_draft,
    get_task,
    list_attachments,
    read_attachment,
    save_draft,
)
from engine.services.uploads import MAX_FILES, StoredFile, complete_with_files, store_file, submit_with_files
from tests.factories import APPLICANT, HKD, household_form, open_task, work

pytestmark = pytest.mark.usefixtures("workspace")

PDF = b"%PDF-1.4\n% giay de nghi\n%%EOF\n"
STRANGER = Actor(999999, "nguoi_la", "Người Lạ", "citizen")


def dossier_count(ctx) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count(Dossier.id)))


def test_a_dossier_is_created_with_its_uploaded_files_and_the_draft_is_gone(ctx, actors):
    citizen = actors["congdan"]
    draft = save_draft(ctx, citizen, HKD, household_form(), step=2)
    file = store_file(ctx, PDF, "giay-de-nghi.pdf", "application/pdf")

    view = submit_with_files(ctx, citizen, HKD, dict(APPLICANT), household_form(), [file], draft_id=draft.id)

    [attachment] = [a for a in list_attachments(ctx, citizen, view.code) if a.kind == "upload"]
    assert (attachment.filename, attachment.content_type, attachment.size) == ("giay-de-nghi.pdf", "application/pdf",
                                                                              len(PDF))
    assert read_attachment(ctx, citizen, view.code, attachment.id)[1] == PDF
    with pytest.raises(NotFound):
        get_draft(ctx, citizen, draft.id)


def test_a_file_the_store_never_issued_is_refused_and_nothing_is_submitted(ctx, actors):
    forged = StoredFile("ab" * 32, "x.pdf", "application/pdf", 10)

    with pytest.raises(InvalidInput):
        submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [forged])

    assert dossier_count(ctx) == 0


def test_another_citizens_draft_cannot_be_submitted(ctx, actors):
    draft = save_draft(ctx, actors["congdan"], HKD, household_form())

    with pytest.raises(NotFound):
        submit_with_files(ctx, STRANGER, HKD, dict(APPLICANT), household_form(), [], draft_id=draft.id)

    assert dossier_count(ctx) == 0 and get_draft(ctx, actors["congdan"], draft.id)


# --- a supplement: the answer and its files together -------------------------------------------------

ASKED = {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao CCCD"]}
ANSWER = {"noi_dung_bo_sung": "Đã bổ sung bản sao CCCD", "rut_ho_so": False}


def asked_for_a_supplement(ctx, actors) -> tuple[str, str]:
    """A dossier the desk sent back for one more document: (its code, the applicant's task id)."""
    view = submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [])
    work(ctx, actors["tiepnhan"], view.code, ASKED)
    task = open_task(ctx, actors["congdan"], view.code)
    assert task.bpmn_id == "bo_sung_ho_so"
    return view.code, task.id


def uploads_of(ctx, actor, code: str) -> list[str]:
    return [a.filename for a in list_attachments(ctx, actor, code) if a.kind == "upload"]


def test_the_answer_to_a_supplement_request_completes_the_step_and_links_its_files(ctx, actors):
    code, task_id = asked_for_a_supplement(ctx, actors)
    file = store_file(ctx, PDF, "cccd.pdf", "application/pdf")

    done = complete_with_files(ctx, actors["congdan"], task_id, ANSWER, [file])

    assert done.state == "done" and uploads_of(ctx, actors["congdan"], code) == ["cccd.pdf"]
    assert open_task(ctx, actors["tiepnhan"], code).bpmn_id == "tiep_nhan"


def test_a_refused_answer_links_none_of_the_files_that_came_with_it(ctx, actors):
    code, task_id = asked_for_a_supplement(ctx, actors)
    file = store_file(ctx, PDF, "cccd.pdf", "application/pdf")

    with pytest.raises(InvalidInput):  # the form asks what was supplemented
        complete_with_files(ctx, actors["congdan"], task_id, {"rut_ho_so": False}, [file])

    assert uploads_of(ctx, actors["congdan"], code) == []
    assert get_task(ctx, actors["congdan"], task_id).state == "open"


def test_a_refused_file_leaves_the_step_open_and_links_no_other_file(ctx, actors):
    code, task_id = asked_for_a_supplement(ctx, actors)
    good = store_file(ctx, PDF, "cccd.pdf", "application/pdf")
    forged = StoredFile("ab" * 32, "x.pdf", "application/pdf", 10)

    with pytest.raises(InvalidInput):
        complete_with_files(ctx, actors["congdan"], task_id, ANSWER, [good, forged])

    assert uploads_of(ctx, actors["congdan"], code) == []
    assert get_task(ctx, actors["congdan"], task_id).state == "open"
    assert get_dossier(ctx, actors["congdan"], code).status == "supplement_requested"
    with pytest.raises(InvalidInput):
        complete_with_files(ctx, actors["congdan"], task_id, ANSWER, [good] * (MAX_FILES + 1))
    assert get_task(ctx, actors["congdan"], task_id).state == "open"


def test_only_the_applicant_answers_with_files_and_only_on_their_own_step(ctx, actors):
    code, task_id = asked_for_a_supplement(ctx, actors)
    file = store_file(ctx, PDF, "bo-sung.pdf", "application/pdf")

    with pytest.raises(TaskNotFound):
        complete_with_files(ctx, STRANGER, task_id, ANSWER, [file])
    complete_with_files(ctx, actors["congdan"], task_id, ANSWER, [file])
    desk_task = open_task(ctx, actors["tiepnhan"], code)
    with pytest.raises(Forbidden):  # an official's file would read as the applicant's
        complete_with_files(ctx, actors["tiepnhan"], desk_task.id, {"ket_qua_tiep_nhan": "tiep_nhan"}, [file])

    assert get_task(ctx, actors["tiepnhan"], desk_task.id).state == "open"
    assert uploads_of(ctx, actors["congdan"], code) == ["bo-sung.pdf"]
