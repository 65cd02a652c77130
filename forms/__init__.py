"""JSON Schema forms: validate submissions, render them as HTML, parse HTML posts.

Forms are JSON Schema (draft 2020-12 subset) plus a react-jsonschema-form style UI schema,
the format SpiffArena stores as ``x-schema.json`` / ``x-uischema.json``. This package is a
leaf: it depends only on the standard library, jsonschema, Jinja2 and markupsafe.
"""

from .errors import FormInvalid
from .form import Form, load_form
from .parsing import parse_form
from .rendering import render_form
from .validation import DEFAULT_MAX_BYTES, MAX_DEPTH, validate

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "Form",
    "FormInvalid",
    "load_form",
    "parse_form",
    "render_form",
    "validate",
]
