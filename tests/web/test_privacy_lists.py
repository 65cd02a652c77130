"""Lists never show an applicant's identity number, phone or e-mail in full: the officials' inbox
(even when searched by that number), the admin's dossier search, the report lists and exports, the
API's task list. Full values stay on the dossier's own pages (whose reads are access-logged)."""

from __future__ import annotations

from engine.privacy import mask_id_number, mask_phone
from engine.services import list_inbox
from tests.factories import APPLICANT, submit

#: the applicant's and the example form's identifiers (tests/factories.py, example-submission.json)
FULL_VALUES = (APPLICANT["id_number"], APPLICANT["phone"], APPLICANT["email"], "099186000123", "0987654321")


def leaks(body: str) -> list[str]:
    return [value for value in FULL_VALUES if value in body]


def test_list_pages_and_the_api_task_list_show_no_full_identity_number_or_phone(ctx, actors, app, token):
    code = submit(ctx, actors["congdan"]).code
    # the search by the exact ID number finds the dossier: the row shown must not echo the number
    assert [t.dossier_code for t in list_inbox(ctx, actors["tiepnhan"], search=APPLICANT["id_number"])] == [code]

    desk = app.test_client()
    _login(desk, "tiepnhan")
    inbox = desk.get(f"/cong-viec?q={APPLICANT['id_number']}").get_data(as_text=True)
    # the official's own query is echoed in the search box and the links that keep it, nowhere else
    echoed = inbox.replace(f'value="{APPLICANT["id_number"]}"', "").replace(f'q={APPLICANT["id_number"]}', "")
    assert code in inbox and leaks(echoed) == []

    admin = app.test_client()
    _login(admin, "quantri")
    for url in ("/quan-tri/ho-so?ma=" + code[:20], "/quan-tri/bao-cao/ho-so/submitted",
                "/quan-tri/bao-cao/xuat/dossiers.csv?chi_so=submitted"):
        response = admin.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (url, response.status_code)
        assert code in body and leaks(body) == [], url

    api = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token('tiepnhan')}"})
    assert api.status_code == 200 and code in api.get_data(as_text=True)
    assert leaks(api.get_data(as_text=True)) == []


def test_the_template_filters_mask_as_the_engine_does(app):
    with app.app_context():
        render = app.jinja_env.from_string("{{ n|mask_id }} {{ p|mask_phone }} {{ e|mask_email }}").render
        assert render(n=APPLICANT["id_number"], p=APPLICANT["phone"], e=APPLICANT["email"]) == (
            f"{mask_id_number(APPLICANT['id_number'])} {mask_phone(APPLICANT['phone'])} c***@example.vn")


def _login(client, username: str) -> None:
    from tests.web.conftest import csrf_of

    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": form_token})
    assert response.status_code == 302
