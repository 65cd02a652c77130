"""REST API v1 over HTTP (Flask test client) on SQLite and PostgreSQL.

Every response goes through `api`, which fails the test unless its status code is documented
for the operation and its JSON body fits the documented schema.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from engine.calendar import VN_TZ
from engine.outbox import drain
from tests.factories import APPLICANT, household_form
from tests.web.conftest import AGENCY, HKD_CODE, HKD_SLUG

CODE = re.compile(r"^000\.00\.21\.H99-(\d{6})-(\d{4})$")
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.IGNORECASE)
TRACK_KEYS = {"code", "procedure_name", "status", "status_label", "due_at", "milestones", "rating",
              "rating_open"}


def is_vietnamese(text: str) -> bool:
    return bool(VIETNAMESE.search(text))


def valid_submission(**changes):
    body = {"procedure": HKD_CODE, "applicant": dict(APPLICANT), "data": household_form()}
    body.update(changes)
    return body


# --- tokens ---------------------------------------------------------------------------------------


def test_a_correct_password_returns_a_bearer_token_that_opens_the_inbox(api):
    response = api.post("/api/v1/auth/token", json={"username": "tiepnhan", "password": "demo"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["token"] and body["token_type"] == "Bearer" and body["role"] == "desk"
    inbox = api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {body['token']}"})
    assert inbox.status_code == 200


def test_a_wrong_password_is_refused_with_a_401_and_a_vietnamese_message(api):
    response = api.post("/api/v1/auth/token", json={"username": "tiepnhan", "password": "sai-mat-khau"})

    assert response.status_code == 401
    body = response.get_json()
    assert "token" not in body
    assert body["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(api):
    response = api.post("/api/v1/auth/token", json={"username": "khong-co-ai", "password": "demo"})

    assert response.status_code == 401
    assert response.get_json()["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."


def test_a_token_request_without_a_password_is_a_400_naming_the_field(api):
    response = api.post("/api/v1/auth/token", json={"username": "tiepnhan"})

    assert response.status_code == 400
    assert "password" in response.get_json()["fields"]


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer garbage-token", "Basic dGllcG5oYW46ZGVtbw==", "garbage"])
def test_calls_without_a_valid_bearer_token_are_refused_with_a_401(api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = api.get("/api/v1/tasks", headers=headers)

    assert response.status_code == 401
    assert is_vietnamese(response.get_json()["message"])


# --- the catalogue --------------------------------------------------------------------------------


def test_the_catalogue_lists_each_procedure_with_code_name_level_deadline_and_fee(api):
    response = api.get("/api/v1/procedures")

    assert response.status_code == 200
    [hkd] = [p for p in response.get_json() if p["slug"] == HKD_SLUG]
    assert hkd["code"] == HKD_CODE
    assert hkd["name"] == "Đăng ký thành lập hộ kinh doanh"
    assert hkd["level"] == "xa"
    assert hkd["deadline"] == {"value": 3, "unit": "working_days"}
    assert hkd["fee"] == 100000
    assert "start_form" not in hkd


@pytest.mark.parametrize("key", [HKD_CODE, HKD_SLUG])
def test_a_procedure_is_found_by_its_ma_tthc_or_its_slug_with_its_start_form(api, key):
    response = api.get(f"/api/v1/procedures/{key}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == HKD_CODE and body["slug"] == HKD_SLUG
    form = body["start_form"]
    assert form["schema"]["type"] == "object"
    assert form["schema"]["title"] == "Giấy đề nghị đăng ký hộ kinh doanh"
    assert "von_kinh_doanh" in form["schema"]["properties"]
    assert form["ui_schema"]["ui:order"][0] == "chu_ho"
    assert body["required_documents"] and body["fees"]


def test_an_unknown_procedure_is_a_404_with_a_vietnamese_message(api):
    response = api.get("/api/v1/procedures/9.999999")

    assert response.status_code == 404
    assert response.get_json()["message"] == "Không tìm thấy thủ tục hành chính."


# --- submitting -----------------------------------------------------------------------------------


def test_a_citizen_submits_a_dossier_and_gets_its_code_status_and_due_date(api):
    before = datetime.now(VN_TZ)
    first = api.post("/api/v1/dossiers", user="congdan", json=valid_submission())
    second = api.post("/api/v1/dossiers", user="congdan", json=valid_submission(procedure=HKD_SLUG))
    after = datetime.now(VN_TZ)

    assert first.status_code == second.status_code == 201
    body = first.get_json()
    day, number = CODE.match(body["code"]).groups()
    assert day in {before.strftime("%y%m%d"), after.strftime("%y%m%d")}
    assert number == "0001"
    assert CODE.match(second.get_json()["code"]).group(2) == "0002"
    assert body["status"] == "submitted" and body["status_label"] == "Mới đăng ký"
    assert body["portal_status"] == 1 and body["channel"] == "online"
    assert "due_at" in body and body["due_at"] is None  # the legal clock starts when the desk receives it
    assert [m["text"] for m in body["milestones"]] == ["Đã nộp hồ sơ"]
    assert body["agency_code"] == AGENCY and body["procedure_code"] == HKD_CODE


def test_an_anonymous_submission_is_a_401(api):
    response = api.post("/api/v1/dossiers", json=valid_submission())

    assert response.status_code == 401


BAD_SUBMISSIONS = [
    pytest.param({"json": valid_submission(priority="cao")}, "priority", id="unknown-top-level-field"),
    pytest.param({"json": valid_submission(applicant={"phone": "0912345678"})}, "applicant.name",
                 id="missing-applicant-name"),
    pytest.param({"json": valid_submission(applicant=dict(APPLICANT, name="   "))}, "applicant.name",
                 id="blank-applicant-name"),
    pytest.param({"json": valid_submission(applicant=dict(APPLICANT, name=""))}, "applicant.name",
                 id="empty-applicant-name"),
    pytest.param({"json": valid_submission(applicant=dict(APPLICANT, kind=3))}, "applicant.kind",
                 id="applicant-kind-out-of-range"),
    pytest.param({"json": valid_submission(applicant=dict(APPLICANT, phone=None, id_number=None))},
                 "applicant.phone", id="no-way-to-track"),
    pytest.param({"json": valid_submission(applicant=dict(APPLICANT, email="khong-phai-email"))},
                 "applicant.email", id="invalid-applicant-email"),
    pytest.param({"json": valid_submission(data=household_form(von_kinh_doanh=-1))}, "von_kinh_doanh",
                 id="negative-capital"),
    pytest.param({"json": valid_submission(data=household_form(ten_ho_kinh_doanh="Công ty ABC"))},
                 "ten_ho_kinh_doanh", id="invalid-business-name"),
    pytest.param({"json": valid_submission(data=["not", "an", "object"])}, "data", id="data-is-an-array"),
    pytest.param({"json": valid_submission(procedure=None)}, "procedure", id="null-procedure"),
    pytest.param({"data": "{not json", "content_type": "application/json"}, None, id="non-json-body"),
    pytest.param({"data": "procedure=1.001612", "content_type": "application/x-www-form-urlencoded"}, None,
                 id="form-encoded-body"),
    pytest.param({"json": [valid_submission()]}, None, id="json-array-body"),
    pytest.param({"json": "1.001612"}, None, id="json-string-body"),
]


@pytest.mark.parametrize(("request_kwargs", "field"), BAD_SUBMISSIONS)
def test_bad_submissions_are_a_400_with_vietnamese_field_messages(api, request_kwargs, field):
    response = api.post("/api/v1/dossiers", user="congdan", **request_kwargs)

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "InvalidInput"
    assert body["fields"], "a 400 names what is wrong"
    if field is not None:
        assert field in body["fields"], body["fields"]
    for messages in body["fields"].values():
        assert messages and all(is_vietnamese(m) for m in messages), body["fields"]


def test_rejected_submissions_leave_no_dossier_and_use_no_code_number(api):
    for kwargs, _field in [p.values for p in BAD_SUBMISSIONS if not p.marks]:
        assert api.post("/api/v1/dossiers", user="congdan", **kwargs).status_code == 400

    created = api.submit()

    assert created["code"].endswith("-0001")


def test_an_unknown_procedure_in_a_submission_is_a_404(api):
    response = api.post("/api/v1/dossiers", user="congdan", json=valid_submission(procedure="9.999999"))

    assert response.status_code == 404


def test_an_analyst_cannot_submit_a_dossier(api):
    response = api.post("/api/v1/dossiers", user="phantich", json=valid_submission())

    assert response.status_code == 403


# --- reading a dossier ----------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["congdan", "tiepnhan", "chuyenvien", "lanhdao"])
def test_the_owner_and_staff_of_the_agency_read_status_milestones_and_history(api, reader):
    code = api.submit()["code"]

    body = api.dossier(code, user=reader)

    assert body["code"] == code
    assert body["status"] == "submitted" and body["status_label"] == "Mới đăng ký"
    assert [m["text"] for m in body["milestones"]] == ["Đã nộp hồ sơ"]
    kinds = [event["kind"] for event in body["history"]]
    assert kinds[0] == "submitted" and "task_opened" in kinds
    assert [event["seq"] for event in body["history"]] == sorted(event["seq"] for event in body["history"])
    assert body["history"][0]["actor"] == "Phạm Thị Công Dân"


@pytest.mark.parametrize("reader", ["congdan2", "tiepnhan_ca", "phantich"])
def test_another_citizen_or_staff_elsewhere_get_a_404_as_if_the_dossier_did_not_exist(api, reader):
    code = api.submit()["code"]

    response = api.get(f"/api/v1/dossiers/{code}", user=reader)
    missing = api.get(f"/api/v1/dossiers/{code[:-4]}9999", user=reader)

    assert response.status_code == missing.status_code == 404
    assert response.get_json() == missing.get_json()
    assert "Phạm Thị Công Dân" not in response.get_data(as_text=True)


def test_reading_a_dossier_anonymously_is_a_401(api):
    code = api.submit()["code"]

    response = api.get(f"/api/v1/dossiers/{code}")

    assert response.status_code == 401
    assert code not in response.get_data(as_text=True)


# --- tasks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "sees_it"), [
    ("tiepnhan", True), ("tiepnhan2", True), ("tiepnhan_ca", False), ("chuyenvien", False), ("lanhdao", False),
    ("congdan", False), ("phantich", False)])
def test_the_inbox_holds_the_open_tasks_of_the_callers_role_and_agency(api, user, sees_it):
    code = api.submit()["code"]

    response = api.get("/api/v1/tasks", user=user)

    assert response.status_code == 200
    mine = [t for t in response.get_json() if t["dossier_code"] == code]
    if sees_it:
        [task] = mine
        assert task["title"] == "Tiếp nhận và kiểm tra hồ sơ" and task["bpmn_id"] == "tiep_nhan"
        assert task["role"] == "desk" and task["agency_code"] == AGENCY and task["state"] == "open"
        assert task["applicant_name"] == "Phạm Thị Công Dân" and task["assignee_id"] is None
    else:
        assert mine == []


def test_the_inbox_refuses_a_limit_outside_its_bounds(api):
    assert api.get("/api/v1/tasks?limit=0", user="tiepnhan").status_code == 400
    assert api.get("/api/v1/tasks?limit=abc", user="tiepnhan").status_code == 400
    assert api.get("/api/v1/tasks?limit=1", user="tiepnhan").status_code == 200


def test_a_task_shows_its_form_json_schema_ui_schema_and_current_data(api):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]

    response = api.get(f"/api/v1/tasks/{task_id}", user="tiepnhan")

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == task_id and body["dossier_code"] == code and body["state"] == "open"
    schema, ui_schema = body["form"]["schema"], body["form"]["ui_schema"]
    assert schema["title"] == "Tiếp nhận và kiểm tra hồ sơ"
    assert schema["required"] == ["ket_qua_tiep_nhan"]
    assert isinstance(ui_schema, dict) and ui_schema
    assert body["data"]["ten_ho_kinh_doanh"] == "Hộ kinh doanh Phở Thu Hương"
    assert body["data"]["dossier"]["code"] == code
    assert body["instructions"]


@pytest.mark.parametrize("user", ["congdan", "congdan2", "chuyenvien", "tiepnhan_ca", "phantich"])
def test_a_task_outside_the_callers_lane_is_a_404(api, user):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]

    assert api.get(f"/api/v1/tasks/{task_id}", user=user).status_code == 404
    assert api.post(f"/api/v1/tasks/{task_id}/claim", user=user).status_code == 404


def test_an_unknown_task_is_a_404(api):
    assert api.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000", user="tiepnhan").status_code == 404
    assert api.get("/api/v1/tasks/khong-phai-uuid", user="tiepnhan").status_code == 404


def test_a_second_official_claiming_a_claimed_task_gets_a_409(api):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]

    first = api.post(f"/api/v1/tasks/{task_id}/claim", user="tiepnhan")
    again = api.post(f"/api/v1/tasks/{task_id}/claim", user="tiepnhan")
    second = api.post(f"/api/v1/tasks/{task_id}/claim", user="tiepnhan2")
    sneaky = api.post(f"/api/v1/tasks/{task_id}/complete", user="tiepnhan2",
                      json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})

    assert first.status_code == 200 and first.get_json()["assignee_id"] is not None
    assert again.status_code == 200, "claiming your own task again is harmless"
    assert second.status_code == 409 and is_vietnamese(second.get_json()["message"])
    assert sneaky.status_code == 409
    assert api.dossier(code)["status"] == "submitted"


def test_an_unclaimed_task_can_be_claimed_by_a_colleague(api):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]
    api.post(f"/api/v1/tasks/{task_id}/claim", user="tiepnhan")

    released = api.post(f"/api/v1/tasks/{task_id}/unclaim", user="tiepnhan")
    claimed = api.post(f"/api/v1/tasks/{task_id}/claim", user="tiepnhan2")

    assert released.status_code == 200 and released.get_json()["assignee_id"] is None
    assert claimed.status_code == 200


@pytest.mark.parametrize(("data", "field"), [
    ({}, "ket_qua_tiep_nhan"),
    ({"ket_qua_tiep_nhan": "dong_y_luon"}, "ket_qua_tiep_nhan"),
    ({"ket_qua_tiep_nhan": "bo_sung"}, "giay_to_thieu"),
    ({"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": ""}, "ly_do_tu_choi"),
    ({"ket_qua_tiep_nhan": "tiep_nhan", "ghi_chu": 5}, "ghi_chu"),
])
def test_completing_with_bad_data_is_a_400_with_field_messages_and_changes_nothing(api, data, field):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]
    history_before = api.dossier(code)["history"]

    response = api.post(f"/api/v1/tasks/{task_id}/complete", user="tiepnhan", json={"data": data})

    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert field in fields and all(is_vietnamese(m) for m in fields[field]), fields
    task = api.get(f"/api/v1/tasks/{task_id}", user="tiepnhan").get_json()
    assert task["state"] == "open" and task["assignee_id"] is None
    dossier = api.dossier(code)
    assert dossier["status"] == "submitted" and dossier["received_at"] is None
    assert dossier["history"] == history_before


@pytest.mark.parametrize("payload", [
    {}, {"data": "tiep_nhan"}, {"data": ["tiep_nhan"]}, {"data": {"ket_qua_tiep_nhan": "tiep_nhan"}, "x": 1}])
def test_a_malformed_completion_body_is_a_400(api, payload):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]

    response = api.post(f"/api/v1/tasks/{task_id}/complete", user="tiepnhan", json=payload)

    assert response.status_code == 400
    assert api.dossier(code)["status"] == "submitted"


def test_completing_a_task_twice_is_a_409(api):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]
    complete = f"/api/v1/tasks/{task_id}/complete"

    first = api.post(complete, user="tiepnhan", json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})
    second = api.post(complete, user="tiepnhan", json={"data": {"ket_qua_tiep_nhan": "tu_choi",
                                                                "ly_do_tu_choi": "Đổi ý"}})

    assert first.status_code == 200 and first.get_json()["state"] == "done"
    assert second.status_code == 409
    assert api.dossier(code)["status"] == "processing", "the second completion changed nothing"


@pytest.mark.parametrize("user", ["congdan", "phantich", "quantri", "chuyenvien", "tiepnhan_ca"])
def test_only_the_desk_of_the_agency_completes_a_desk_task(api, user):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]

    response = api.post(f"/api/v1/tasks/{task_id}/complete", user=user,
                        json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})

    assert response.status_code in (403, 404)
    assert api.get(f"/api/v1/tasks/{task_id}", user="tiepnhan").get_json()["state"] == "open"
    assert api.dossier(code)["status"] == "submitted"


def test_fields_outside_a_tasks_form_do_not_overwrite_the_dossiers_workflow_data(api):
    code = api.submit()["code"]
    task_id = api.task_for("tiepnhan", code)["id"]
    forged = {"ket_qua_tiep_nhan": "tiep_nhan",
              "applicant": {"name": "Kẻ Mạo Danh", "email": "attacker@evil.example", "phone": None,
                            "id_number": None, "kind": 1},
              "dossier": {"code": "GIẢ-MẠO"}}

    response = api.post(f"/api/v1/tasks/{task_id}/complete", user="tiepnhan", json={"data": forged})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert api.dossier(code)["status"] == "submitted"
        return
    next_task = api.task_for("chuyenvien", code)
    data = api.get(f"/api/v1/tasks/{next_task['id']}", user="chuyenvien").get_json()["data"]
    assert data["applicant"]["email"] == APPLICANT["email"]
    assert data["dossier"]["code"] == code


# --- public tracking ------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [APPLICANT["phone"], APPLICANT["id_number"], "+84 912 345 678"])
def test_public_tracking_shows_status_and_milestones_only(api, secret):
    code = api.submit()["code"]

    response = api.get(f"/api/v1/track/{code}", query_string={"secret": secret})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) <= TRACK_KEYS
    assert body["code"] == code and body["status"] == "submitted"
    assert [m["text"] for m in body["milestones"]] == ["Đã nộp hồ sơ"]
    assert "history" not in body and "data" not in body and "applicant_name" not in body
    text = response.get_data(as_text=True)
    for private in (APPLICANT["name"], APPLICANT["email"], APPLICANT["id_number"], "TRẦN THỊ THU HƯƠNG",
                    "Phở Thu Hương", "150000000"):
        assert private not in text


@pytest.mark.parametrize("secret", ["0900000000", "001090000002", "0912345679", "xxxx"])
def test_tracking_with_a_wrong_secret_is_a_404(api, secret):
    code = api.submit()["code"]

    response = api.get(f"/api/v1/track/{code}", query_string={"secret": secret})

    assert response.status_code == 404
    assert response.get_json()["message"] == "Không tìm thấy hồ sơ với mã và thông tin đã nhập."
    assert "Đã nộp hồ sơ" not in response.get_data(as_text=True)


def test_tracking_an_unknown_code_is_the_same_404_as_a_wrong_secret(api):
    code = api.submit()["code"]

    unknown = api.get(f"/api/v1/track/{code[:-4]}9999", query_string={"secret": APPLICANT["phone"]})
    wrong = api.get(f"/api/v1/track/{code}", query_string={"secret": "0900000000"})

    assert unknown.status_code == wrong.status_code == 404
    assert unknown.get_json() == wrong.get_json()


@pytest.mark.parametrize("query", [{}, {"secret": ""}])
def test_tracking_without_a_secret_is_a_400(api, query):
    code = api.submit()["code"]

    response = api.get(f"/api/v1/track/{code}", query_string=query)

    assert response.status_code == 400
    assert "secret" in response.get_json()["fields"]
    assert "Đã nộp hồ sơ" not in response.get_data(as_text=True)


# --- the whole approve path -----------------------------------------------------------------------


def test_a_dossier_travels_the_approve_path_over_http_and_the_citizen_is_emailed(api, ctx, smtp):
    code = api.submit()["code"]

    desk_task = api.task_for("tiepnhan", code)
    assert api.post(f"/api/v1/tasks/{desk_task['id']}/claim", user="tiepnhan").status_code == 200
    received = api.post(f"/api/v1/tasks/{desk_task['id']}/complete", user="tiepnhan",
                        json={"data": {"ket_qua_tiep_nhan": "tiep_nhan", "ghi_chu": "Hồ sơ đủ thành phần"}})
    assert received.status_code == 200 and received.get_json()["state"] == "done"
    dossier = api.dossier(code)
    assert dossier["status"] == "processing"
    assert dossier["received_at"] is not None and dossier["due_at"] is not None
    received_at = datetime.fromisoformat(dossier["received_at"])
    assert received_at < datetime.fromisoformat(dossier["due_at"]) <= received_at + timedelta(days=9)

    api.work("chuyenvien", code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện cấp Giấy chứng nhận"})
    assert api.dossier(code)["status"] == "processing"
    api.work("lanhdao", code, {"quyet_dinh": "dong_y"})
    assert api.dossier(code)["status"] == "result_ready"

    outcomes = drain(ctx)
    assert [o.state for o in outcomes] == ["done"] * 4  # receipt and result PDFs, two e-mails
    listed = api.get(f"/api/v1/dossiers/{code}/attachments", user="congdan").get_json()
    assert sorted(a["kind"] for a in listed) == ["giay-tiep-nhan", "ket-qua"]
    result = next(a for a in listed if a["kind"] == "ket-qua")
    download = api.get(f"/api/v1/dossiers/{code}/attachments/{result['id']}", user="congdan")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Type"] == "application/pdf"
    assert api.get(f"/api/v1/dossiers/{code}/attachments/{result['id']}", user="congdan2").status_code == 404
    receipt_notice, message = sorted(smtp.wait_for(2), key=lambda m: "kết quả" in m["Subject"])
    assert receipt_notice["Subject"] == f"Hồ sơ {code} đã được tiếp nhận"
    assert message["Subject"] == f"Hồ sơ {code} đã có kết quả"
    assert [a.addr_spec for a in message["To"].addresses] == [APPLICANT["email"]]
    assert "Phạm Thị Công Dân" in message.get_body(("plain",)).get_content()

    api.work("tiepnhan", code, {"hinh_thuc_tra": "truc_tiep"})

    final = api.dossier(code)
    assert final["status"] == "returned" and final["portal_status"] == 10
    assert final["status_label"] == "Đã trả kết quả" and final["finished_at"] is not None
    assert [m["text"] for m in final["milestones"]] == [
        "Đã nộp hồ sơ", "Hồ sơ đã được tiếp nhận", "Đang thẩm định", "Đã có kết quả", "Đã trả kết quả"]
    completed = [e["data"]["title"] for e in final["history"] if e["kind"] == "task_completed"]
    assert completed == ["Tiếp nhận và kiểm tra hồ sơ", "Thẩm định hồ sơ", "Phê duyệt và ký", "Trả kết quả"]
    for user in ("tiepnhan", "chuyenvien", "lanhdao"):
        assert all(t["dossier_code"] != code for t in api.get("/api/v1/tasks", user=user).get_json())
    tracked = api.get(f"/api/v1/track/{code}", query_string={"secret": APPLICANT["phone"]}).get_json()
    assert tracked["status"] == "returned"
