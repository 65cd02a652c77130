"""The visible part of a signature: a text box on the last page, in Vietnamese.

PDF's standard fonts have no Vietnamese letters, so the stamp embeds a Unicode TrueType
font (DejaVu Sans, present wherever WeasyPrint renders our PDFs). pyHanko writes glyph
widths in font units as if every font had 1000 units per em, which spreads the letters of
fonts drawn on 2048 (DejaVu, most TrueType fonts); we therefore hand it a copy rescaled to
1000 units, subset to the Latin and Vietnamese ranges to keep that quick (about half a
second, once, then cached on disk). Without any usable font the text is written without
diacritics in a standard font rather than as missing glyphs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import unicodedata
from pathlib import Path

from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

__all__ = ["STAMP_BOX", "stamp_style"]

log = logging.getLogger(__name__)

#: Bottom-right corner of the last page (PDF points; fits A4 and Letter).
STAMP_BOX = (330, 36, 565, 106)
_TIME_FORMAT = "%d/%m/%Y %H:%M:%S"
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
)
#: Basic Latin to Latin Extended-B, combining marks, Latin Extended Additional (Vietnamese),
#: general punctuation and the đồng sign.
_UNICODES = [
    *range(0x20, 0x250),
    *range(0x300, 0x370),
    *range(0x1E00, 0x1F00),
    *range(0x2000, 0x2070),
    0x20AB,
]


def stamp_style(appearance_text: str, font_path: Path | None = None) -> TextStampStyle:
    """The caller's text, then who signed and when (filled in by pyHanko at signing time)."""
    text = appearance_text.replace("%", "%%").strip()
    lines = [text] if text else []
    font = _usable_font(font_path)
    if font is None:
        lines = [_without_marks(line) for line in lines]
        lines += ["Ky boi: %(signer)s", "Thoi gian ky: %(ts)s"]
        return TextStampStyle(stamp_text="\n".join(lines), timestamp_format=_TIME_FORMAT)
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory  # fontTools + HarfBuzz

    lines += ["Ký bởi: %(signer)s", "Thời gian ký: %(ts)s"]
    return TextStampStyle(
        stamp_text="\n".join(lines),
        timestamp_format=_TIME_FORMAT,
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(font), font_size=8)),
    )


def _usable_font(font_path: Path | None) -> Path | None:
    source = font_path or next((Path(p) for p in _FONT_CANDIDATES if Path(p).is_file()), None)
    if source is None:
        return None
    try:
        stat = Path(source).stat()
        return _rescaled(str(source), stat.st_size, stat.st_mtime_ns)
    except (OSError, ImportError, ValueError, KeyError) as exc:  # fontTools raises assorted errors
        log.warning("cannot prepare stamp font %s: %r", source, exc)
        return None


@functools.lru_cache(maxsize=4)
def _rescaled(source: str, size: int, mtime_ns: int) -> Path:
    """A copy of ``source`` with 1000 units per em, cached under the temp directory."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    tag = hashlib.sha256(f"{source}|{size}|{mtime_ns}".encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"motcua-stamp-{Path(source).stem}-{tag}.ttf"
    if target.is_file():
        return target
    font = TTFont(source)
    if font["head"].unitsPerEm != 1000:
        options = subset.Options()
        options.hinting = False
        options.notdef_outline = True
        options.layout_features = ["*"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_UNICODES)
        logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "table not subset" chatter
        subsetter.subset(font)
        scale_upem(font, 1000)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)
    return target


def _without_marks(text: str) -> str:
    """Vietnamese without diacritics ("Chủ tịch" -> "Chu tich"), for fonts that lack them."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.encode("ascii", "replace").decode("ascii")
