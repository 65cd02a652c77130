"""The admin's instance pages (web/pages/operations.py): search, the detail with its diagram marks,
suspend and resume with CSRF; nobody else gets in."""

from __future__ import annotations

import html
import json
import re

import pytest

from engine.services import submit_dossier
from tests.factories import APPLICANT, household_form, open_task, work
from tests.web.conftest import HKD_SLUG, csrf_of

RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}


def new_dossier(ctx, actors) -> str:
    return submit_dossier(ctx, actors["congdan"], HKD_SLUG, dict(APPLICANT), household_form()).code


def attribute(page: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


@pytest.mark.parametrize("username", ["tiepnhan", "lanhdao"])
def test_only_admins_open_the_instance_pages(ctx, actors, client, login, username):
    code = new_dossier(ctx, actors)
    token = login(username)
    assert client.get("/quan-tri/ho-so").status_code == 403
    assert client.get(f"/quan-tri/ho-so/{code}").status_code == 403
    assert client.get("/quan-tri/quy-trinh/1/bpmn").status_code == 403
    refused = client.post(f"/quan-tri/ho-so/{code}/tam-dung", data={"csrf_token": token, "ly_do": "thử"})
    assert refused.status_code == 403


def test_the_admin_searches_by_code_and_sees_invalid_fields(ctx, actors, client, login):
    first, second = new_dossier(ctx, actors), new_dossier(ctx, actors)
    login("quantri")
    page = client.get(f"/quan-tri/ho-so?ma={second}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/quan-tri/ho-so/{second}"' in body and first not in body
    everything = client.get("/quan-tri/ho-so").get_data(as_text=True)
    assert everything.index(second) < everything.index(first)  # newest first
    bad = client.get("/quan-tri/ho-so?tu_ngay=2026-02-30&trang_thai=khong-co")
    bad_body = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Ngày không hợp lệ, cần dạng YYYY-MM-DD." in bad_body and "Không có trạng thái hồ sơ này." in bad_body
    assert 'id="s-tu_ngay" name="tu_ngay" type="date" value="2026-02-30" aria-invalid="true"' in bad_body


def test_the_detail_marks_the_current_task_and_serves_the_diagram(ctx, actors, client, login):
    code = new_dossier(ctx, actors)
    work(ctx, actors["tiepnhan"], code, RECEIVE)
    task = open_task(ctx, actors["chuyenvien"], code)
    login("quantri")
    page = client.get(f"/quan-tri/ho-so/{code}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    marks = json.loads(attribute(body, "data-marks"))
    assert marks[task.bpmn_id] == "studio-current" and marks["tiep_nhan"] == "studio-path"
    assert f'href="/quan-tri/ho-so/{code}/nhat-ky"' in body
    assert "Thẩm định hồ sơ" in body and "vendor/studio-viewer.js" in body
    diagram = client.get(attribute(body, "data-xml-url"))
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert f'id="{task.bpmn_id}"' in diagram.get_data(as_text=True)
    again = client.get(attribute(body, "data-xml-url"), headers={"If-None-Match": diagram.headers["ETag"]})
    assert again.status_code == 304


def test_suspend_and_resume_round_trip(ctx, actors, client, login):
    code = new_dossier(ctx, actors)
    token = login("quantri")
    detail = f"/quan-tri/ho-so/{code}"
    assert client.post(f"{detail}/tam-dung", data={"ly_do": "Thiếu CSRF"}).status_code == 400
    empty = client.post(f"{detail}/tam-dung", data={"csrf_token": token, "ly_do": " "})
    assert empty.status_code == 400 and "Vui lòng nêu lý do tạm dừng." in empty.get_data(as_text=True)

    done = client.post(f"{detail}/tam-dung", data={"csrf_token": token, "ly_do": "Nghi giả mạo chữ ký"})
    assert done.status_code == 302 and done.headers["Location"].endswith(detail)
    shown = client.get(detail).get_data(as_text=True)
    assert f"Đã tạm dừng quy trình của hồ sơ {code}." in shown and "Nghi giả mạo chữ ký" in shown
    assert "bởi Đỗ Quản Trị." in shown and f'action="{detail}/tiep-tuc"' in shown
    listed = client.get("/quan-tri/ho-so?tam_dung=1").get_data(as_text=True)
    assert code in listed
    twice = client.post(f"{detail}/tam-dung", data={"csrf_token": csrf_of(shown), "ly_do": "lần nữa"})
    assert twice.status_code == 302
    assert "đang tạm dừng rồi" in client.get(detail).get_data(as_text=True)

    client.post("/dang-xuat", data={"csrf_token": csrf_of(shown)})
    desk_token = login("tiepnhan")
    task = open_task(ctx, actors["tiepnhan"], code)
    held = client.post(f"/cong-viec/{task.id}", data={"csrf_token": desk_token, "action": "claim"})
    assert held.status_code == 409 and "tạm dừng" in held.get_data(as_text=True)

    client.post("/dang-xuat", data={"csrf_token": desk_token})
    token = login("quantri")
    resumed = client.post(f"{detail}/tiep-tuc", data={"csrf_token": token, "ly_do": ""})
    assert resumed.status_code == 302
    after = client.get(detail).get_data(as_text=True)
    assert f"Đã cho quy trình của hồ sơ {code} chạy tiếp." in after and f'action="{detail}/tam-dung"' in after
    work(ctx, actors["tiepnhan"], code, RECEIVE)  # the desk works it again
