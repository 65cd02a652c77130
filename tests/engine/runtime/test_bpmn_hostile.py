"""Hostile BPMN XML on the engine's own parse (build_specs, publish, lint, graph) and the studio's.

The byte check for ``<!DOCTYPE`` cannot see a UTF-16 or UTF-32 file, so these tests send every trick in
those encodings too; a loopback listener proves no external DTD or entity is ever fetched. Entity bombs
in UTF-8, oversized files and the studio's upload are covered in tests/engine/procedures/test_interchange.py,
tests/engine/services/test_studio.py and tests/web/test_studio_editor.py; hostile scripts in
tests/engine/test_scripting.py.
"""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from lxml import etree

from engine.config import PROJECT_ROOT
from engine.procedures.bpmn_names import XmlRefused, parse_untrusted
from engine.runtime.specs import MAX_BPMN_BYTES, BpmnSyntaxError, build_specs, parse_xml

HKD_BPMN = (PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh" / "dang-ky-ho-kinh-doanh.bpmn").read_text("utf-8")
DEFINITIONS = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'


@pytest.fixture(scope="module")
def server():
    """A loopback HTTP server recording every request: an external DTD or entity would show up here."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server protocol
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "fetched">')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def listener(server):
    server[1].clear()
    return server


def hostile_documents(url: str) -> dict[str, str]:
    return {
        "xxe-file": f'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>{DEFINITIONS}',
        "xxe-http": f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}/entity">]>{DEFINITIONS}',
        "external-dtd": f'<!DOCTYPE d SYSTEM "{url}/bpmn.dtd">{DEFINITIONS}',
        "parameter-entity": f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>{DEFINITIONS}',
        "billion-laughs": '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + f"]>{DEFINITIONS.replace('&x;', '&j;')}",
    }


ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-32"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("kind", ["xxe-file", "xxe-http", "external-dtd", "parameter-entity", "billion-laughs"])
def test_doctype_tricks_are_refused_by_the_engine_parse_in_any_encoding_and_fetch_nothing(listener, kind, encoding):
    url, hits = listener
    declared = encoding.split("-le")[0].upper()
    data = f'<?xml version="1.0" encoding="{declared}"?>{hostile_documents(url)[kind]}'.encode(encoding)
    if encoding == "utf-16-le":
        data = "\ufeff".encode("utf-16-le") + data
    started = time.monotonic()
    with pytest.raises(BpmnSyntaxError) as caught:
        parse_xml(data, "doc.bpmn")
    # libxml2 may stop an entity bomb itself (amplification limit) before the DOCTYPE check sees the tree
    assert "DOCTYPE/ENTITY" in str(caught.value) or "amplification" in str(caught.value)
    assert time.monotonic() - started < 1.0
    assert hits == [], "the parser fetched an external DTD or entity"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_the_studio_parse_refuses_a_hidden_doctype_in_vietnamese(listener, encoding):
    url, hits = listener
    data = f'<?xml version="1.0" encoding="{encoding.upper()}"?>{hostile_documents(url)["xxe-http"]}'.encode(encoding)
    with pytest.raises(XmlRefused) as caught:
        parse_untrusted(data, "doc.bpmn")
    assert str(caught.value) == "doc.bpmn: BPMN không được chứa khai báo DOCTYPE/ENTITY" and hits == []


def test_publishing_a_procedure_whose_bpmn_hides_a_doctype_in_utf_16_is_refused():
    hidden = HKD_BPMN.replace('encoding="UTF-8"?>', 'encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x "x">]>', 1)
    assert hidden != HKD_BPMN
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE/ENTITY"):
        build_specs({"hkd.bpmn": hidden.encode("utf-16")}, "dang_ky_ho_kinh_doanh")


def test_xinclude_is_never_processed():
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/>'
           '</bpmn:definitions>')
    root = parse_xml(xml, "xi.bpmn")
    assert b"root:" not in etree.tostring(root) and root[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_absurdly_deep_nesting_is_refused_with_its_line():
    with pytest.raises(BpmnSyntaxError, match=r"sau\.bpmn, line 1: invalid XML: Excessive depth"):
        parse_xml("<a>" * 10_000 + "</a>" * 10_000, "sau.bpmn")
    with pytest.raises(XmlRefused, match=r"sau\.bpmn, dòng 1: XML không hợp lệ"):
        parse_untrusted("<a>" * 10_000 + "</a>" * 10_000, "sau.bpmn")


def test_an_oversized_file_is_refused_by_the_engine_parse_before_parsing():
    started = time.monotonic()
    with pytest.raises(BpmnSyntaxError, match="larger than 5 MiB"):
        parse_xml(b"<a>" + b" " * MAX_BPMN_BYTES + b"</a>", "lon.bpmn")
    assert time.monotonic() - started < 0.5


def test_an_ordinary_procedure_still_parses():
    assert "dang_ky_ho_kinh_doanh" == build_specs({"hkd.bpmn": HKD_BPMN}, "dang_ky_ho_kinh_doanh").spec.name


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_file_entity_a_permissive_parser_would_read_is_refused(tmp_path, encoding):
    """Guards the guard: the same document really leaks a local file through a permissive parser.
    (This build of libxml2 fetches nothing over HTTP at all, so the listener above cannot be proved
    reachable; the file entity shows what the refusal protects.)"""
    secret = tmp_path / "bi-mat.txt"
    secret.write_text("mat-khau-may-chu")
    doc = f'<!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>{DEFINITIONS}'
    permissive = etree.XMLParser(load_dtd=True, no_network=False, resolve_entities=True)
    assert "mat-khau-may-chu" in etree.tostring(etree.fromstring(doc.encode(), permissive), encoding="unicode")
    data = f'<?xml version="1.0" encoding="{encoding.split("-le")[0].upper()}"?>{doc}'.encode(encoding)
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE/ENTITY"):
        parse_xml(("\ufeff".encode(encoding) if encoding.endswith("-le") else b"") + data, "doc.bpmn")
