"""The studio's BPMN editor seen from the server: the page and its CSP, the draft's diagram as the
editor reads it (lane roles and step budgets written in), saving (CSRF, hostile or broken XML refused
with a located Vietnamese message in JSON, roles and budgets read back into procedure.json), the lint
findings and the catalogue the editor's selects and labels come from."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import io

import pytest

from engine.procedures.lint import Finding
from engine.runtime.specs import MAX_BPMN_BYTES
from engine.services import studio
from engine.statuses import STATUSES
from integrations import registry
from tests.web.studio_fixtures import draft_of, fresh, html_of, no_drafts, second_browser  # noqa: F401
from web.security import CONTENT_SECURITY_POLICY, STUDIO_EDITOR_POLICY

THAM_DINH_FORM = "tham-dinh"


def editor_xml(ctx, actors, draft_id: int) -> str:
    return studio.get_draft(ctx, actors["phantich"], draft_id).editor_xml


def package_of(ctx, actors, draft_id: int) -> dict:
    return studio.get_draft(ctx, actors["phantich"], draft_id).package


def save(client, draft_id: int, xml: str, token: str | None, *, as_file: bool = True, header: bool = False,
         revision: str | int | None = None):
    data: dict = {}
    if token is not None and not header:
        data["csrf_token"] = token
    if revision is not None:
        data["revision"] = str(revision)
    data["xml"] = (io.BytesIO(xml.encode()), "so-do.bpmn") if as_file else xml
    headers = {"X-CSRF-Token": token} if header and token else {}
    return client.post(f"/thiet-ke/ban-nhap/{draft_id}/bpmn", data=data, headers=headers,
                       content_type="multipart/form-data")


# --- the page ---------------------------------------------------------------------------------------


def test_the_editor_page_gives_the_script_its_addresses_and_token_and_loads_the_bundle_deferred(
        client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    response = client.get(f"/thiet-ke/ban-nhap/{draft_id}")

    page = html_of(response)
    assert response.status_code == 200
    assert f'data-xml-url="/thiet-ke/ban-nhap/{draft_id}/bpmn"' in page
    assert f'data-save-url="/thiet-ke/ban-nhap/{draft_id}/bpmn"' in page
    assert f'data-lint-url="/thiet-ke/ban-nhap/{draft_id}/kiem-tra"' in page
    assert f'data-catalog-url="/thiet-ke/danh-muc.json?draft={draft_id}"' in page
    assert 'data-csrf="' in page and 'id="studio-findings" aria-live="polite"' in page
    assert '<script src="/static/vendor/studio-editor.js' in page and '" defer></script>' in page
    assert 'href="/static/vendor/studio/studio-editor.css' in page
    assert ">Lưu sơ đồ</button>" in page and ">Kiểm tra lại</button>" in page
    assert 'aria-current="page"' in page and ">Sơ đồ</a>" in page  # the draft's tabs, this one current


def test_only_the_editor_page_lets_style_attributes_through_and_scripts_stay_self_only(
        client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    editor = client.get(f"/thiet-ke/ban-nhap/{draft_id}").headers["Content-Security-Policy"]
    elsewhere = client.get("/thiet-ke").headers["Content-Security-Policy"]

    assert editor == STUDIO_EDITOR_POLICY and "style-src-attr 'unsafe-inline'" in editor
    assert "script-src 'self';" in editor and "unsafe-eval" not in editor
    assert elsewhere == CONTENT_SECURITY_POLICY and "unsafe-inline" not in elsewhere


# --- reading the diagram ----------------------------------------------------------------------------


def test_the_editor_reads_the_draft_with_lane_roles_and_step_budgets_written_in(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    package = package_of(ctx, actors, draft_id)
    package["procedure"]["step_budgets"] = {"tiep_nhan": {"value": 0.5, "unit": "working_days"}}
    studio.save_draft_procedure(ctx, actors["phantich"], draft_id, package["procedure"])
    login("phantich")

    response = client.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")

    xml = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert "no-store" in response.headers["Cache-Control"]
    assert '<spiffworkflow:property name="role" value="specialist"' in xml
    assert '<spiffworkflow:property name="stepBudget" value="0.5 working_days"' in xml


# --- saving -----------------------------------------------------------------------------------------


def test_saving_a_renamed_task_stores_it_and_answers_with_the_message_and_the_findings(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    xml = editor_xml(ctx, actors, draft_id).replace('name="Thẩm định hồ sơ"', 'name="Thẩm định và đối chiếu"')

    response = save(client, draft_id, xml, token)

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["ok"] is True and body["message"].startswith("Đã lưu sơ đồ.")
    assert isinstance(body["findings"], list)
    assert all(set(f) == {"rule", "severity", "message", "element_id", "file", "line"} for f in body["findings"])
    stored = package_of(ctx, actors, draft_id)
    assert 'name="Thẩm định và đối chiếu"' in next(iter(stored["bpmn"].values()))
    assert studio.get_draft(ctx, actors["phantich"], draft_id).updated_by == "phantich"


def test_a_lane_role_and_a_step_budget_set_in_the_editor_land_in_procedure_json(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    xml = editor_xml(ctx, actors, draft_id).replace('name="role" value="specialist"', 'name="role" value="leader"')
    xml = xml.replace('<spiffworkflow:property name="formJsonSchemaFilename" value="tiep-nhan-schema.json"',
                      '<spiffworkflow:property name="stepBudget" value="2 working_hours" />'
                      '<spiffworkflow:property name="formJsonSchemaFilename" value="tiep-nhan-schema.json"')

    response = save(client, draft_id, xml, token, as_file=False)

    assert response.status_code == 200, response.get_json()
    procedure = package_of(ctx, actors, draft_id)["procedure"]
    assert procedure["lanes"]["Chuyên viên"] == "leader"
    assert procedure["step_budgets"]["tiep_nhan"] == {"value": 2, "unit": "working_hours"}
    assert "stepBudget" not in next(iter(package_of(ctx, actors, draft_id)["bpmn"].values()))


@pytest.mark.parametrize("header", [False, True])
def test_the_csrf_token_may_come_as_a_form_field_or_a_header(ctx, actors, client, login, fresh, draft_of, header):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = save(client, draft_id, editor_xml(ctx, actors, draft_id), token, header=header)

    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("token", [None, "gia-mao"])
def test_saving_without_the_right_csrf_token_is_refused_and_the_draft_is_unchanged(
        ctx, actors, client, login, fresh, draft_of, token):
    draft_id = draft_of(fresh)
    login("phantich")
    before = package_of(ctx, actors, draft_id)
    xml = editor_xml(ctx, actors, draft_id).replace("Thẩm định hồ sơ", "Đổi tên lén")

    response = save(client, draft_id, xml, token)

    assert response.status_code == 400
    assert package_of(ctx, actors, draft_id) == before


@pytest.mark.parametrize(("xml", "expected"), [
    ('<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n'
     '<bpmn:process id="p">\n</bpmn:definitions>', "dòng 4"),
    ('<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY lol "lol">]>\n<bpmn:definitions '
     'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol;</bpmn:definitions>', "DOCTYPE"),
    ('<note>không phải BPMN</note>', "bpmn:definitions"),
    ("   ", "Không nhận được nội dung sơ đồ"),
])
def test_broken_or_hostile_xml_is_refused_in_json_with_a_located_vietnamese_message(
        ctx, actors, client, login, fresh, draft_of, xml, expected):
    draft_id = draft_of(fresh)
    token = login("phantich")
    before = package_of(ctx, actors, draft_id)

    response = save(client, draft_id, xml, token, as_file=False)

    body = response.get_json()
    assert response.status_code == 400 and body["ok"] is False
    assert expected in body["message"] and body["errors"]["bpmn"]
    assert package_of(ctx, actors, draft_id) == before, "nothing saved"


def test_a_diagram_larger_than_the_engine_reads_is_refused_before_it_is_parsed(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    xml = editor_xml(ctx, actors, draft_id)
    huge = xml.replace("</bpmn:definitions>", "<!--" + "x" * MAX_BPMN_BYTES + "--></bpmn:definitions>")

    response = save(client, draft_id, huge, token)

    assert response.status_code == 400 and "MiB" in response.get_json()["message"]


# --- two people on one draft ------------------------------------------------------------------------


def test_the_diagram_comes_with_its_revision_and_each_save_answers_with_the_next_one(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    loaded = client.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")
    revision = int(loaded.headers["X-Draft-Revision"])
    assert revision == studio.get_draft(ctx, actors["phantich"], draft_id).revision

    first = save(client, draft_id, loaded.get_data(as_text=True).replace("Thẩm định hồ sơ", "Lần một"), token,
                 revision=revision)
    second = save(client, draft_id, loaded.get_data(as_text=True).replace("Thẩm định hồ sơ", "Lần hai"), token,
                  revision=first.get_json()["revision"])

    assert first.status_code == second.status_code == 200, (first.get_json(), second.get_json())
    assert revision < first.get_json()["revision"] < second.get_json()["revision"]
    assert 'name="Lần hai"' in editor_xml(ctx, actors, draft_id)


def test_a_save_from_an_editor_loaded_before_another_persons_save_is_a_409_and_their_diagram_is_kept(
        ctx, actors, client, login, fresh, draft_of, second_browser):
    draft_id = draft_of(fresh)
    token = login("phantich")
    mine = client.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")
    other, other_token = second_browser("quantri")
    theirs = other.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")
    assert theirs.headers["X-Draft-Revision"] == mine.headers["X-Draft-Revision"]
    saved = save(other, draft_id, theirs.get_data(as_text=True).replace("Thẩm định hồ sơ", "Quản trị đổi tên"),
                 other_token, revision=theirs.headers["X-Draft-Revision"])
    assert saved.status_code == 200, saved.get_json()

    refused = save(client, draft_id, mine.get_data(as_text=True).replace("Phê duyệt", "Phân tích đổi tên"), token,
                   revision=mine.headers["X-Draft-Revision"])

    body = refused.get_json()
    assert refused.status_code == 409 and body["ok"] is False
    assert "quantri" in body["message"] and "tải lại trang" in body["message"]
    stored = editor_xml(ctx, actors, draft_id)
    assert 'name="Quản trị đổi tên"' in stored and "Phân tích đổi tên" not in stored
    assert studio.get_draft(ctx, actors["phantich"], draft_id).updated_by == "quantri"


def test_a_revision_that_is_not_a_number_is_refused_and_nothing_is_saved(ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    before = package_of(ctx, actors, draft_id)

    response = save(client, draft_id, editor_xml(ctx, actors, draft_id).replace("Phê duyệt", "Khác"), token,
                    revision="mot")

    assert response.status_code == 400 and "tải lại trang" in response.get_json()["message"]
    assert package_of(ctx, actors, draft_id) == before


# --- findings ----------------------------------------------------------------------------------------


def test_the_findings_name_the_rule_the_severity_and_the_element_to_mark(ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    xml = editor_xml(ctx, actors, draft_id).replace(f"{THAM_DINH_FORM}-schema.json", "khong-co-schema.json")
    studio.save_draft_bpmn(ctx, actors["phantich"], draft_id, xml)
    login("phantich")

    response = client.get(f"/thiet-ke/ban-nhap/{draft_id}/kiem-tra")

    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is True
    expected = [Finding(**f) for f in body["findings"]]
    assert expected == studio.lint_draft(ctx, actors["phantich"], draft_id)
    missing = [f for f in expected if f.rule == "bieu-mau" and f.element_id == "tham_dinh"]
    assert missing and missing[0].severity == "error" and "khong-co" in missing[0].message
    assert "lỗi" in body["summary"]


# --- the catalogue ----------------------------------------------------------------------------------


def test_the_catalogue_offers_what_the_engine_accepts_and_the_labels_in_vietnamese(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    response = client.get(f"/thiet-ke/danh-muc.json?draft={draft_id}")

    catalog = response.get_json()
    assert response.status_code == 200
    assert {r["value"] for r in catalog["roles"]} == {"desk", "specialist", "leader", "applicant", "analyst", "admin"}
    assert {"value": "desk", "label": "Bộ phận một cửa"} in catalog["roles"]
    assert [s["value"] for s in catalog["statuses"]] == list(STATUSES)
    assert [o["value"] for o in catalog["operations"]] == registry.operations()
    assert catalog["forms"] == sorted(package_of(ctx, actors, draft_id)["forms"])
    assert "giay-tiep-nhan" in [k["value"] for k in catalog["document_kinds"]]
    assert [u["value"] for u in catalog["budget_units"]] == ["working_days", "working_hours", "days", "same_day"]
    assert catalog["labels"]["Name"] == "Tên" and catalog["labels"]["studio.role"] == "Vai trò thực hiện"


def test_the_catalogue_without_a_draft_has_no_forms_and_a_bad_draft_number_is_a_json_400(client, login):
    login("phantich")

    plain = client.get("/thiet-ke/danh-muc.json").get_json()
    bad = client.get("/thiet-ke/danh-muc.json?draft=abc")
    gone = client.get("/thiet-ke/danh-muc.json?draft=999999")

    assert plain["forms"] == [] and plain["deadline_rules"] == []
    assert bad.status_code == 400 and bad.get_json()["ok"] is False
    assert gone.status_code == 404 and "bản nháp" in gone.get_json()["message"]


# --- who may ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/thiet-ke/ban-nhap/{draft}/bpmn", "/thiet-ke/ban-nhap/{draft}/kiem-tra",
                                  "/thiet-ke/danh-muc.json?draft={draft}", "/thiet-ke/danh-muc.json"])
def test_json_routes_refuse_in_json_anonymous_visitors_with_401_and_officials_with_403(
        client, login, fresh, draft_of, path):
    url = path.format(draft=draft_of(fresh))

    anonymous = client.get(url)
    login("tiepnhan")
    official = client.get(url)

    assert anonymous.status_code == 401 and "đăng nhập" in anonymous.get_json()["message"]
    assert official.status_code == 403 and official.get_json()["ok"] is False


def test_an_official_cannot_save_a_diagram_and_an_anonymous_visitor_is_sent_to_log_in(
        ctx, actors, client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    before = package_of(ctx, actors, draft_id)

    page = client.get(f"/thiet-ke/ban-nhap/{draft_id}")
    token = login("chuyenvien")
    saved = save(client, draft_id, editor_xml(ctx, actors, draft_id).replace("Phê duyệt", "Tự phê"), token)

    assert page.status_code == 302 and "/dang-nhap" in page.headers["Location"]
    assert saved.status_code == 403 and saved.get_json()["ok"] is False
    assert package_of(ctx, actors, draft_id) == before
