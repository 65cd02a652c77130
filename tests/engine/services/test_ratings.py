"""Satisfaction ratings: the applicant rates a dossier with its outcome, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, DossierNotFound, Forbidden, InvalidInput
from engine.services import Actor, get_dossier, rate_dossier, track_dossier
from tests.engine.services.workspace import refuse_at_reception, to_result
from tests.factories import APPLICANT, statements_sent, submit, work

pytestmark = pytest.mark.usefixtures("workspace")


def test_the_owner_rates_a_dossier_with_its_result_and_the_dossier_shows_the_rating(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    to_result(ctx, actors, dossier.code)
    assert get_dossier(ctx, actors["congdan"], dossier.code).rating_open is True

    rating = rate_dossier(ctx, actors["congdan"], dossier.code, 5, "  Cán bộ hướng dẫn tận tình  ")

    assert (rating.dossier_code, rating.score, rating.comment) == (dossier.code, 5, "Cán bộ hướng dẫn tận tình")
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    assert view.rating["score"] == 5 and view.rating["comment"] == "Cán bộ hướng dẫn tận tình"
    assert view.rating_open is False
    [event] = [e for e in view.history if e["kind"] == "rated"]
    assert event["actor"] == actors["congdan"].full_name
    # the applicant's free text stays out of the audit trail
    assert event["data"] == {"score": 5, "comment": True}
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).rating["score"] == 5


def test_a_returned_result_and_a_refusal_can_be_rated_too(ctx, actors):
    refused = submit(ctx, actors["congdan"])
    refuse_at_reception(ctx, actors, refused.code)
    returned = submit(ctx, actors["congdan"])
    to_result(ctx, actors, returned.code)
    work(ctx, actors["tiepnhan"], returned.code, {"hinh_thuc_tra": "truc_tiep"})

    assert rate_dossier(ctx, actors["congdan"], refused.code, 1).comment is None
    assert rate_dossier(ctx, actors["congdan"], returned.code, 4, "").score == 4


def test_a_dossier_still_in_processing_cannot_be_rated(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})

    with pytest.raises(Conflict) as refused:
        rate_dossier(ctx, actors["congdan"], dossier.code, 5)

    assert refused.value.message_vi == "Chỉ đánh giá được khi hồ sơ đã có kết quả giải quyết."
    assert get_dossier(ctx, actors["congdan"], dossier.code).rating is None


def test_a_dossier_is_rated_only_once(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    refuse_at_reception(ctx, actors, dossier.code)
    rate_dossier(ctx, actors["congdan"], dossier.code, 2, "Chờ lâu")

    with pytest.raises(Conflict) as again:
        rate_dossier(ctx, actors["congdan"], dossier.code, 5)

    assert again.value.message_vi == "Hồ sơ đã được đánh giá."
    assert get_dossier(ctx, actors["congdan"], dossier.code).rating["score"] == 2


@pytest.mark.parametrize(("score", "comment", "field"), [
    (0, None, "score"), (6, None, "score"), (True, None, "score"), ("5", None, "score"), (4.5, None, "score"),
    (3, "x" * 1001, "comment"), (3, 42, "comment"),
])
def test_a_score_outside_1_to_5_or_a_long_comment_is_a_field_error(ctx, actors, score, comment, field):
    dossier = submit(ctx, actors["congdan"])
    refuse_at_reception(ctx, actors, dossier.code)

    with pytest.raises(InvalidInput) as invalid:
        rate_dossier(ctx, actors["congdan"], dossier.code, score, comment)

    assert list(invalid.value.errors) == [field]
    assert get_dossier(ctx, actors["congdan"], dossier.code).rating is None


def test_another_citizen_cannot_rate_and_learns_nothing_about_the_dossier(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    refuse_at_reception(ctx, actors, dossier.code)
    stranger = Actor(999999, "nguoi_la", "Người Lạ", "citizen")

    with pytest.raises(DossierNotFound):
        rate_dossier(ctx, stranger, dossier.code, 1)
    with pytest.raises(DossierNotFound):
        rate_dossier(ctx, actors["congdan"], dossier.code[:-4] + "9999", 5)


@pytest.mark.parametrize("official", ["tiepnhan", "chuyenvien", "lanhdao", "quantri"])
def test_officials_never_rate_the_service_they_gave(ctx, actors, official):
    dossier = submit(ctx, actors["tiepnhan"])
    refuse_at_reception(ctx, actors, dossier.code)

    with pytest.raises(Forbidden) as refused:
        rate_dossier(ctx, actors[official], dossier.code, 5, proof=APPLICANT["phone"])

    assert refused.value.message_vi == "Cán bộ không đánh giá thay người nộp hồ sơ."


@pytest.mark.parametrize("proof", [APPLICANT["phone"], APPLICANT["id_number"], "+84 912 345 678"])
def test_a_desk_dossier_is_rated_by_whoever_presents_the_tracking_proof(ctx, actors, proof):
    dossier = submit(ctx, actors["tiepnhan"])  # walk-in: no account owns it
    refuse_at_reception(ctx, actors, dossier.code)

    rating = rate_dossier(ctx, None, dossier.code, 4, "Nhanh", proof=proof)

    assert rating.score == 4
    tracked = track_dossier(ctx, dossier.code, APPLICANT["phone"])
    assert tracked.rating["score"] == 4 and tracked.rating_open is False
    [event] = [e for e in get_dossier(ctx, actors["tiepnhan"], dossier.code).history if e["kind"] == "rated"]
    assert event["actor"].startswith("Người nộp hồ sơ")


@pytest.mark.parametrize("proof", ["0900000000", "001090000002", "", "xxxx", "Số điện thoại ☎"])
def test_a_wrong_proof_gets_the_same_answer_as_an_unknown_code(ctx, actors, proof):
    dossier = submit(ctx, actors["tiepnhan"])
    refuse_at_reception(ctx, actors, dossier.code)

    with pytest.raises(DossierNotFound) as wrong:
        rate_dossier(ctx, None, dossier.code, 5, proof=proof)
    with pytest.raises(DossierNotFound) as unknown:
        rate_dossier(ctx, None, dossier.code[:-4] + "9999", 5, proof=APPLICANT["phone"])

    assert wrong.value.message_vi == unknown.value.message_vi == "Không tìm thấy hồ sơ với mã và thông tin đã nhập."
    assert track_dossier(ctx, dossier.code, APPLICANT["phone"]).rating is None


def test_an_online_dossier_is_rated_from_its_account_not_with_the_proof(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    refuse_at_reception(ctx, actors, dossier.code)

    with pytest.raises(Forbidden) as refused:
        rate_dossier(ctx, None, dossier.code, 5, proof=APPLICANT["phone"])

    assert "đăng nhập" in refused.value.message_vi
    assert track_dossier(ctx, dossier.code, APPLICANT["phone"]).rating_open is True


def test_public_tracking_reads_the_dossier_with_its_rating_in_one_statement(ctx, actors):
    dossier = submit(ctx, actors["tiepnhan"])
    refuse_at_reception(ctx, actors, dossier.code)
    rate_dossier(ctx, None, dossier.code, 3, proof=APPLICANT["phone"])
    with statements_sent(ctx) as statements:
        tracked = track_dossier(ctx, dossier.code, APPLICANT["phone"])
        with pytest.raises(DossierNotFound):
            track_dossier(ctx, dossier.code, "0900000000")

    assert tracked.rating["score"] == 3 and tracked.code == dossier.code
    assert len(statements) == 2, "one statement a lookup, the wrong proof's included"


def test_public_tracking_shows_whether_the_dossier_awaits_a_rating(ctx, actors):
    dossier = submit(ctx, actors["tiepnhan"])
    assert track_dossier(ctx, dossier.code, APPLICANT["phone"]).rating_open is False
    refuse_at_reception(ctx, actors, dossier.code)
    assert track_dossier(ctx, dossier.code, APPLICANT["phone"]).rating_open is True
