"""Languages of the pages: Vietnamese by default, English by the browser's Accept-Language or the header's
switch (a `lang` cookie); the API stays Vietnamese; the catalogs are complete and match the code."""

from __future__ import annotations

import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from engine.config import PROJECT_ROOT
from engine.services import submit_dossier
from tests.factories import APPLICANT, household_form, open_task
from tests.web.conftest import HKD_SLUG
from web.i18n import DEFAULT_LOCALE, LOCALES, compile_catalogs

TRANSLATIONS = PROJECT_ROOT / "web" / "translations"
POT = TRANSLATIONS / "messages.pot"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
TRANSLATED = [code for code in LOCALES if code != DEFAULT_LOCALE]  # Vietnamese is the source
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def lang_of(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "the page has no <html lang>"
    return match.group(1)


def keys(catalog) -> set[tuple[str | None, str]]:
    """Each message as (context, msgid); a plural message by its singular."""
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}


# --- choosing the language ------------------------------------------------------------------------


def test_pages_are_in_vietnamese_when_the_browser_states_no_language(client):
    response = client.get("/")

    page = html_of(response)
    assert lang_of(page) == "vi"
    assert "Danh mục thủ tục hành chính" in page and ">Đăng nhập</a>" in page
    assert 'lang="vi" hreflang="vi" aria-current="true">Tiếng Việt</a>' in page
    assert {"Accept-Language", "Cookie"} <= set(response.vary), "caches must keep the languages apart"


def test_an_english_browser_gets_the_login_page_in_english(client):
    page = html_of(client.get("/dang-nhap", headers=ENGLISH))

    assert lang_of(page) == "en"
    assert "<title>Log in · motcua</title>" in page
    assert ">Username</label>" in page and ">Password</label>" in page and ">Log in</button>" in page
    assert "Tên đăng nhập" not in page and "Mật khẩu" not in page
    assert 'hreflang="en" aria-current="true">English</a>' in page


def test_an_english_browser_gets_the_home_page_in_english(client):
    page = html_of(client.get("/", headers=ENGLISH))

    assert lang_of(page) == "en"
    assert "<h1>Catalogue of administrative procedures</h1>" in page
    assert ">Procedure code</th>" in page and ">Submit dossier</a>" in page and "working days" in page
    assert ">Track a dossier</a>" in page and ">Skip navigation</a>" in page
    assert "Danh mục thủ tục" not in page


@pytest.mark.parametrize("accept", ["vi,en;q=0.8", "fr-FR,fr;q=0.9", "en;q=0.1,vi;q=0.5", ""])
def test_the_best_accept_language_match_wins_and_vietnamese_is_the_fallback(client, accept):
    page = html_of(client.get("/dang-nhap", headers={"Accept-Language": accept}))

    assert lang_of(page) == "vi" and ">Tên đăng nhập</label>" in page


def test_the_switch_sets_the_cookie_and_the_next_page_is_in_english(client):
    response = client.get("/ngon-ngu/en", headers={"Referer": "http://localhost/tra-cuu?code=X"})

    assert response.status_code == 302 and response.headers["Location"] == "/tra-cuu?code=X"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie, "the choice outlives the browser session"
    page = html_of(client.get(response.headers["Location"]))
    assert lang_of(page) == "en" and "<h1>Track a dossier</h1>" in page


def test_the_cookie_beats_the_browsers_accept_language(client):
    client.get("/ngon-ngu/vi")

    page = html_of(client.get("/dang-nhap", headers=ENGLISH))

    assert lang_of(page) == "vi" and ">Tên đăng nhập</label>" in page


@pytest.mark.parametrize("referer", [None, "http://evil.example/trang", "https://evil.example/tra-cuu",
                                     "http://localhost.evil.example/tra-cuu", "//evil.example/x",
                                     "http://localhost//evil.example/x", "http://localhost/\\evil.example",
                                     "http://localhost/\t/evil.example", "javascript:alert(1)",
                                     "ftp://localhost/x"])
def test_the_switch_sends_home_unless_the_referer_is_this_site(client, referer):
    headers = {"Referer": referer} if referer is not None else {}

    response = client.get("/ngon-ngu/en", headers=headers)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert response.headers["Set-Cookie"].startswith("lang=en;")


def test_an_unknown_language_code_is_a_404_and_sets_no_cookie(client):
    response = client.get("/ngon-ngu/fr")

    assert response.status_code == 404
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]


# --- messages from the views and the error handlers -----------------------------------------------


def test_error_pages_are_translated_but_the_api_keeps_its_vietnamese_message(client):
    client.get("/ngon-ngu/en")

    page = html_of(client.get("/khong-co-trang-nay"))
    api = client.get("/api/v1/khong-co", headers=ENGLISH)

    assert "<title>Error 404 · motcua</title>" in page and "Page or resource not found." in page
    assert api.status_code == 404 and api.get_json()["message"] == "Không tìm thấy trang hoặc tài nguyên."


def test_an_english_official_sees_flash_messages_and_the_dossier_history_in_english(ctx, client, login):
    from engine.services import authenticate

    citizen, desk = authenticate(ctx, "congdan", "demo"), authenticate(ctx, "tiepnhan", "demo")
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    task = open_task(ctx, desk, dossier.code)
    client.get("/ngon-ngu/en")
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={"csrf_token": token, "action": "claim"})

    assert urlsplit(response.headers["Location"]).path == f"/cong-viec/{task.id}"
    assert "You have claimed the task." in html_of(client.get(response.headers["Location"]))
    assert "Claimed by me" in html_of(client.get("/cong-viec"))
    page = html_of(client.get(f"/ho-so/{dossier.code}"))
    assert f"<h1>Dossier {dossier.code}</h1>" in page
    history = page.split("Processing history (control slip)", 1)[1]
    assert "Dossier submitted" in history and "Claimed “Tiếp nhận và kiểm tra hồ sơ”" in history


# --- the catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_has_a_translation_in_each_language(code):
    """Fails when a string is wrapped in _() and extracted without being translated (README, Translations)."""
    po_path = TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"
    template, translated = read_po(POT.open("rb")), read_po(po_path.open("rb"), locale=code)

    missing = sorted(keys(template) - keys(translated), key=str)
    assert not missing, f"not in {code}/messages.po (run pybabel update, then translate): {missing}"
    for message in translated:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"no {code} translation for {message.id!r}"
        assert not message.fuzzy, f"the {code} text for {message.id!r} is marked fuzzy: check it, then drop the flag"
    problems = [(m.id, [str(e) for e in errs]) for m, errs in translated.check()]
    assert not problems, f"placeholders differ from the msgid: {problems}"


def test_the_message_template_is_up_to_date_with_the_code_and_templates(tmp_path):
    extracted = tmp_path / "messages.pot"

    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(PROJECT_ROOT / "babel.cfg"),
                                "-o", str(extracted), str(PROJECT_ROOT)])

    fresh, committed = keys(read_po(extracted.open("rb"))), keys(read_po(POT.open("rb")))
    assert fresh == committed, (
        "web/translations/messages.pot is stale: run `pybabel extract -F babel.cfg -o "
        f"web/translations/messages.pot .`; new: {sorted(fresh - committed, key=str)}, "
        f"gone: {sorted(committed - fresh, key=str)}")
    for code in TRANSLATED:
        stale = keys(read_po((TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb"))) - committed
        assert not stale, f"{code}/messages.po translates messages no longer used (pybabel update): {stale}"


def test_catalogs_are_compiled_when_missing_or_older_than_their_po(tmp_path):
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = shutil.copy(EN_PO, folder / "messages.po")
    mo = folder / "messages.mo"

    assert compile_catalogs(tmp_path) == [mo]
    assert read_mo(mo.open("rb")).get("Đăng nhập").string == "Log in"
    assert compile_catalogs(tmp_path) == [], "an up-to-date .mo is left alone"

    os.utime(po, (mo.stat().st_mtime + 10,) * 2)
    assert compile_catalogs(tmp_path) == [mo], "an edited .po is compiled again"
