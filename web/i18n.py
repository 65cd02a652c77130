"""Languages of the pages: Vietnamese is the source language of every message (the msgids), English
comes from the Flask-Babel catalog in web/translations; the visitor's choice lives in a `lang` cookie."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, url_for
from flask_babel import Babel, get_locale

from web.redirects import same_site_path

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
TIMEZONE = "Asia/Ho_Chi_Minh"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).parent / "translations"

log = logging.getLogger(__name__)
bp = Blueprint("i18n", __name__)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it yet: the same text is the API's
    Vietnamese `message` and, passed through `gettext` when a page shows it, the page's text."""
    return message


def select_locale() -> str:
    """The `lang` cookie set by the switch, else the browser's Accept-Language, else Vietnamese."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def page_locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


@bp.get("/ngon-ngu/<code>")
def switch(code: str) -> Response:
    """The header's language links: remember the choice and go back to the page the visitor was on."""
    if code not in LOCALES:
        abort(404)
    response = redirect(same_site_path(request.referrer) or url_for("pages.home"))
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each `<lang>/LC_MESSAGES/*.po` into the `.mo` beside it when that is missing or older.

    The binary catalogs are not in git (*.mo is ignored): compiling at app start means `make run`,
    the tests and a fresh clone need no extra build step. Written to a temporary file and renamed,
    so several workers starting at once never read a half-written catalog. A read-only install
    logs the failure and serves the Vietnamese source text."""
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}.tmp")
        try:
            with po_path.open("rb") as source:
                catalog = read_po(source, locale=po_path.parent.parent.name)
            with partial.open("wb") as target:
                write_mo(target, catalog)
            os.replace(partial, mo_path)
        except OSError:
            log.warning("cannot compile %s; its language falls back to Vietnamese", po_path, exc_info=True)
            partial.unlink(missing_ok=True)
            continue
        compiled.append(mo_path)
    return compiled


def register(app: Flask) -> None:
    compile_catalogs()
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE, default_timezone=TIMEZONE,
          default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals["page_locale"] = page_locale
    app.register_blueprint(bp)

    @app.after_request
    def _vary(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.vary.update(("Accept-Language", "Cookie"))  # the same URL answers in either language
        return response
