"""Generated documents: the one-stop shop's official forms and results as PDF, and the
content-addressed store that keeps them (and uploads) on disk."""

from engine.documents.errors import (
    DocumentContextError,
    DocumentError,
    InvalidDigest,
    StoredFileCorrupt,
    StoredFileNotFound,
    UnknownDocumentKind,
)
from engine.documents.qr import qr_matrix, qr_png_data_uri, tracking_url
from engine.documents.render import (
    KINDS,
    NoNetworkFetcher,
    font_subsetter,
    html_to_pdf,
    render_html,
    render_pdf,
)
from engine.documents.samples import render_samples, sample_context
from engine.documents.store import FileStore

__all__ = [
    "KINDS",
    "DocumentContextError",
    "DocumentError",
    "FileStore",
    "InvalidDigest",
    "NoNetworkFetcher",
    "StoredFileCorrupt",
    "StoredFileNotFound",
    "UnknownDocumentKind",
    "font_subsetter",
    "html_to_pdf",
    "qr_matrix",
    "qr_png_data_uri",
    "render_html",
    "render_pdf",
    "render_samples",
    "sample_context",
    "tracking_url",
]
