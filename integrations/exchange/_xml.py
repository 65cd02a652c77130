"""Safe XML intake and located problem reporting for edXML packages.

Packages come from other agencies' software, i.e. from outside: they are parsed with no
DTD, no entity expansion, no network access, after a size check, and every rule broken is
recorded with the path of the element concerned instead of stopping at the first one, so
a rejected package can be fixed in one round trip with its sender.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import date, datetime

from lxml import etree

from .model import NS, ORGAN_ID_RE, VN_TZ, Limits, Organ, PackageInvalid, ResponseFor

__all__ = [
    "OPTIONAL_ORGAN",
    "ORGAN_FIELDS",
    "PREFIX",
    "Builder",
    "Reader",
    "check_prefixes",
    "fmt_date",
    "local",
    "new_root",
    "parse_xml",
    "q",
    "serialize",
    "fmt_timestamp",
]

PREFIX = "edXML"
_DSIG = "http://www.w3.org/2000/09/xmldsig#"
_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")


def q(name: str) -> str:
    """Clark name of an edXML element."""
    return f"{{{NS}}}{name}"


def local(tag: str) -> str:
    return etree.QName(tag).localname


def parse_xml(data: bytes, limits: Limits) -> etree._Element:
    """Parse untrusted bytes; raise :class:`PackageInvalid` on anything unsafe or malformed.

    The DOCTYPE/ENTITY refusal happens on the raw bytes, before libxml2 sees them: the
    parser would not expand entities, but refusing them outright means no entity, however
    nested, is ever even declared. That byte scan is only sound on UTF-8 input, which is
    also what QCVN 102 packages use, so other encodings are refused first.
    """
    if not isinstance(data, bytes | bytearray):
        raise PackageInvalid(["/: gói tin phải là dữ liệu nhị phân (bytes)"])
    if len(data) > limits.max_package_bytes:
        raise PackageInvalid(
            [f"/: gói tin {len(data)} byte vượt quá dung lượng cho phép ({limits.max_package_bytes} byte)"]
        )
    if not data.strip():
        raise PackageInvalid(["/: gói tin rỗng"])
    if data.startswith(_BOMS) or b"\x00" in data:
        raise PackageInvalid(["/: gói tin phải được mã hóa UTF-8"])
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise PackageInvalid(
            ["/: gói tin không được chứa khai báo DOCTYPE hoặc ENTITY (bị từ chối vì lý do an toàn)"]
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # base64 attachments exceed libxml2's 10 MB text node limit; size is capped above
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise PackageInvalid([f"/: gói tin không phải XML hợp lệ (dòng {exc.lineno}: {exc.msg})"]) from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise PackageInvalid(["/: gói tin không được chứa khai báo DOCTYPE (bị từ chối vì lý do an toàn)"])
    if (info.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8"):
        raise PackageInvalid([f"/: gói tin phải được mã hóa UTF-8 (khai báo {info.encoding})"])
    return root


def check_prefixes(element: etree._Element, path: str, problems: list[str], limit: int = 5) -> None:
    """Every element of the subtree must be ``edXML:``-prefixed in the edXML namespace.

    The axis's schema check works on prefixed names, so a package that is merely
    namespace-equivalent (default namespace, other prefix) is refused there; we refuse it
    here with the element named. A ``Signature`` subtree (XML-DSig, which VXP writes
    unprefixed, so under a default namespace it lands in ours) is left alone.
    """
    bad: list[str] = []

    def walk(el: etree._Element, where: str) -> None:
        name = local(el.tag)
        if name == "Signature" and etree.QName(el).namespace in (None, _DSIG, NS):
            return
        if etree.QName(el).namespace != NS or el.prefix != PREFIX:
            bad.append(where)
        for child, child_path in _indexed(el, where):
            walk(child, child_path)

    walk(element, path)
    for where in bad[:limit]:
        problems.append(f"{where}: phần tử phải có tiền tố {PREFIX}: thuộc không gian tên {NS}")
    if len(bad) > limit:
        problems.append(f"{path}: còn {len(bad) - limit} phần tử khác sai tiền tố hoặc không gian tên")


def _indexed(parent: etree._Element, path: str) -> Iterator[tuple[etree._Element, str]]:
    children = [c for c in parent if isinstance(c.tag, str)]
    counts: dict[str, int] = {}
    for child in children:
        counts[local(child.tag)] = counts.get(local(child.tag), 0) + 1
    seen: dict[str, int] = {}
    for child in children:
        name = local(child.tag)
        seen[name] = seen.get(name, 0) + 1
        yield child, f"{path}/{name}" + (f"[{seen[name]}]" if counts[name] > 1 else "")


class Reader:
    """Reads values out of an edXML tree, recording located problems instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def raise_if_any(self) -> None:
        if self.problems:
            raise PackageInvalid(self.problems)

    def many(self, parent: etree._Element | None, name: str, path: str) -> list[tuple[etree._Element, str]]:
        """Children called ``name`` with their paths (``To[2]`` when there are several)."""
        if parent is None:
            return []
        found = parent.findall(q(name))
        if len(found) == 1:
            return [(found[0], f"{path}/{name}")]
        return [(el, f"{path}/{name}[{i}]") for i, el in enumerate(found, 1)]

    def one(
        self, parent: etree._Element | None, name: str, path: str, *, required: bool = True
    ) -> tuple[etree._Element | None, str]:
        found = self.many(parent, name, path)
        where = f"{path}/{name}"
        if parent is None:
            return None, where
        if not found:
            if required:
                self.problem(where, "thiếu phần tử bắt buộc")
            return None, where
        if len(found) > 1:
            self.problem(where, f"chỉ được có một phần tử, gặp {len(found)}")
        return found[0][0], where

    def text(self, parent: etree._Element | None, name: str, path: str, *, required: bool = True) -> str:
        element, where = self.one(parent, name, path, required=required)
        if element is None:
            return ""
        value = (element.text or "").strip()
        if required and not value:
            self.problem(where, "không được để trống")
        return value

    def organ_id(self, parent: etree._Element | None, path: str) -> str:
        value = self.text(parent, "OrganId", path)
        if value and not ORGAN_ID_RE.fullmatch(value):
            self.problem(f"{path}/OrganId", f"mã định danh '{value}' không đúng dạng 000.00.00.A00")
        return value

    def date(
        self, parent: etree._Element | None, name: str, path: str, *, required: bool = True
    ) -> date | None:
        value = self.text(parent, name, path, required=required)
        if not value:
            return None
        try:
            return datetime.strptime(value, "%Y/%m/%d").date()
        except ValueError:
            self.problem(f"{path}/{name}", f"ngày '{value}' không hợp lệ (định dạng yyyy/MM/dd)")
            return None

    def timestamp(self, parent: etree._Element | None, name: str, path: str) -> datetime | None:
        value = self.text(parent, name, path)
        if not value:
            return None
        try:
            return datetime.strptime(value, "%Y/%m/%d %H:%M:%S").replace(tzinfo=VN_TZ)
        except ValueError:
            self.problem(
                f"{path}/{name}", f"thời điểm '{value}' không hợp lệ (định dạng yyyy/MM/dd HH:mm:ss)"
            )
            return None

    def integer(
        self, parent: etree._Element | None, name: str, path: str, allowed: dict[int, str], default: int
    ) -> int:
        value = self.text(parent, name, path, required=False)
        if not value:
            return default
        if not value.isdigit() or int(value) not in allowed:
            self.problem(
                f"{path}/{name}", f"giá trị '{value}' không hợp lệ (cho phép: {', '.join(map(str, allowed))})"
            )
            return default
        return int(value)

    def base64(self, element: etree._Element, where: str, max_bytes: int) -> bytes | None:
        """Decode a base64 text (line breaks allowed), refusing it early when too large."""
        compact = "".join((element.text or "").split())
        if not compact:
            self.problem(where, "nội dung tệp đính kèm trống")
            return None
        if len(compact) // 4 * 3 > max_bytes + 2:
            self.problem(where, f"tệp đính kèm vượt quá dung lượng cho phép ({max_bytes} byte)")
            return None
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            self.problem(where, "nội dung không phải base64 hợp lệ")
            return None
        if len(data) > max_bytes:
            self.problem(
                where, f"tệp đính kèm {len(data)} byte vượt quá dung lượng cho phép ({max_bytes} byte)"
            )
            return None
        return data

    def document_id(self, parent: etree._Element | None, path: str, *, required: bool = True) -> str:
        """DocumentId must read ``{OrganId},{yyyy/MM/dd},{number}/{notation}``."""
        value = self.text(parent, "DocumentId", path, required=required)
        if not value:
            return ""
        parts = value.split(",", 2)
        ok = len(parts) == 3 and bool(ORGAN_ID_RE.fullmatch(parts[0])) and "/" in parts[2]
        if ok:
            try:
                datetime.strptime(parts[1], "%Y/%m/%d")
            except ValueError:
                ok = False
        if not ok:
            self.problem(
                f"{path}/DocumentId",
                f"'{value}' không đúng dạng {{mã cơ quan gửi}},{{yyyy/MM/dd}},{{số}}/{{ký hiệu}}",
            )
        return value


# -- building -----------------------------------------------------------------------------

ORGAN_FIELDS = (
    ("organ_id", "OrganId"),
    ("organization_in_charge", "OrganizationInCharge"),
    ("name", "OrganName"),
    ("address", "OrganAdd"),
    ("email", "Email"),
    ("telephone", "Telephone"),
    ("fax", "Fax"),
    ("website", "Website"),
)
OPTIONAL_ORGAN = {"organization_in_charge", "address", "email", "telephone", "fax", "website"}


class Builder:
    """Appends ``edXML:`` elements, turning lxml's refusals (control characters) into problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def el(
        self, parent: etree._Element, name: str, text: str | None = None, where: str = ""
    ) -> etree._Element:
        element = etree.SubElement(parent, q(name))
        if text is not None:
            try:
                element.text = text
            except ValueError:
                self.problems.append(f"{where or name}: chứa ký tự không hợp lệ trong XML (ký tự điều khiển)")
        return element

    def organ(self, parent: etree._Element, tag: str, organ: Organ, where: str) -> None:
        node = self.el(parent, tag)
        for attr, name in ORGAN_FIELDS:
            value = getattr(organ, attr)
            if value or attr not in OPTIONAL_ORGAN:
                self.el(node, name, value, f"{where}.{attr}")

    def response_for(self, parent: etree._Element, rf: ResponseFor) -> None:
        node = self.el(parent, "ResponseFor")
        self.el(node, "OrganId", rf.organ_id, "response_for.organ_id")
        self.el(node, "Code", rf.code, "response_for.code")
        self.el(node, "PromulgationDate", fmt_date(rf.promulgation_date))
        self.el(node, "DocumentId", rf.document_id, "response_for.document_id")


def fmt_date(value: date) -> str:
    return f"{value:%Y/%m/%d}"


def fmt_timestamp(value: datetime | None) -> str:
    value = value or datetime.now(VN_TZ)
    if value.tzinfo is not None:
        value = value.astimezone(VN_TZ)
    return f"{value:%Y/%m/%d %H:%M:%S}"


def new_root() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(q("edXML"), nsmap={"edXML": NS})
    envelope = etree.SubElement(root, q("edXMLEnvelope"))
    header = etree.SubElement(envelope, q("edXMLHeader"))
    return root, envelope, header


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
