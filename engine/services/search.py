"""Text folding for search: officials type names with or without diacritics, in any case."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case `text` and drop its diacritics ("Nguyễn Thị Đào" → "nguyen thi dao").

    Done in Python, stored next to the original: SQLite's lower() and LIKE only fold ASCII and
    PostgreSQL's follow the database locale, so neither would match "ĐÀO" with "đào" everywhere.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def like_pattern(text: str) -> str:
    """`text` with LIKE's wildcards escaped (use with escape="\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
