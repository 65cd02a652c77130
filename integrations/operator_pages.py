"""The frame of a simulator's operator pages: the HTML a person uses to play the other side.

The peer agency desk (``/desk``) and the signer's phone (``/app``) are served by their
simulators' own Flask apps and built like product pages: Jinja2 autoescaping, a per-app CSRF
token in every form, a CSP without any script, no caching of pages. :class:`OperatorPages`
holds that frame once; each page set adds only its routes and error pages. Its templates
extend ``operator_pages/base.html`` (``integrations/templates/``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request

__all__ = ["OperatorPages"]

_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class OperatorPages:
    """A blueprint for one simulator's pages, with the CSRF check and the security headers.

    ``folder`` names both the templates (``templates/<folder>/``) and the static files
    (``static/<folder>/``, served at ``<url_prefix>/static``) next to ``import_name``'s module.
    ``max_content_length``, when given, is read on every POST before the form is parsed, so
    an upload limit the simulator changes at run time applies to the CSRF check's parsing too.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        url_prefix: str,
        folder: str,
        max_content_length: Callable[[], int] | None = None,
    ) -> None:
        self.blueprint = Blueprint(
            name,
            import_name,
            url_prefix=url_prefix,
            template_folder="templates",
            static_folder=f"static/{folder}",
            static_url_path="/static",
        )
        # a blueprint of templates only: puts the shared base.html on the app's template path
        self.blueprint.register_blueprint(Blueprint("operator_pages", __name__, template_folder="templates"))
        self._folder = folder
        self._csrf_token = secrets.token_urlsafe(32)
        self._max_content_length = max_content_length
        self.blueprint.before_request(self._check_csrf)
        self.blueprint.after_request(self._security_headers)

    def page(self, template: str, status: int = 200, **context: Any) -> tuple[str, int]:
        """``<folder>/<template>`` rendered with the CSRF token its forms carry."""
        return render_template(f"{self._folder}/{template}", csrf_token=self._csrf_token, **context), status

    def message(self, title: str, text: str, status: int) -> tuple[str, int]:
        """The page set's ``message.html``: a title and one sentence, for errors."""
        return self.page("message.html", status, title=title, text=text)

    def _check_csrf(self) -> tuple[str, int] | None:
        if request.method != "POST":
            return None
        if self._max_content_length is not None:
            request.max_content_length = self._max_content_length()
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), self._csrf_token.encode()):
            return self.message(
                "Yêu cầu không hợp lệ",
                "Thiếu hoặc sai mã chống giả mạo yêu cầu. Hãy tải lại trang rồi thao tác lại.",
                403,
            )
        return None

    def _security_headers(self, response: Response) -> Response:
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Frame-Options"] = "DENY"  # nobody frames an approve or send button
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.endpoint != f"{self.blueprint.name}.static":
            response.headers["Cache-Control"] = "no-store"
        return response
