"""Read an XLSX workbook back with the standard library only (zip + the sheet XML), so the export
tests check what Excel would see: each cell's value, its type and its number format."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
#: Excel's built-in number formats that matter here (ids below 164 are not written in styles.xml).
BUILTIN_FORMATS = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 14: "mm-dd-yy"}
EPOCH = datetime(1899, 12, 30)


@dataclass
class Cell:
    value: str | float | None
    number_format: str = "General"
    bold: bool = False

    def as_datetime(self) -> datetime:
        assert isinstance(self.value, float), f"not a date serial: {self.value!r}"
        return EPOCH + timedelta(seconds=round(self.value * 86400))  # serials are days as floats


@dataclass
class Worksheet:
    name: str
    rows: list[list[Cell | None]]
    frozen_rows: int = 0
    column_widths: dict[int, float] = field(default_factory=dict)

    def values(self) -> list[list[str | float | None]]:
        return [[None if cell is None else cell.value for cell in row] for row in self.rows]

    def records(self) -> list[dict[str, Cell | None]]:
        """Each data row keyed by its header's text."""
        header = [cell.value if cell else None for cell in self.rows[0]]
        return [dict(zip(header, row + [None] * (len(header) - len(row)), strict=False)) for row in self.rows[1:]]


def read_xlsx(data: bytes) -> dict[str, Worksheet]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    shared = _shared_strings(archive)
    styles = _styles(archive)
    sheets = {}
    for sheet in workbook.find("m:sheets", NS):
        path = "xl/" + targets[sheet.get(REL)].removeprefix("/xl/")
        sheets[sheet.get("name")] = _worksheet(sheet.get("name"), ElementTree.fromstring(archive.read(path)),
                                               shared, styles)
    return sheets


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in item.iter(f"{{{NS['m']}}}t")) for item in root.findall("m:si", NS)]


def _styles(archive: zipfile.ZipFile) -> list[tuple[str, bool]]:
    """(number format, bold) per cell style index."""
    root = ElementTree.fromstring(archive.read("xl/styles.xml"))
    formats = dict(BUILTIN_FORMATS)
    for fmt in root.iterfind("m:numFmts/m:numFmt", NS):
        formats[int(fmt.get("numFmtId"))] = fmt.get("formatCode")
    fonts = [font.find("m:b", NS) is not None for font in root.iterfind("m:fonts/m:font", NS)]
    return [(formats.get(int(xf.get("numFmtId", 0)), "?"), fonts[int(xf.get("fontId", 0))])
            for xf in root.iterfind("m:cellXfs/m:xf", NS)]


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _worksheet(name: str, root: ElementTree.Element, shared: list[str], styles: list[tuple[str, bool]]) -> Worksheet:
    rows: list[list[Cell | None]] = []
    for row in root.iterfind("m:sheetData/m:row", NS):
        cells: list[Cell | None] = []
        for c in row.iterfind("m:c", NS):
            column = _column(c.get("r"))
            cells.extend([None] * (column - len(cells)))
            number_format, bold = styles[int(c.get("s", 0))]
            kind = c.get("t")
            if kind == "inlineStr":
                value: str | float | None = "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
            elif kind == "s":
                value = shared[int(c.find("m:v", NS).text)]
            elif kind == "str":
                value = c.find("m:v", NS).text
            else:
                found = c.find("m:v", NS)
                value = None if found is None else float(found.text)
            cells.append(Cell(value, number_format, bold))
        rows.append(cells)
    pane = root.find("m:sheetViews/m:sheetView/m:pane", NS)
    frozen = int(float(pane.get("ySplit", 0))) if pane is not None and pane.get("state") == "frozen" else 0
    widths = {}
    for col in root.iterfind("m:cols/m:col", NS):
        for index in range(int(col.get("min")), int(col.get("max")) + 1):
            widths[index - 1] = float(col.get("width"))
    return Worksheet(name, rows, frozen, widths)
