"""Uploads: stored in the file store, linked to the new dossier (or a supplement) in one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DossierNotFound, InvalidInput, NotFound
from engine.models import Dossier
from engine.services import Actor, get_draft, list_attachments, read_attachment, save_draft
from engine.services.uploads import StoredFile, attach_files, store_file, submit_with_files
from tests.factories import APPLICANT, HKD, household_form

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


def test_supplementary_files_go_only_to_a_dossier_the_actor_may_read(ctx, actors):
    view = submit_with_files(ctx, actors["congdan"], HKD, dict(APPLICANT), household_form(), [])
    file = store_file(ctx, PDF, "bo-sung.pdf", "application/pdf")

    with pytest.raises(DossierNotFound):
        attach_files(ctx, STRANGER, view.code, [file])
    attach_files(ctx, actors["congdan"], view.code, [file])

    assert [a.filename for a in list_attachments(ctx, actors["congdan"], view.code)
            if a.kind == "upload"] == ["bo-sung.pdf"]
