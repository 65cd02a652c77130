"""The server-rendered pages (Vietnamese): log in with CSRF, inbox, task form, dossier, public tracking,
escaping of hostile input and the security headers."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from engine.services import authenticate, complete_task, get_dossier, get_task, submit_dossier
from tests.factories import APPLICANT, household_form, open_task
from tests.web.conftest import HKD_SLUG, HOSTILE, HOSTILE_ESCAPED, csrf_of

SITE = "http://localhost/"


def html_of(response) -> str:
    return response.get_data(as_text=True)


def main_of(response) -> str:
    """The page's <main> only: the layout also carries the user's name, which would hide a leak."""
    text = html_of(response)
    return text[text.index('<main id="main">'):]


def browser_target(location: str) -> str:
    """Where a browser goes for a Location header: WHATWG URL parsing drops tabs and newlines and
    reads a backslash as a slash in http(s) URLs, which Python's urljoin does not do."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urljoin(SITE, cleaned)


@pytest.fixture
def citizen(ctx, app):
    return authenticate(ctx, "congdan", "demo")


@pytest.fixture
def desk(ctx, app):
    return authenticate(ctx, "tiepnhan", "demo")


def submitted(ctx, citizen, name: str = APPLICANT["name"], **changes):
    return submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT, name=name), household_form(**changes))


# --- logging in -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "gia-mao"])
def test_logging_in_without_the_right_csrf_token_is_a_400(client, token):
    client.get("/dang-nhap")
    form = {"username": "tiepnhan", "password": "demo"}
    if token is not None:
        form["csrf_token"] = token

    response = client.post("/dang-nhap", data=form)

    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ." in html_of(response)
    assert client.get("/cong-viec").status_code == 302, "still logged out"


def test_logging_in_gives_the_session_a_new_csrf_token_and_the_old_one_stops_working(client):
    before = csrf_of(html_of(client.get("/dang-nhap")))

    response = client.post("/dang-nhap", data={"username": "tiepnhan", "password": "demo", "csrf_token": before})

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/cong-viec"
    inbox = client.get("/cong-viec")
    assert inbox.status_code == 200 and "Nguyễn Thị Tiếp Nhận" in html_of(inbox)
    after = csrf_of(html_of(inbox))
    assert after != before
    assert client.post("/dang-xuat", data={"csrf_token": before}).status_code == 400
    assert client.post("/dang-xuat", data={"csrf_token": after}).status_code == 302
    assert client.get("/cong-viec").status_code == 302, "logged out"


def test_a_wrong_password_on_the_login_page_shows_a_vietnamese_error(client):
    token = csrf_of(html_of(client.get("/dang-nhap")))

    response = client.post("/dang-nhap", data={"username": "tiepnhan", "password": "sai", "csrf_token": token})

    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in html_of(response)
    assert client.get("/cong-viec").status_code == 302


def test_a_page_that_needs_a_login_sends_the_visitor_to_it_and_back(client):
    response = client.get("/cong-viec")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/dang-nhap" and "next=" in target.query

    token = csrf_of(html_of(client.get(response.headers["Location"])))
    back = client.post(response.headers["Location"], data={"username": "tiepnhan", "password": "demo",
                                                             "csrf_token": token})

    assert back.status_code == 302 and urlsplit(back.headers["Location"]).path == "/cong-viec"


@pytest.mark.parametrize("next_url", [
    "//evil.example/", "https://evil.example/", "/\\evil.example/",
    "/\t/evil.example/",
])
def test_logging_in_never_redirects_to_another_site(client, next_url):
    token = csrf_of(html_of(client.get("/dang-nhap")))

    response = client.post("/dang-nhap", query_string={"next": next_url},
                           data={"username": "tiepnhan", "password": "demo", "csrf_token": token})

    assert response.status_code == 302
    assert urlsplit(browser_target(response.headers["Location"])).netloc == "localhost"


# --- the official's inbox and task pages ----------------------------------------------------------


def test_the_officials_inbox_lists_the_task(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    login("tiepnhan")

    page = main_of(client.get("/cong-viec"))

    assert f'href="/cong-viec/{task.id}"' in page
    assert dossier.code in page and "Tiếp nhận và kiểm tra hồ sơ" in page and "Chưa nhận" in page
    assert APPLICANT["name"] in page


def test_an_inbox_of_another_role_does_not_list_the_task(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    login("chuyenvien")

    page = main_of(client.get("/cong-viec"))

    assert dossier.code not in page
    assert "Không có công việc nào đang chờ." in page


def test_the_task_page_renders_the_form_from_its_json_schema_with_vietnamese_labels(ctx, client, login, citizen,
                                                                                      desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    login("tiepnhan")

    response = client.get(f"/cong-viec/{task.id}")

    assert response.status_code == 200
    page = main_of(response)
    assert "<h1>Tiếp nhận và kiểm tra hồ sơ</h1>" in page
    assert "Kết quả kiểm tra hồ sơ" in page  # the schema's field title
    for value, label in [("tiep_nhan", "Tiếp nhận"), ("bo_sung", "Yêu cầu bổ sung"), ("tu_choi", "Từ chối tiếp nhận")]:
        assert re.search(rf'<input type="radio" id="([^"]+)" name="ket_qua_tiep_nhan" value="{value}"', page)
        assert f">{label}</label>" in page
    for title in ("Giấy tờ cần bổ sung, hoàn thiện", "Lý do từ chối tiếp nhận", "Ghi chú"):
        assert title in page
    assert 'name="ghi_chu"' in page and 'name="action" value="complete"' in page
    assert f'href="/ho-so/{dossier.code}"' in page


def test_claiming_on_the_task_page_shows_the_task_as_mine(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={"csrf_token": token, "action": "claim"})

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == f"/cong-viec/{task.id}"
    assert "Đã nhận xử lý công việc." in html_of(client.get(response.headers["Location"]))
    assert "Tôi đang xử lý" in main_of(client.get("/cong-viec"))
    assert get_task(ctx, desk, task.id).assignee_id == desk.id


def test_completing_a_task_on_its_page_redirects_to_the_inbox_and_moves_the_dossier(ctx, client, login, citizen,
                                                                                      desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ket_qua_tiep_nhan": "tiep_nhan", "ghi_chu": "Đủ thành phần"})

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/cong-viec"
    inbox = main_of(client.get("/cong-viec"))
    assert "Đã hoàn thành: Tiếp nhận và kiểm tra hồ sơ" in inbox
    assert dossier.code not in inbox, "the next step belongs to the specialist"
    assert get_task(ctx, desk, task.id).state == "done"
    assert get_dossier(ctx, desk, dossier.code).status == "processing"


def test_completing_a_task_without_the_csrf_token_changes_nothing(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={"action": "complete", "ket_qua_tiep_nhan": "tiep_nhan"})

    assert response.status_code == 400
    assert get_task(ctx, desk, task.id).state == "open"


def test_invalid_task_data_re_renders_the_form_with_field_errors_and_status_400(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ket_qua_tiep_nhan": "bo_sung", "ghi_chu": "Thiếu giấy tờ"})

    assert response.status_code == 400
    page = main_of(response)
    assert re.search(r'<p class="field-error" id="f-giay_to_thieu-error">.*Vui lòng nhập Giấy tờ cần bổ sung', page)
    assert "Vui lòng nhập Giấy tờ cần bổ sung" in page.split('class="form-errors"', 1)[1].split("</ul>", 1)[0]
    assert re.search(r'value="bo_sung"[^>]*checked', page), "the choice made is kept"
    assert "Thiếu giấy tờ</textarea>" in page, "the text typed is kept"
    assert get_task(ctx, desk, task.id).state == "open"
    assert get_dossier(ctx, desk, dossier.code).status == "submitted"


def test_a_citizen_cannot_open_or_complete_an_officials_task_page(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("congdan")

    opened = client.get(f"/cong-viec/{task.id}")
    completed = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ket_qua_tiep_nhan": "tiep_nhan"})

    assert opened.status_code == completed.status_code == 404
    assert "Không tìm thấy công việc." in html_of(opened)
    assert get_task(ctx, desk, task.id).state == "open"


def test_a_task_completed_elsewhere_cannot_be_completed_again_on_its_page(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("tiepnhan")
    complete_task(ctx, desk, task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})

    shown = client.get(f"/cong-viec/{task.id}")
    response = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "x"})

    assert "Công việc này đã kết thúc." in html_of(shown)
    assert response.status_code == 409
    assert "Công việc này vừa được người khác xử lý hoặc nhận." in html_of(response)
    assert get_dossier(ctx, desk, dossier.code).status == "processing"


def posted_fields(value, prefix: str = "") -> dict[str, str]:
    """Form data as a browser posts it: `chu_ho.ho_ten`, `nganh_nghe.0.ma_vsic`, ticked boxes as "on"."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items()
                for k, v in posted_fields(item, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value) for k, v in posted_fields(item, f"{prefix}.{index}").items()}
    if isinstance(value, bool):
        return {prefix: "on"} if value else {}
    return {prefix: str(value)}


# Submitting through the pages (the wizard): tests/web/test_citizen_pages.py.


# --- dossier and tracking pages -------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["congdan", "tiepnhan"])
def test_the_dossier_page_shows_status_milestones_and_history(ctx, client, login, citizen, desk, reader):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    complete_task(ctx, desk, task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    login(reader)

    response = client.get(f"/ho-so/{dossier.code}")

    assert response.status_code == 200
    page = main_of(response)
    assert f"<h1>Hồ sơ {dossier.code}</h1>" in page
    assert "<strong>Đang xử lý</strong>" in page
    for milestone in ("Đã nộp hồ sơ", "Hồ sơ đã được tiếp nhận", "Đang thẩm định"):
        assert milestone in page
    history = page.split("Quá trình xử lý", 1)[1]
    for line in ("Nộp hồ sơ", "Chuyển đến bước «Tiếp nhận và kiểm tra hồ sơ»",
                 "Hoàn thành «Tiếp nhận và kiểm tra hồ sơ»", "Trạng thái: Được tiếp nhận",
                 "Chuyển đến bước «Thẩm định hồ sơ»"):
        assert line in history
    assert "Nguyễn Thị Tiếp Nhận" in history and "Hệ thống" in history


def test_the_dossier_page_says_whether_the_receipt_notice_reached_the_citizen(ctx, client, login, citizen, desk):
    from engine.outbox import drain

    dossier = submitted(ctx, citizen)
    complete_task(ctx, desk, open_task(ctx, desk, dossier.code).id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    assert all(o.state == "done" for o in drain(ctx))
    login("tiepnhan")

    history = main_of(client.get(f"/ho-so/{dossier.code}")).split("Quá trình xử lý", 1)[1]

    assert "Gửi thư điện tử «Tiếp nhận hồ sơ» tới c***@example.vn: Máy chủ thư đã nhận" in history
    assert "congdan@example.vn" not in history


def test_another_citizen_gets_a_404_for_the_dossier_page(ctx, client, login, citizen):
    dossier = submitted(ctx, citizen)
    login("congdan2")

    response = client.get(f"/ho-so/{dossier.code}")

    assert response.status_code == 404
    assert "Không tìm thấy hồ sơ." in html_of(response)
    assert APPLICANT["name"] not in main_of(response)


@pytest.mark.parametrize("secret", [APPLICANT["phone"], APPLICANT["id_number"]])
def test_the_public_tracking_page_finds_a_dossier_by_code_and_phone_or_id_number(ctx, client, citizen, secret):
    dossier = submitted(ctx, citizen)

    response = client.get("/tra-cuu", query_string={"code": dossier.code, "secret": secret})

    assert response.status_code == 200
    page = main_of(response)
    assert f"Hồ sơ {dossier.code}" in page and "Mới đăng ký" in page and "Đã nộp hồ sơ" in page
    for private in (APPLICANT["name"], APPLICANT["email"], "TRẦN THỊ THU HƯƠNG", "Nộp hồ sơ</td>"):
        assert private not in page


def test_a_wrong_phone_on_the_tracking_page_shows_a_vietnamese_error(ctx, client, citizen):
    dossier = submitted(ctx, citizen)

    response = client.get("/tra-cuu", query_string={"code": dossier.code, "secret": "0900000000"})

    assert response.status_code == 404
    page = main_of(response)
    assert "Không tìm thấy hồ sơ với mã và thông tin đã nhập." in page
    assert "Mới đăng ký" not in page and "Đã nộp hồ sơ" not in page


def test_the_empty_tracking_page_shows_the_form(client):
    response = client.get("/tra-cuu")

    assert response.status_code == 200
    assert 'name="code"' in html_of(response) and 'name="secret"' in html_of(response)


# --- hostile input --------------------------------------------------------------------------------


def test_a_hostile_applicant_name_is_escaped_on_every_page_that_shows_it(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen, name=HOSTILE)
    task = open_task(ctx, desk, dossier.code)
    login("tiepnhan")

    pages = {"inbox": client.get("/cong-viec"), "task": client.get(f"/cong-viec/{task.id}"),
             "dossier": client.get(f"/ho-so/{dossier.code}")}

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert HOSTILE not in html_of(response), f"raw script on the {name} page"
        assert HOSTILE_ESCAPED in html_of(response), f"the {name} page does not show the name at all"


def test_hostile_form_text_is_escaped_when_a_task_form_is_shown_again(ctx, client, login, citizen, desk):
    dossier = submitted(ctx, citizen)
    task = open_task(ctx, desk, dossier.code)
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ghi_chu": f"</textarea>{HOSTILE}"})

    assert response.status_code == 400
    page = html_of(response)
    assert HOSTILE not in page and "</textarea><script>" not in page
    assert f"&lt;/textarea&gt;{HOSTILE_ESCAPED}</textarea>" in page


def test_hostile_text_saved_by_one_official_is_escaped_in_the_next_officials_form(ctx, client, login, citizen,
                                                                                   desk):
    dossier = submitted(ctx, citizen)
    complete_task(ctx, desk, open_task(ctx, desk, dossier.code).id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    specialist = authenticate(ctx, "chuyenvien", "demo")
    review = open_task(ctx, specialist, dossier.code)
    complete_task(ctx, specialist, review.id, {"ket_qua_tham_dinh": "dat", "y_kien": HOSTILE})
    leader = authenticate(ctx, "lanhdao", "demo")
    complete_task(ctx, leader, open_task(ctx, leader, dossier.code).id,
                  {"quyet_dinh": "tra_lai", "y_kien_phe_duyet": HOSTILE})
    again = open_task(ctx, specialist, dossier.code)
    login("chuyenvien")

    response = client.get(f"/cong-viec/{again.id}")

    assert response.status_code == 200
    page = html_of(response)
    assert HOSTILE not in page
    assert f">\n{HOSTILE_ESCAPED}</textarea>" in page or f">{HOSTILE_ESCAPED}</textarea>" in page


def test_a_hostile_code_on_the_tracking_page_is_escaped(client):
    response = client.get("/tra-cuu", query_string={"code": f'"{HOSTILE}', "secret": "0912345678"})

    assert response.status_code == 404
    assert HOSTILE not in html_of(response)
    assert f'value="&#34;{HOSTILE_ESCAPED}"' in html_of(response)


# --- security headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/dang-nhap", "/tra-cuu", "/cong-viec", "/khong-co-trang-nay",
                                  "/api/v1/procedures", "/api/v1/tasks", "/api/v1/openapi.json"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)

    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert directives.get("default-src") == "'self'"
    assert "frame-ancestors" in directives and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives.get("script-src", "") and "unsafe-eval" not in csp
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_session_cookie_is_http_only_and_same_site(client):
    response = client.get("/dang-nhap")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
