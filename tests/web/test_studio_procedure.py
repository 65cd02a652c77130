"""The studio's procedure information page: name, code, a table of lanes → roles, and the rest of
procedure.json as checked JSON; refusals shown next to the field with the analyst's input kept."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import json

from markupsafe import escape

from engine.services import studio
from tests.web.studio_fixtures import draft_of, fresh, main_of, no_drafts, revision_in, second_browser  # noqa: F401

LANE_ROLES = ["desk", "specialist", "leader", "applicant"]  # the test procedure's lanes, in order


def meta_of(ctx, actors, draft_id: int) -> dict:
    return studio.get_draft(ctx, actors["phantich"], draft_id).package["procedure"]


def posted(meta: dict, token: str, *, roles=None, agencies=None, **changes) -> dict:
    rest = {k: v for k, v in meta.items() if k not in ("name", "code", "lanes")}
    form = {"csrf_token": token, "name": changes.pop("name", meta["name"]), "code": changes.pop("code", meta["code"]),
            "rest": changes.pop("rest", None) or json.dumps({**rest, **changes}, ensure_ascii=False)}
    for index, role in enumerate(roles or LANE_ROLES):
        form[f"lane-{index}-role"] = role
        form[f"lane-{index}-agency"] = (agencies or {}).get(index, "")
    return form


def test_the_page_shows_name_code_a_lane_table_with_role_selects_and_the_rest_as_json(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin"))

    assert 'id="proc-name" name="name" value="Thủ tục thử nghiệm"' in page
    assert '<th scope="row" id="lane-1-name">Chuyên viên</th>' in page
    assert '<label for="lane-1-role" class="visually-hidden">Vai trò của lane Chuyên viên</label>' in page
    assert '<option value="specialist" selected>Chuyên viên</option>' in page
    assert '<textarea id="proc-rest" name="rest" class="code"' in page and "&#34;deadline&#34;" in page
    assert "&#34;lanes&#34;" not in page  # the lanes are the table's


def test_saving_changes_the_name_a_lane_role_and_the_deadline(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    meta = meta_of(ctx, actors, draft_id)

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin", data=posted(
        meta, token, name="Thủ tục đã đổi tên", roles=["desk", "leader", "leader", "applicant"],
        deadline={"value": 5, "unit": "working_days"}))

    assert response.status_code == 302, main_of(response)
    saved = meta_of(ctx, actors, draft_id)
    assert saved["name"] == "Thủ tục đã đổi tên" and saved["deadline"] == {"value": 5, "unit": "working_days"}
    assert saved["lanes"]["Chuyên viên"] == "leader" and saved["lanes"]["Bộ phận một cửa"] == "desk"
    assert "Đã lưu thông tin thủ tục." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_lane_of_another_agency_is_saved_with_its_agency(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    meta = meta_of(ctx, actors, draft_id)

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin",
                           data=posted(meta, token, agencies={2: "000.00.21.H99"}))

    assert response.status_code == 302, main_of(response)
    assert meta_of(ctx, actors, draft_id)["lanes"]["Lãnh đạo"] == {"role": "leader", "agency": "000.00.21.H99"}


def test_a_key_taken_out_of_the_json_is_taken_out_of_procedure_json(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    meta = meta_of(ctx, actors, draft_id)
    rest = {k: v for k, v in meta.items() if k not in ("name", "code", "lanes", "supplement_clock")}

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin",
                           data=posted(meta, token, rest=json.dumps(rest)))

    assert response.status_code == 302, main_of(response)
    assert "supplement_clock" not in meta_of(ctx, actors, draft_id)


def test_broken_json_is_refused_with_its_location_and_everything_typed_is_kept(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    meta = meta_of(ctx, actors, draft_id)
    text = '{"deadline": {"value": 3 "unit": "working_days"}}'

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin",
                           data=posted(meta, token, name="Tên mới chưa lưu", rest=text))

    page = main_of(response)
    assert response.status_code == 400
    assert "JSON không hợp lệ ở dòng 1, cột 26: thiếu dấu phẩy" in page
    assert str(escape(text)) in page and 'value="Tên mới chưa lưu"' in page
    assert meta_of(ctx, actors, draft_id)["name"] == "Thủ tục thử nghiệm"


def test_a_field_the_engine_refuses_is_reported_and_nothing_is_saved(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    meta = meta_of(ctx, actors, draft_id)

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin", data=posted(
        meta, token, name="", roles=["desk", "", "leader", "applicant"], supplement_clock="sometimes"))

    page = main_of(response)
    assert response.status_code == 400
    assert 'id="proc-name-error"' in page  # next to the name
    assert 'id="lane-1-error"' in page and "không tồn tại" in page  # next to the lane's select
    assert "supplement_clock: Giá trị phải là một trong: restart, pause." in page  # under the textarea
    assert '<option value="" selected>' in page  # the choice made is shown as it was
    assert meta_of(ctx, actors, draft_id) == meta


def test_officials_cannot_change_procedure_information(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    meta = meta_of(ctx, actors, draft_id)
    token = login("lanhdao")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/thong-tin", data=posted(meta, token, name="Đổi"))

    assert response.status_code == 403 and meta_of(ctx, actors, draft_id) == meta


def test_information_saved_from_a_page_loaded_before_another_persons_save_is_a_409_with_the_input_kept(
        ctx, client, login, fresh, draft_of, actors, second_browser):
    draft_id = draft_of(fresh)
    token = login("phantich")
    url = f"/thiet-ke/ban-nhap/{draft_id}/thong-tin"
    loaded = revision_in(client.get(url))
    meta = meta_of(ctx, actors, draft_id)
    other, other_token = second_browser("quantri")
    theirs = {**posted(meta, other_token, deadline={"value": 7, "unit": "working_days"}),
              "revision": revision_in(other.get(url))}
    assert other.post(url, data=theirs).status_code == 302

    mine = {**posted(meta, token, name="Tên phân tích đặt", roles=["desk", "leader", "leader", "applicant"],
                     fees=[{"name": "Lệ phí", "amount": 50000}]), "revision": loaded}
    refused = client.post(url, data=mine)

    page = main_of(refused)
    assert refused.status_code == 409 and 'id="studio-conflict" role="alert"' in page and "quantri" in page
    assert 'value="Tên phân tích đặt"' in page and str(escape(mine["rest"])) in page  # what was typed
    assert '<select id="lane-1-role" name="lane-1-role">' in page
    lane = page[page.index('<select id="lane-1-role"'):]
    assert '<option value="leader" selected>' in lane[:lane.index("</select>")]
    assert revision_in(refused) == loaded
    saved = meta_of(ctx, actors, draft_id)
    assert saved["deadline"] == {"value": 7, "unit": "working_days"} and saved["name"] == meta["name"]
    assert "fees" not in saved or saved["fees"] == meta.get("fees")
