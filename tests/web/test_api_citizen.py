"""REST API for citizens beyond submission: satisfaction ratings and drafts, on SQLite and PostgreSQL.

Every response goes through `api`, which checks it against the OpenAPI document.
"""

from __future__ import annotations

import pytest

from tests.factories import APPLICANT, household_form
from tests.web.conftest import HKD_CODE, HKD_SLUG


def refused_at_reception(api, user: str = "congdan", applicant=None) -> str:
    code = api.submit(user=user, applicant=applicant)["code"]
    api.work("tiepnhan", code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})
    return code


# --- ratings --------------------------------------------------------------------------------------


def test_the_owner_rates_over_http_and_the_dossier_shows_the_rating(api):
    code = refused_at_reception(api)
    assert api.dossier(code)["rating_open"] is True

    response = api.post(f"/api/v1/dossiers/{code}/rating", user="congdan",
                        json={"score": 4, "comment": "Hướng dẫn rõ ràng"})

    assert response.status_code == 201
    assert response.get_json()["dossier_code"] == code and response.get_json()["score"] == 4
    dossier = api.dossier(code)
    assert dossier["rating"]["score"] == 4 and dossier["rating"]["comment"] == "Hướng dẫn rõ ràng"
    assert dossier["rating_open"] is False
    again = api.post(f"/api/v1/dossiers/{code}/rating", user="congdan", json={"score": 5})
    assert again.status_code == 409 and again.get_json()["message"] == "Hồ sơ đã được đánh giá."


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "score"), ({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "5"}, "score"),
    ({"score": 4.5}, "score"), ({"score": 3, "comment": "x" * 1001}, "comment"), ({"score": 3, "extra": 1}, "extra"),
])
def test_bad_rating_input_is_a_400_naming_the_field(api, payload, field):
    code = refused_at_reception(api)

    response = api.post(f"/api/v1/dossiers/{code}/rating", user="congdan", json=payload)

    assert response.status_code == 400 and field in response.get_json()["fields"]
    assert api.dossier(code)["rating"] is None


def test_rating_before_the_result_is_a_409_and_an_official_gets_a_403(api):
    code = api.submit()["code"]

    early = api.post(f"/api/v1/dossiers/{code}/rating", user="congdan", json={"score": 5})
    official = api.post(f"/api/v1/dossiers/{code}/rating", user="tiepnhan", json={"score": 5})
    stranger = api.post(f"/api/v1/dossiers/{code}/rating", user="congdan2", json={"score": 1})

    assert early.status_code == 409 and "kết quả" in early.get_json()["message"]
    assert official.status_code == 403
    assert stranger.status_code == 404


def test_a_walk_in_applicant_rates_with_the_tracking_proof_without_an_account(api):
    code = refused_at_reception(api, user="tiepnhan", applicant=dict(APPLICANT))

    wrong = api.post(f"/api/v1/tracking/{code}/rating", json={"score": 5, "secret": "0900000000"})
    response = api.post(f"/api/v1/tracking/{code}/rating", json={"score": 5, "secret": APPLICANT["id_number"]})

    assert wrong.status_code == 404
    assert wrong.get_json()["message"] == "Không tìm thấy hồ sơ với mã và thông tin đã nhập."
    assert response.status_code == 201 and response.get_json()["score"] == 5
    tracked = api.get(f"/api/v1/track/{code}", query_string={"secret": APPLICANT["phone"]}).get_json()
    assert tracked["rating"]["score"] == 5 and tracked["rating_open"] is False


def test_the_public_rating_of_an_online_dossier_asks_to_log_in_and_needs_a_proof(api):
    code = refused_at_reception(api)

    online = api.post(f"/api/v1/tracking/{code}/rating", json={"score": 5, "secret": APPLICANT["phone"]})
    missing = api.post(f"/api/v1/tracking/{code}/rating", json={"score": 5})

    assert online.status_code == 403 and "đăng nhập" in online.get_json()["message"]
    assert missing.status_code == 400 and "secret" in missing.get_json()["fields"]


# --- drafts ---------------------------------------------------------------------------------------


def test_a_draft_is_saved_resumed_updated_listed_and_deleted(api):
    created = api.post("/api/v1/drafts", user="congdan",
                       json={"procedure": HKD_CODE, "step": 1, "data": {"ten_ho_kinh_doanh": "Phở"}})
    assert created.status_code == 201
    draft = created.get_json()
    assert draft["procedure"] == HKD_SLUG and draft["data"] == {"ten_ho_kinh_doanh": "Phở"}

    updated = api.call("PUT", f"/api/v1/drafts/{draft['id']}", user="congdan",
                       json={"step": 2, "data": {"ten_ho_kinh_doanh": "Phở Hương"}})
    assert updated.status_code == 200 and updated.get_json()["step"] == 2
    listed = api.get("/api/v1/drafts", user="congdan").get_json()
    assert [d["id"] for d in listed] == [draft["id"]] and "data" not in listed[0]
    assert api.get(f"/api/v1/drafts/{draft['id']}", user="congdan").get_json()["data"] == {
        "ten_ho_kinh_doanh": "Phở Hương"}
    assert api.get(f"/api/v1/drafts/{draft['id']}", user="congdan2").status_code == 404
    assert api.get("/api/v1/drafts", user="congdan2").get_json() == []
    assert api.call("DELETE", f"/api/v1/drafts/{draft['id']}", user="congdan").status_code == 204
    assert api.get(f"/api/v1/drafts/{draft['id']}", user="congdan").status_code == 404


@pytest.mark.parametrize(("payload", "field"), [
    ({"step": 0, "data": {}}, "procedure"), ({"procedure": HKD_CODE, "step": -1}, "step"),
    ({"procedure": HKD_CODE, "data": [1, 2]}, "data"), ({"procedure": HKD_CODE, "data": {"x": "y" * 262144}}, "data"),
    ({"procedure": HKD_CODE, "owner_id": 1}, "owner_id"),
])
def test_bad_draft_input_is_a_400_naming_the_field(api, payload, field):
    response = api.post("/api/v1/drafts", user="congdan", json=payload)

    assert response.status_code == 400 and field in response.get_json()["fields"]


def test_drafts_are_for_citizens_and_the_desk_and_unknown_procedures_are_404(api):
    assert api.post("/api/v1/drafts", user="chuyenvien", json={"procedure": HKD_CODE}).status_code == 403
    assert api.post("/api/v1/drafts", user="congdan", json={"procedure": "khong-co"}).status_code == 404


def test_submitting_a_draft_creates_the_dossier_or_returns_the_errors_and_keeps_it(api):
    incomplete = household_form()
    del incomplete["ten_ho_kinh_doanh"]
    bad = api.post("/api/v1/drafts", user="congdan", json={"procedure": HKD_CODE, "data": incomplete}).get_json()
    good = api.post("/api/v1/drafts", user="congdan", json={"procedure": HKD_CODE, "data": household_form()})

    refused = api.post(f"/api/v1/drafts/{bad['id']}/submit", user="congdan")
    submitted = api.post(f"/api/v1/drafts/{good.get_json()['id']}/submit", user="congdan")

    assert refused.status_code == 400 and any("ten_ho_kinh_doanh" in f for f in refused.get_json()["fields"])
    assert submitted.status_code == 201 and submitted.get_json()["status"] == "submitted"
    assert [d["id"] for d in api.get("/api/v1/drafts", user="congdan").get_json()] == [bad["id"]]
    assert api.dossier(submitted.get_json()["code"])["channel"] == "online"
    assert api.post(f"/api/v1/drafts/{good.get_json()['id']}/submit", user="congdan").status_code == 404
