"""The exception raised when a submission does not satisfy its form."""

from __future__ import annotations


class FormInvalid(Exception):
    """A submission failed validation.

    ``errors`` maps a field path (``"owner.ho_ten"``, ``"thanh_vien.0.ho_ten"``, ``""`` for the
    form as a whole) to Vietnamese messages, the same keys :func:`forms.render_form` expects, so a
    view can re-render the form with each message next to its field.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        count = sum(len(messages) for messages in errors.values())
        super().__init__(f"Biểu mẫu có {count} lỗi: {', '.join(repr(key) for key in errors)}")
