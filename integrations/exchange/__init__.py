"""Document exchange connectors (kind ``exchange``): the national document axis (Trục liên thông
văn bản quốc gia) carrying edXML packages (QCVN 102:2016/BTTTT) between agencies.

:mod:`.edxml` builds and strictly parses packages, :mod:`.vdxp` is the connector speaking
the VXP transport, :mod:`.simulator` a loopback axis for tests, drills and provinces
checking their settings before going live.
"""

from .edxml import build_package, build_status, parse_package, parse_status
from .model import (
    Attachment,
    EdocEnvelope,
    Limits,
    Organ,
    PackageInvalid,
    ResponseFor,
    Signer,
    Staff,
    StatusMessage,
)
from .vdxp import VdxpConnector

__all__ = [
    "Attachment",
    "EdocEnvelope",
    "Limits",
    "Organ",
    "PackageInvalid",
    "ResponseFor",
    "Signer",
    "Staff",
    "StatusMessage",
    "VdxpConnector",
    "build_package",
    "build_status",
    "parse_package",
    "parse_status",
]
