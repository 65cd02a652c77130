"""Samples for a test run: a valid, deterministic answer for a procedure form, a sample applicant,
and what the connectors a procedure waits for would answer.

An analyst trying a draft should not type a whole declaration before seeing the first gateway:
every field of the form gets a value that passes the form's own validation (the JSON Schema
subset forms/ supports), and the same schema always gives the same sample, so a test run can
be replayed. Choices take their first option, which in our procedures is the ordinary path
(accept, approve); the analyst changes the deciding fields to try the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from forms.formats import FORMAT_CHECKER
from forms.schema_tools import MAX_DEPTH, primary_type, resolve

__all__ = ["SAMPLE_APPLICANT", "SIMULATED_CODE", "sample_data", "sample_result", "sample_start_data",
           "start_form_sample", "task_sample"]

SIMULATED_CODE = "MO-PHONG"
#: Who submits in a test run unless the start data names an applicant ("applicant": {...}).
SAMPLE_APPLICANT = {"name": "Nguyễn Văn An", "phone": "0912345678", "id_number": "001090000001",
                    "email": "nguoi.mau@example.vn", "kind": 1}
#: What the connectors the procedures wait for answer, as their docstrings say (the analyst edits it).
_SAMPLE_RESULTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "dvcqg_payment/init_payment": lambda p: {"redirect_url": "https://thanhtoan.example.vn/mo-phong",
                                             "reference": SIMULATED_CODE, "amount": p.get("amount", 0)},
    "dvcqg_payment/query_payment": lambda p: {"reference": p.get("reference", SIMULATED_CODE), "state": "paid"},
    "vdxp/send_edoc": lambda p: {"doc_id": SIMULATED_CODE, "status": "OK", "document_id": SIMULATED_CODE},
}
#: One value per supported format, each valid for it (formats the procedures use: CCCD, phone...).
FORMAT_SAMPLES: dict[str, str] = {
    "date": "1990-01-15",
    "date-time": "2025-01-15T08:00:00+07:00",
    "email": "nguoi.mau@example.vn",
    "uri": "https://dichvucong.example.vn",
    "cccd": "001090000001",
    "phone-vn": "0912345678",
    "tax-code": "0123456789",
    "data-url": "tep-mau.pdf",
}
#: Plausible texts tried first against a `pattern`, so a sample reads like an answer, not "AAA".
_PATTERN_CANDIDATES = ("NGUYỄN VĂN AN", "Việt Nam", "Hộ kinh doanh Minh An", "01/2025", "0123456789",
                       "2025", "AB123456", "1")
#: Passes of re-evaluating if/then/else until the sample no longer changes (conditions may chain).
_CONDITION_PASSES = 8
_SAMPLE_YEAR = 1990
#: Bounds on one sample: a draft's form is untrusted, and `minItems`/`minLength` of a billion
#: (or nested arrays) must not take the server's memory. Past them the sample is left short.
#: The size counts one per value plus the characters of each text.
MAX_SAMPLE_SIZE = 200_000
MAX_SAMPLE_TEXT = 10_000
_OMIT = object()


def sample_data(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of the form `schema` filled with a valid value: const, default, first example,
    first choice, a value of the field's format or pattern within its bounds; arrays get
    `minItems` items (at least one); if/then/else branches are followed as the sample decides."""
    if not isinstance(schema, Mapping) or not _is_json_schema(schema):
        return {}
    value = _Sampler(schema).value(schema, 0)
    return value if isinstance(value, dict) else {}


def _is_json_schema(schema: Mapping[str, Any]) -> bool:
    """Whether `schema` is valid JSON Schema: an imported form is not checked until it is saved or
    published, and one that is not gets no sample (the form editor and lint say why)."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError:
        return False
    return True


def start_form_sample(package: Mapping[str, Any]) -> dict[str, Any]:
    """The sample answers of `package`'s start form ({} when it has none)."""
    start = package["procedure"].get("start_form")
    schema = (package["forms"].get(start) or {}).get("schema") if start else None
    return sample_data(schema) if isinstance(schema, Mapping) else {}


def sample_start_data(package: Mapping[str, Any]) -> dict[str, Any]:
    """A valid start for a test run of `package`: the start form's sample answers and a sample applicant."""
    return {**start_form_sample(package), "applicant": dict(SAMPLE_APPLICANT)}


def task_sample(schema: Mapping[str, Any], ui_schema: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """A task form's sample, its read-only fields showing what the dossier holds (as the task page does)."""
    sample = sample_data(schema)
    ui = ui_schema if isinstance(ui_schema, Mapping) else {}
    for key, prop in (schema.get("properties") or {}).items():
        field_ui = ui.get(key) if isinstance(ui.get(key), Mapping) else {}
        read_only = (isinstance(prop, Mapping) and prop.get("readOnly")) or field_ui.get("ui:readonly")
        if read_only and key in data:
            sample[key] = data[key]
    return sample


def sample_result(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """What the connector operation would answer, for the analyst to edit ({} when not known)."""
    make = _SAMPLE_RESULTS.get(operation)
    return make(params) if make else {}


class _Sampler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._defs = {key: root[key] for key in ("$defs",) if key in root}
        self.budget = MAX_SAMPLE_SIZE

    def value(self, node: Any, depth: int) -> Any:
        if node is False or depth > MAX_DEPTH or self.budget <= 0:
            return _OMIT
        self.budget -= 1
        schema = _flatten(self.root, resolve(self.root, node)) if isinstance(node, Mapping) else {}
        for keyword in ("const", "default"):
            if keyword in schema:
                return schema[keyword]
        if isinstance(schema.get("examples"), list) and schema["examples"] and self.holds(schema["examples"][0],
                                                                                           schema):
            return schema["examples"][0]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for keyword in ("oneOf", "anyOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                rest = {key: item for key, item in schema.items() if key != keyword}
                return self.value(_merge(rest, resolve(self.root, branches[0])), depth + 1)
        kind = primary_type(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        text = _string(schema)
        self.budget -= len(text)
        return text

    def holds(self, value: Any, schema: Any) -> bool:
        """Whether `value` satisfies `schema` (which may point into the form's $defs)."""
        if isinstance(schema, bool):
            return schema
        document = {**self._defs, **schema} if isinstance(schema, Mapping) else schema
        validator = jsonschema.Draft202012Validator(document, format_checker=FORMAT_CHECKER)
        return validator.is_valid(value)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, sub in (schema.get("properties") or {}).items():
            value = self.value(sub, depth + 1)
            if value is not _OMIT:
                result[name] = value
        for _ in range(_CONDITION_PASSES):
            if not self._apply_conditions(schema, schema, result, depth):
                break
        return result

    def _apply_conditions(self, clauses: Mapping[str, Any], owner: Mapping[str, Any], result: dict[str, Any],
                          depth: int) -> bool:
        """Make `result` (an object of schema `owner`) satisfy the branch each if/then/else in
        `clauses` picks; True when anything changed."""
        changed = False
        for clause in [clauses, *(resolve(self.root, part) for part in clauses.get("allOf") or [])]:
            if "if" not in clause:
                continue
            branch = clause.get("then") if self.holds(result, clause["if"]) else clause.get("else")
            if isinstance(branch, Mapping):
                changed |= self._satisfy(_flatten(self.root, resolve(self.root, branch)), owner, result, depth)
        return changed

    def _satisfy(self, branch: Mapping[str, Any], owner: Mapping[str, Any], result: dict[str, Any],
                 depth: int) -> bool:
        changed = False
        properties = branch.get("properties") or {}
        for name in dict.fromkeys([*properties, *(branch.get("required") or [])]):
            extra = properties.get(name, {})
            if extra is False:
                changed |= result.pop(name, _OMIT) is not _OMIT
                continue
            if name in result and self.holds(result[name], extra):
                continue
            own = resolve(self.root, _declared(owner, name))
            value = self.value(_merge(own, resolve(self.root, extra)) if isinstance(extra, Mapping) else own,
                               depth + 1)
            if value is not _OMIT and result.get(name, _OMIT) != value:
                result[name] = value
                changed = True
        nested = {key: item for key, item in branch.items() if key in ("if", "then", "else", "allOf")}
        return self._apply_conditions(nested, owner, result, depth) or changed

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        min_items = schema.get("minItems")
        count = min(max(min_items if isinstance(min_items, int) else 0, 1), self.budget)
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        items = schema.get("items")
        item_schema = resolve(self.root, items) if isinstance(items, Mapping) else {}
        options = _options(item_schema)
        if options is not None:
            return options[:count] if len(options) >= count else [options[i % len(options)] for i in range(count)]
        values = []
        for index in range(count):
            value = self.value(item_schema, depth + 1)
            if value is _OMIT:
                break
            if isinstance(value, str) and index and schema.get("uniqueItems"):
                value = _fit(f"{value} {index + 1}", item_schema)
            values.append(value)
        return values


def _flatten(root: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with its unconditional `allOf` parts merged in (conditional ones stay in allOf)."""
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    conditional = []
    for part in schema.get("allOf") or []:
        part = resolve(root, part)
        if "if" in part:
            conditional.append(part)
        else:
            merged = _merge(merged, _flatten(root, part))
    if conditional:
        merged["allOf"] = conditional
    return merged


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Both schemas at once, as far as a sample needs: properties merged, `required` united."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(value, Mapping):
            properties = dict(merged.get("properties") or {})
            for name, sub in value.items():
                old = properties.get(name)
                both = isinstance(old, Mapping) and isinstance(sub, Mapping)
                properties[name] = _merge(old, sub) if both else sub
            merged["properties"] = properties
        elif key == "required":
            merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
        else:
            merged[key] = value
    return merged


def _declared(owner: Mapping[str, Any], name: str) -> Any:
    """The schema `owner` declares for property `name` (in `properties`, or in a branch declaring it)."""
    found = (owner.get("properties") or {}).get(name)
    if isinstance(found, Mapping):
        return found
    for part in [owner, *(owner.get("allOf") or [])]:
        for key in ("then", "else"):
            branch = part.get(key) if isinstance(part, Mapping) else None
            found = (branch.get("properties") or {}).get(name) if isinstance(branch, Mapping) else None
            if isinstance(found, Mapping):
                return found
    return {}


def _options(schema: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return list(schema["enum"])
    for keyword in ("oneOf", "anyOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list) and branches and all(isinstance(b, Mapping) and "const" in b
                                                           for b in branches):
            return [branch["const"] for branch in branches]
    return None


def _number(schema: Mapping[str, Any], integer: bool) -> int | float:
    step = schema.get("multipleOf") if isinstance(schema.get("multipleOf"), int | float) else None
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = min(high if high is not None else math.inf, schema["exclusiveMaximum"] - (1 if integer else 0.5))
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        floor = schema["exclusiveMinimum"]
        low = max(low if low is not None else -math.inf, floor + 1)
        if not integer and high is not None and low > high:
            low = (floor + high) / 2
    value: float = low if low is not None else (min(1, high) if high is not None else 1)
    if low is not None and high is not None and 1800 <= low <= _SAMPLE_YEAR <= high <= 2200:
        value = _SAMPLE_YEAR  # a year field (năm sinh): a plausible year rather than its lowest bound
    if step:
        value = math.ceil(value / step) * step
        if high is not None and value > high:
            value = math.floor(high / step) * step
    if integer:
        value = math.ceil(value)
    return int(value) if integer or float(value).is_integer() else value


def _string(schema: Mapping[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt in FORMAT_SAMPLES:
        return FORMAT_SAMPLES[fmt]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        return _from_pattern(pattern, schema)
    title = str(schema.get("title") or "").strip()
    title = re.sub(r"^[0-9]+[.)]\s*", "", title)  # "5. Nơi sinh" → "Nơi sinh"
    return _fit(f"{title} (mẫu)" if title else "Nội dung mẫu", schema)


def _length_bounds(schema: Mapping[str, Any]) -> tuple[int, int | None]:
    """(minLength, maxLength) of a string schema; what is not a number is no bound (an imported
    form is not checked until it is saved or published)."""
    low, high = schema.get("minLength"), schema.get("maxLength")
    return (low if isinstance(low, int) else 0), (high if isinstance(high, int) else None)


def _fit(text: str, schema: Mapping[str, Any]) -> str:
    """`text` cut to maxLength and padded to minLength."""
    low, high = _length_bounds(schema)
    if len(text) < low:
        text += " mẫu" * -(-(min(low, MAX_SAMPLE_TEXT) - len(text)) // 4)
    return text[:high] if high is not None else text


def _fits(text: str, pattern: re.Pattern[str], schema: Mapping[str, Any]) -> bool:
    low, high = _length_bounds(schema)
    return low <= len(text) and (high is None or len(text) <= high) and pattern.search(text) is not None


def _from_pattern(source: str, schema: Mapping[str, Any]) -> str:
    try:
        pattern = re.compile(source)
        parsed = re._parser.parse(source)  # type: ignore[attr-defined]  # the stdlib's own regex parser
    except re.error:  # forms/ refuses such a form; a sample is still owed
        return _fit("Nội dung mẫu", schema)
    for text in _PATTERN_CANDIDATES:
        if _fits(text, pattern, schema):
            return text
    for extra in (0, 1, 2, 4, 8, 16):
        text = _generate(parsed, extra)
        if _fits(text, pattern, schema):
            return text
    return text


def _generate(parsed: Any, extra: int) -> str:
    """The shortest string the parsed regex accepts, each repetition taken `extra` more times."""
    constants = re._constants  # type: ignore[attr-defined]
    out: list[str] = []
    for op, arg in parsed:
        if op is constants.LITERAL:
            out.append(chr(arg))
        elif op is constants.IN:
            out.append(_first_in(arg, constants))
        elif op is constants.ANY:
            out.append("a")
        elif op is constants.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)):
            low, high, body = arg
            times = low + extra if high is constants.MAXREPEAT else min(high, low + extra)
            piece = _generate(body, extra)
            out.append(piece * min(times, MAX_SAMPLE_TEXT // max(len(piece), 1) + 1))
        elif op is constants.SUBPATTERN:
            out.append(_generate(arg[-1], extra))
        elif op is constants.BRANCH:
            out.append(_generate(arg[1][0], extra))
        elif op is constants.CATEGORY:
            out.append(_category(arg, constants))
        elif op is constants.ASSERT:
            continue  # lookarounds take no characters; the final check decides
        # AT (anchors), ASSERT_NOT and anything else add nothing
    return "".join(out)


def _first_in(items: list[Any], constants: Any) -> str:
    negated = any(op is constants.NEGATE for op, _ in items)
    if negated:
        excluded = {chr(arg) for op, arg in items if op is constants.LITERAL}
        return next(c for c in "aA0 " if c not in excluded)
    for op, arg in items:
        if op is constants.LITERAL:
            return chr(arg)
        if op is constants.RANGE:
            return chr(arg[0])
        if op is constants.CATEGORY:
            return _category(arg, constants)
    return "a"


def _category(category: Any, constants: Any) -> str:
    return {constants.CATEGORY_DIGIT: "0", constants.CATEGORY_SPACE: " ", constants.CATEGORY_WORD: "a",
            constants.CATEGORY_NOT_DIGIT: "a", constants.CATEGORY_NOT_SPACE: "a",
            constants.CATEGORY_NOT_WORD: " "}.get(category, "a")
