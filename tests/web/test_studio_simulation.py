"""The studio's test run: start data prefilled with samples, then step by step (a task's form, a
connector's sample result, a timer) with every answer carried in the page (stateless replay), the
path as a list and on the diagram, and no dossier, task or outbox row written."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import html
import json
import re

from sqlalchemy import func, select

from engine.models import Dossier, OutboxMessage
from tests.web.studio_fixtures import draft_of, fresh, main_of, no_drafts, waiting  # noqa: F401

_HIDDEN = re.compile(r'name="(start_data|answers)" value="([^"]*)"')


def carried(page: str) -> dict[str, str]:
    """The hidden start data and answers of the page's first answer form, as the browser sends them."""
    found = dict(_HIDDEN.findall(page)[:2])
    return {key: html.unescape(value) for key, value in found.items()}


def rows(ctx) -> tuple[int, int]:
    with ctx.sessions() as session:
        return session.scalar(select(func.count(Dossier.id))), session.scalar(select(func.count(OutboxMessage.id)))


def start(client, draft_id: int, token: str, **fields: str):
    return client.post(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu",
                       data={"csrf_token": token, "action": "start", **fields})


def answer(client, draft_id: int, token: str, page: str, element: str, kind: str, **fields: str):
    return client.post(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu", data={
        "csrf_token": token, "action": "answer", "element": element, "kind": kind, "index": "0", **carried(page),
        **fields})


def test_the_test_run_starts_from_the_start_form_filled_with_sample_data(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu"))

    assert re.search(r'<input type="text" value="[^"]+" id="f-khai-noi_dung" name="khai.noi_dung"', page)
    assert '<button type="submit" name="action" value="start">Bắt đầu chạy thử</button>' in page


def test_starting_shows_the_path_the_waiting_task_with_its_form_and_the_marked_diagram(
        ctx, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")

    page = main_of(start(client, draft_id, token, **{"khai.noi_dung": "Đề nghị cấp phép"}))

    assert "Bước đang chờ: «Tiếp nhận hồ sơ»" in page and 'name="tra-loi-0.y_kien"' in page
    assert re.search(r'<ol class="studio-run-path">\s*<li>Nộp hồ sơ', page)
    assert json.loads(carried(page)["answers"]) == []
    assert json.loads(carried(page)["start_data"]) == {"noi_dung": "Đề nghị cấp phép"}
    viewer = re.search(r'<div class="bpmn-viewer studio-diagram" data-xml-url="([^"]+)" data-marks="([^"]+)"', page)
    assert viewer and viewer.group(1) == f"/thiet-ke/ban-nhap/{draft_id}/bpmn"
    assert json.loads(html.unescape(viewer.group(2))) == {"bat_dau": "studio-path", "tiep_nhan": "studio-current"}
    assert 'src="/static/vendor/studio-viewer.js?v=' in page


def test_answering_each_step_replays_the_run_to_its_end_with_the_status_it_declares(
        ctx, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    before = rows(ctx)

    page = main_of(start(client, draft_id, token, **{"khai.noi_dung": "Đề nghị"}))
    for task in ("tiep_nhan", "tham_dinh", "phe_duyet"):
        response = answer(client, draft_id, token, page, task, "user", form=task.replace("_", "-"),
                          **{"tra-loi-0.y_kien": "Đạt"})
        assert response.status_code == 200, task
        page = main_of(response)

    assert "Quy trình đã kết thúc" in page and "Đã trả kết quả" in page
    assert [a["task"] for a in json.loads(carried(page)["answers"])] == ["tiep_nhan", "tham_dinh", "phe_duyet"]
    assert "Bước đang chờ" not in page
    assert rows(ctx) == before  # no dossier, no outbox row


def test_an_answer_the_form_refuses_is_shown_again_with_its_errors_and_not_added(ctx, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    page = main_of(start(client, draft_id, token, **{"khai.noi_dung": "Đề nghị"}))

    response = answer(client, draft_id, token, page, "tiep_nhan", "user", form="tiep-nhan",
                      **{"tra-loi-0.y_kien": ""})

    again = main_of(response)
    assert response.status_code == 400
    assert "Câu trả lời chưa hợp lệ với biểu mẫu." in again and 'aria-invalid="true"' in again
    assert json.loads(carried(again)["answers"]) == [] and "Bước đang chờ: «Tiếp nhận hồ sơ»" in again


def test_going_back_one_step_drops_the_last_answer(ctx, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    page = main_of(start(client, draft_id, token, **{"khai.noi_dung": "Đề nghị"}))
    page = main_of(answer(client, draft_id, token, page, "tiep_nhan", "user", form="tiep-nhan",
                          **{"tra-loi-0.y_kien": "Đạt"}))
    assert "Bước đang chờ: «Thẩm định hồ sơ»" in page

    back = client.post(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu",
                       data={"csrf_token": token, "action": "undo", **carried(page)})

    assert "Bước đang chờ: «Tiếp nhận hồ sơ»" in main_of(back)
    assert json.loads(carried(main_of(back))["answers"]) == []


def test_start_data_the_start_form_refuses_is_shown_again_with_its_errors(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = start(client, draft_id, token, **{"khai.noi_dung": ""})

    assert response.status_code == 400
    assert 'name="khai.noi_dung"' in main_of(response) and "field-error" in main_of(response)
    assert "Đường đi" not in main_of(response)


def test_tampered_carried_answers_are_refused_with_a_message_not_a_crash(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu", data={
        "csrf_token": token, "action": "answer", "start_data": "{}", "answers": "[1, 2",
        "element": "tiep_nhan", "kind": "user"})

    assert response.status_code == 400
    assert "Dữ liệu chạy thử gửi lên bị hỏng" in main_of(response)


def test_a_connector_waits_for_the_sample_result_the_analyst_edits_and_a_timer_for_its_button(
        ctx, client, login, waiting, draft_of):
    draft_id = draft_of(waiting)
    token = login("phantich")
    before = rows(ctx)

    page = main_of(start(client, draft_id, token, **{"khai.noi_dung": "Đề nghị"}))
    assert "Dịch vụ đang chờ kết quả: «Khởi tạo giao dịch nộp lệ phí»" in page
    assert "dvcqg_payment/init_payment" in page and '<textarea id="result-0" name="result" class="code"' in page
    broken = answer(client, draft_id, token, page, "thanh_toan", "service", result="{không phải JSON")
    assert broken.status_code == 400 and "JSON không hợp lệ ở dòng 1" in main_of(broken)
    assert "{không phải JSON" in main_of(broken)  # the analyst's text is kept

    page = main_of(answer(client, draft_id, token, page, "thanh_toan", "service",
                          result='{"reference": "GD-1", "redirect_url": "https://thanhtoan.example.vn/1"}'))
    assert "Hẹn giờ đang chờ: «Chờ 02 ngày làm việc»" in page and "Cho hẹn giờ kích hoạt" in page
    page = main_of(answer(client, draft_id, token, page, "cho_hai_ngay", "timer"))

    assert "Bước đang chờ: «Tiếp nhận hồ sơ»" in page
    assert json.loads(carried(page)["answers"]) == [
        {"service": "thanh_toan", "result": {"reference": "GD-1", "redirect_url": "https://thanhtoan.example.vn/1"}},
        {"timer": "cho_hai_ngay"}]
    assert rows(ctx) == before


def test_officials_cannot_test_run_a_draft(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("tiepnhan")

    assert start(client, draft_id, token, **{"khai.noi_dung": "x"}).status_code == 403
