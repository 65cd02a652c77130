"""Hostile text in every free-text field of a real procedure, read back on every page and document.

A dossier of the household-business procedure is submitted with `<script>`, an attribute breaker and
a template expression in every text field its start form lets through (the applicant's name is a
SQL-injection classic), then worked by the desk and the specialist who type the same into their
notes. Every page that shows the dossier, and the generated receipt PDF, must show the text
verbatim, escaped, and hold no live tag; the database must keep it verbatim.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pypdfium2 as pdfium
import pytest
from jsonschema import Draft202012Validator
from lxml import html as lxml_html

from engine.config import PROJECT_ROOT
from engine.services import get_dossier, get_task, submit_dossier
from engine.services.dossiers import list_attachments, read_attachment
from tests.factories import APPLICANT, drain_all, household_form, open_task, work
from tests.web.conftest import HKD_SLUG, csrf_of

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}")
COMBINED = "".join(PAYLOADS)
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", "{{7*7}}")
SQL = "'; DROP TABLE dossier;--"
START_SCHEMA = json.loads((PROJECT_ROOT / "processes" / HKD_SLUG / "forms" / "de-nghi-schema.json").read_text("utf-8"))


def hostile(schema: dict[str, Any], value: Any, filled: list[str], path: str = "") -> Any:
    """`value` with every free-text string the schema accepts replaced by the payloads (appended to
    the original when the field wants a fixed opening, e.g. "Hộ kinh doanh ...")."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: hostile(props.get(k, {}), v, filled, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(schema.get("items", {}), v, filled, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or {"format", "enum", "const"} & set(schema):
        return value
    validator = Draft202012Validator(schema)
    for candidate in (COMBINED, f"{value} {COMBINED}", PAYLOADS[1] + PAYLOADS[2]):
        if validator.is_valid(candidate):
            filled.append(path)
            return candidate
    return value


def logged_in(app, username: str):
    client = app.test_client()
    token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": token})
    assert response.status_code == 302, username
    return client


def assert_inert(page: str, where: str) -> None:
    """No payload became markup: no script running it, no element carrying an event handler."""
    assert PAYLOADS[0] not in page and "<img src=x" not in page, f"raw payload on {where}"
    doc = lxml_html.fromstring(page)
    assert not doc.xpath("//script[contains(., 'alert(1)')]"), f"live script on {where}"
    assert not doc.xpath("//*[@onerror]"), f"live event handler on {where}"


def assert_shown_escaped(page: str, where: str) -> None:
    assert_inert(page, where)
    for escaped in ESCAPED:
        assert escaped in page, f"{where} does not show {escaped!r}: " + page[page.find("<main"):][:3000]


@pytest.fixture
def hostile_dossier(ctx, actors):
    """Submitted with payloads everywhere, received by the desk (receipt rendered), assessed by the
    specialist; waits at the leader's approval."""
    filled: list[str] = []
    data = hostile(START_SCHEMA, household_form(), filled)
    assert len(filled) >= 9, filled  # the walker really reached the form's text fields
    applicant = dict(APPLICANT, name=f"{SQL} {PAYLOADS[0]}")
    dossier = submit_dossier(ctx, actors["congdan"], HKD_SLUG, applicant, data)
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan", "ghi_chu": COMBINED})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": COMBINED})
    drain_all(ctx)
    return dossier, applicant, data


def test_hostile_text_is_stored_verbatim_including_sql_metacharacters(ctx, actors, hostile_dossier):
    dossier, applicant, data = hostile_dossier
    stored = get_dossier(ctx, actors["tiepnhan"], dossier.code, with_data=True)
    assert stored.applicant_name == applicant["name"]
    assert stored.data["ten_ho_kinh_doanh"] == data["ten_ho_kinh_doanh"]
    assert stored.data["tru_so"] == data["tru_so"]


def test_every_page_showing_the_dossier_escapes_the_payloads(ctx, actors, app, hostile_dossier):
    dossier, applicant, _data = hostile_dossier
    code = dossier.code
    leader_task = open_task(ctx, actors["lanhdao"], code)
    pages: dict[str, tuple[str, str, bool]] = {  # name: (user, path, shows the form's text)
        "citizen's dossier": ("congdan", f"/ho-so-cua-toi/{code}", False),
        "citizen's list": ("congdan", "/ho-so-cua-toi", False),
        "leader's inbox": ("lanhdao", "/cong-viec", False),
        "leader's task": ("lanhdao", f"/cong-viec/{leader_task.id}", True),
        "dossier": ("tiepnhan", f"/ho-so/{code}", False),
        "receipt": ("tiepnhan", f"/ho-so/{code}/bien-nhan", False),
        "operations list": ("quantri", f"/quan-tri/ho-so?q={code}", False),
        "operations instance": ("quantri", f"/quan-tri/ho-so/{code}", False),
        "audit log": ("quantri", f"/quan-tri/ho-so/{code}/nhat-ky", False),
        "reports list": ("quantri", f"/quan-tri/bao-cao/ho-so/submitted?tu_ngay={date.today().replace(day=1)}"
                                    f"&den_ngay={date.today()}", False),
    }
    seen_name = set()
    clients = {user: logged_in(app, user) for user in {user for user, _path, _form in pages.values()}}
    for where, (user, path, shows_form) in pages.items():
        response = clients[user].get(path)
        assert response.status_code == 200, (where, response.status_code)
        page = response.get_data(as_text=True)
        (assert_shown_escaped if shows_form else assert_inert)(page, where)
        if "&#39;; DROP TABLE dossier;--" in page:
            seen_name.add(where)
    assert {"leader's task", "dossier", "receipt"} <= seen_name, seen_name


def test_the_public_tracking_page_escapes_the_payloads(client, hostile_dossier):
    dossier, applicant, _data = hostile_dossier
    response = client.get("/tra-cuu", query_string={"code": dossier.code, "secret": applicant["phone"]})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_inert(page, "tracking")
    assert dossier.code in page


def test_the_generated_receipt_pdf_prints_the_payloads_as_text(ctx, actors, hostile_dossier):
    dossier, _applicant, _data = hostile_dossier
    [receipt] = [a for a in list_attachments(ctx, actors["tiepnhan"], dossier.code) if a.kind == "giay-tiep-nhan"]
    document = pdfium.PdfDocument(read_attachment(ctx, actors["tiepnhan"], dossier.code, receipt.id)[1])
    text = "".join(page.get_textpage().get_text_range() for page in document)
    flat = "".join(text.split())
    # Markup that had become tags would vanish from the printed text; escaped, it prints as typed.
    assert "".join(f"{SQL} {PAYLOADS[0]}".split()) in flat


def test_the_task_form_shown_again_keeps_hostile_notes_escaped(ctx, actors, client, login, hostile_dossier):
    dossier, _applicant, _data = hostile_dossier
    task = get_task(ctx, actors["lanhdao"], open_task(ctx, actors["lanhdao"], dossier.code).id)
    token = login("lanhdao")
    response = client.post(f"/cong-viec/{task.id}", data={"csrf_token": token, "action": "complete",
                                                          "quyet_dinh": COMBINED, "y_kien_phe_duyet": COMBINED})
    assert response.status_code == 400
    assert_inert(response.get_data(as_text=True), "the leader's refused form")


def test_a_hostile_supplement_request_is_escaped_for_the_citizen_and_in_its_pdf(ctx, actors, app):
    """What officials type reaches the citizen: the items asked for and the reason, on the page and in
    the supplement request PDF."""
    dossier = submit_dossier(ctx, actors["congdan"], HKD_SLUG, dict(APPLICANT), household_form())
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "bo_sung", "y_kien": COMBINED,
                                                   "giay_to_thieu": [COMBINED, SQL]})
    drain_all(ctx)

    page = logged_in(app, "congdan").get(f"/ho-so-cua-toi/{dossier.code}").get_data(as_text=True)
    assert_shown_escaped(page, "citizen's dossier")
    assert "&#39;; DROP TABLE dossier;--" in page
    [request] = [a for a in list_attachments(ctx, actors["tiepnhan"], dossier.code) if a.kind == "phieu-yeu-cau-bo-sung"]
    document = pdfium.PdfDocument(read_attachment(ctx, actors["tiepnhan"], dossier.code, request.id)[1])
    flat = "".join("".join(page.get_textpage().get_text_range() for page in document).split())
    assert "".join(COMBINED.split()) in flat and "".join(SQL.split()) in flat
