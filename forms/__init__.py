"""JSON Schema forms: validate submissions, render them as HTML, parse HTML posts.

Forms are JSON Schema (draft 2020-12 subset) plus a react-jsonschema-form style UI schema,
the format SpiffArena stores as ``x-schema.json`` / ``x-uischema.json``. This package is a
leaf: it depends only on the standard library, jsonschema, Jinja2 and markupsafe.
"""

from .actions import ACTION_FIELD, FormAction, apply_action, form_action
from .errors import FormInvalid
from .form import Form, load_form
from .parsing import merge_step, parse_form
from .rendering import render_form, render_review
from .steps import Step
from .uploads import Upload, store_uploads, upload_errors
from .validation import DEFAULT_MAX_BYTES, MAX_DEPTH, validate

__all__ = [
    "ACTION_FIELD",
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "Form",
    "FormAction",
    "FormInvalid",
    "Step",
    "Upload",
    "apply_action",
    "form_action",
    "load_form",
    "merge_step",
    "parse_form",
    "render_form",
    "render_review",
    "store_uploads",
    "upload_errors",
    "validate",
]
