"""The studio's test run: a draft run in memory with sample data, step by step, with no side effects
(no dossier, no outbox, connectors answered by the analyst's sample results).

Stateless replay: the page carries the start data and every answer so far in hidden fields, and
each step runs the draft again from the start with one more answer. Nothing is stored between
steps, so any number of test runs can go on in any number of tabs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

import forms
from engine.services import studio
from web.auth import engine_ctx, login_required, page_actor
from web.filters import status_name
from web.pages import bp
from web.pages.studio_json import pretty, read_json
from web.pages.studio_procedure import LANE_ROLES

START_PREFIX = "khai"
#: Most answers a replay takes; a longer test run starts again (a loop in the model shows long before).
MAX_ANSWERS = 200


@dataclass
class AnswerForm:
    """What the page asks for one waiting element: a task's form, a connector's result, or a timer."""

    index: int
    waiting: Any  # SimWaiting
    form_html: Markup | None = None
    result_text: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Refused:
    """An answer that could not be added: shown again, with its errors, under the element it answers."""

    element_id: str
    form_html: Markup | None = None
    result_text: str = ""
    error: str = ""


def _form(package: dict[str, Any], name: str | None) -> forms.Form | None:
    """The draft's form `name`; None when it has none or the renderer refuses it (the run itself
    then stops with the form's error, located)."""
    stored = package["forms"].get(name) if name else None
    try:
        return forms.load_form(stored["schema"], stored.get("ui_schema")) if stored else None
    except ValueError:
        return None


def _validated(form: forms.Form | None, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if form is None:
        return data, {}
    try:
        return forms.validate(form, data), {}
    except forms.FormInvalid as exc:
        return data, exc.errors


def _answer_forms(package: dict[str, Any], run: Any, refused: Refused | None) -> list[AnswerForm]:
    shown = []
    for index, waiting in enumerate(run.waiting if not run.ended else []):
        if refused is not None and refused.element_id == waiting.element_id:
            shown.append(AnswerForm(index, waiting, refused.form_html, refused.result_text, refused.error))
            continue
        item = AnswerForm(index, waiting)
        if waiting.kind == "user":
            form = _form(package, waiting.form)
            item.form_html = forms.render_form(form, waiting.sample or {}, prefix=f"tra-loi-{index}") if form else None
        elif waiting.kind == "service":
            item.result_text = pretty(waiting.sample or {})
        shown.append(item)
    return shown


def _posted_answer(package: dict[str, Any]) -> tuple[dict[str, Any] | None, Refused | None]:
    """The answer this POST adds (for the element, kind and form the page named), or why not."""
    element, kind = request.form.get("element", ""), request.form.get("kind")
    index = request.form.get("index", "0")
    prefix = f"tra-loi-{index if index.isdigit() else 0}"
    if kind == "timer":
        return {"timer": element}, None
    if kind == "service":
        result = read_json(request.form.get("result"), empty={})
        if not result.ok:
            return None, Refused(element, result_text=result.text, error=result.error or "")
        return {"service": element, "result": result.value}, None
    form = _form(package, request.form.get("form"))
    data = forms.parse_form(form, request.form, prefix=prefix) if form else {}
    data, problems = _validated(form, data)
    if problems:
        return None, Refused(element, form_html=forms.render_form(form, data, problems, prefix=prefix),
                             error=_("Câu trả lời chưa hợp lệ với biểu mẫu."))
    return {"task": element, "data": data}, None


def _carried() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    start = read_json(request.form.get("start_data"), empty={})
    answers = read_json(request.form.get("answers"), empty=[], want_object=False)
    if not start.ok or not answers.ok or not isinstance(answers.value, list) or len(answers.value) > MAX_ANSWERS \
            or not all(isinstance(a, dict) for a in answers.value):
        return {}, [], _("Dữ liệu chạy thử gửi lên bị hỏng; hãy bắt đầu chạy thử lại.")
    return start.value, answers.value, None


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/chay-thu", methods=["GET", "POST"])
@login_required
def studio_simulation(draft_id: int):
    """GET: the start form with sample data. POST "start": run from it; "answer": one more answer;
    "undo": one answer fewer (the start data and answers so far come back in hidden fields)."""
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    start_form = _form(draft.package, draft.package["procedure"].get("start_form"))
    action = request.form.get("action") if request.method == "POST" else None
    if action is None:
        sample = studio.sample_start_data(ctx, actor, draft_id)
        html = forms.render_form(start_form, sample, prefix=START_PREFIX) if start_form else None
        return render_template("studio/simulation.html", draft=draft, start_html=html, run=None)
    if action == "start":
        data = forms.parse_form(start_form, request.form, prefix=START_PREFIX) if start_form else {}
        start_data, problems = _validated(start_form, data)
        if problems:
            html = forms.render_form(start_form, data, problems, prefix=START_PREFIX)
            return render_template("studio/simulation.html", draft=draft, start_html=html, run=None), 400
        return _run_page(draft, start_data, [], None)
    start_data, answers, broken = _carried()
    if broken:
        return render_template("studio/simulation.html", draft=draft, start_html=None, run=None, broken=broken), 400
    if action == "undo":
        return _run_page(draft, start_data, answers[:-1], None)
    answer, refused = _posted_answer(draft.package)
    return _run_page(draft, start_data, [*answers, answer] if answer is not None else answers, refused)


def _run_page(draft: Any, start_data: dict[str, Any], answers: list[dict[str, Any]], refused: Refused | None):
    run = studio.simulate_draft(engine_ctx(), page_actor(), draft.id, start_data, answers)
    return render_template("studio/simulation.html", draft=draft, start_html=None, run=run, answers=answers,
                           start_json=_json(start_data), answers_json=_json(answers), marks_json=_json(_marks(run)),
                           answer_forms=_answer_forms(draft.package, run, refused),
                           status_text=status_name(run.status) if run.status else None, roles=LANE_ROLES
                           ), 400 if refused else 200


def _json(value: Any) -> str:
    """A value for an HTML attribute (the page escapes it; the browser gives the JSON back as it was)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _marks(run: Any) -> dict[str, str]:
    """The diagram's highlights: where the run has been, and where it waits now."""
    marks = {step.element_id: "studio-path" for step in run.path if step.element_id}
    marks.update({w.element_id: "studio-current" for w in (run.waiting if not run.ended else [])})
    return marks
