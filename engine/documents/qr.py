"""The public tracking link of a dossier and its QR code, as printed on every generated document."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from urllib.parse import urlencode

import qrcode
from qrcode.constants import ERROR_CORRECT_M

#: Pixels per QR module in the PNG. Pages and documents show it with `image-rendering: pixelated` (in a
#: PDF, an image drawn with /Interpolate false), so it prints sharp at any resolution. Four pixels keep
#: it readable from a PDF shown at 150 dpi, as eight did (one or two pixels a module needed 200 or 180
#: dpi: a viewer scales small images up pixel by pixel, unevenly), while WeasyPrint decodes and
#: re-compresses a quarter of the pixels for every document.
BOX_SIZE = 4
#: The quiet zone, in modules (the QR standard asks for 4).
BORDER = 4


def tracking_url(public_url: str, code: str) -> str:
    """`{public_url}/tra-cuu?code={code}`, the page where anyone holding the paper checks progress."""
    return f"{public_url.rstrip('/')}/tra-cuu?{urlencode({'code': code})}"


def _qr(url: str) -> qrcode.QRCode:
    # Medium error correction survives a fold or a stamp over the code; fit=True picks the version.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX_SIZE, border=BORDER)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR modules for `url` (True = dark), quiet zone included."""
    return [list(row) for row in _qr(url).get_matrix()]


@lru_cache(maxsize=1024)
def qr_png_data_uri(url: str) -> str:
    """A black-and-white PNG of the QR code as a data: URI, so the PDF needs no fetch. Kept per URL:
    making a QR code costs about 10 ms (qrcode scores its eight mask patterns in Python), and a dossier's
    receipt page, its receipt and its result all show the same one."""
    image = _qr(url).make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
