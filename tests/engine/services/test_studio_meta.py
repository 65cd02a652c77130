"""The studio's checks of the procedure.json fields an analyst edits (engine/services/studio_meta.py)."""

from __future__ import annotations

from engine.services.studio_meta import check_meta
from tests.engine.procedures.models import linear


def test_a_step_budget_may_be_counted_since_an_earlier_step():
    budgets = {"tham_dinh": {"value": 1, "unit": "working_days"},
               "phe_duyet": {"value": 2, "unit": "working_days", "since": "tham_dinh"}}
    assert check_meta({"step_budgets": budgets}, linear()) == {}


def test_a_since_that_is_not_one_element_id_is_refused_in_vietnamese():
    errors = check_meta({"step_budgets": {
        "a": {"value": 1, "unit": "working_days", "since": "tham dinh"},  # the editor could not carry it back
        "b": {"value": 1, "unit": "working_days", "since": ["tham_dinh"]},
        "c": {"value": 1, "unit": "working_days", "since": ""},
        "d": {"value": 1, "unit": "working_days", "tu": "tham_dinh"},
    }}, linear())
    assert set(errors) == {"step_budgets.a", "step_budgets.b", "step_budgets.c", "step_budgets.d"}
    assert "since" in errors["step_budgets.a"][0] and "khoảng trắng" in errors["step_budgets.a"][0]
    assert "Khóa không được hỗ trợ: tu" in errors["step_budgets.d"][0]


def test_since_is_not_accepted_on_the_legal_deadline():
    errors = check_meta({"deadline": {"value": 7, "unit": "working_days", "since": "tiep_nhan"}}, linear())
    assert "since" in errors["deadline"][0]
