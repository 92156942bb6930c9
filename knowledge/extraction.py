"""Plain text out of the documents the knowledge base accepts: PDF, DOCX, TXT, CSV, JSON and XLSX.

TXT, CSV and JSON are read with the standard library; DOCX and XLSX are ZIP archives of XML parts, read with
`zipfile` and `xml.etree`; PDF with `pypdf`. Tables (CSV, XLSX) become one line per row with the header named
in each cell ("Service: Cleaning; Price: 60"), so a row still means something once cut into a chunk.

Extraction runs in a worker (knowledge/tasks.py), never in the upload request, within `Limits`: the bytes inflated
out of an archive are counted as they stream (never trusting the sizes the archive declares) against a total and
a compression ratio, XML is parsed incrementally and each paragraph or row is dropped once read, and a deadline is
checked as it goes. A ZIP bomb fails its document with a reason; it does not take the worker's memory or time.
"""
import csv
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.utils.translation import gettext as _


class ExtractionError(Exception):
    """The file is not what its type says, or holds no readable text; the message is shown to the uploader."""


@dataclass(frozen=True)
class FileKind:
    extension: str
    mime: str


KINDS = {
    "pdf": FileKind(".pdf", "application/pdf"),
    "docx": FileKind(".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "txt": FileKind(".txt", "text/plain"),
    "csv": FileKind(".csv", "text/csv"),
    "json": FileKind(".json", "application/json"),
    "xlsx": FileKind(".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_BY_EXTENSION = {kind.extension: name for name, kind in KINDS.items()}
_BY_MIME = {kind.mime: name for name, kind in KINDS.items()} | {
    "application/x-pdf": "pdf", "text/markdown": "txt", "application/csv": "csv", "text/x-csv": "csv",
    "text/json": "json",
}

MAX_ROWS = 100_000
READ_BYTES = 64 * 1024


@dataclass
class Limits:
    """What reading one document may cost. `inflated_bytes`: all the XML inflated out of a DOCX or XLSX together;
    `ratio`: inflated bytes per compressed byte of one part (Office XML compresses 5 to 20 times; a ZIP bomb a
    thousand), checked once a part has inflated `ratio_grace_bytes`; `seconds`: wall-clock time to read it."""

    inflated_bytes: int = 32 * 1024 * 1024
    ratio: int = 100
    ratio_grace_bytes: int = 1024 * 1024
    seconds: float = 60.0
    deadline: float = field(default=0.0, init=False)
    inflated: int = field(default=0, init=False)

    def start(self) -> "Limits":
        self.deadline = time.monotonic() + self.seconds
        self.inflated = 0
        return self

    def check_time(self) -> None:
        if self.deadline and time.monotonic() > self.deadline:
            raise ExtractionError(_("Reading the document took too long."))


def kind_of(filename: str, content_type: str = "") -> str | None:
    """The supported kind a file is by its extension, else by its declared content type; None if unsupported."""
    match = re.search(r"(\.[A-Za-z0-9]+)$", filename or "")
    if match and match.group(1).lower() in _BY_EXTENSION:
        return _BY_EXTENSION[match.group(1).lower()]
    if match and match.group(1).lower() not in (".bin", ".dat"):
        return None
    return _BY_MIME.get((content_type or "").split(";")[0].strip().lower())


def extract_text(kind: str, data: bytes, limits: Limits | None = None) -> str:
    """The readable text of a file of `kind`; ExtractionError when it cannot be read, holds no text, or reading it
    would exceed `limits` (the defaults of `Limits` when None)."""
    limits = (limits or Limits()).start()
    if kind in ("docx", "xlsx"):
        text = {"docx": _docx, "xlsx": _xlsx}[kind](data, limits)
    else:
        text = {"pdf": _pdf, "txt": _plain, "csv": _csv, "json": _json}[kind](data)
    limits.check_time()
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise ExtractionError(_("No text could be read from this file."))
    return text


# --- plain text ---------------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ExtractionError(_("The text is in an encoding that could not be read; save it as UTF-8."))
    if b"\x00" in data[:4096]:
        raise ExtractionError(_("This file is not text."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Spreadsheets exported on Windows are often Windows-1252; it decodes any byte but five.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ExtractionError(_("The text is in an encoding that could not be read; save it as UTF-8."))


def _plain(data: bytes) -> str:
    return _decode(data)


def _rows_as_lines(rows) -> str:
    """One line per row, each cell named by the header row's title when there is one."""
    lines = []
    header = None
    for row in rows:
        cells = [str(cell).strip() for cell in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            lines.append(" | ".join(cell for cell in cells if cell))
            continue
        named = [f"{header[i]}: {cell}" if i < len(header) and header[i] else cell
                 for i, cell in enumerate(cells) if cell]
        lines.append("; ".join(named))
        if len(lines) > MAX_ROWS:
            break
    return "\n\n".join(lines)


def _csv(data: bytes) -> str:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        return _rows_as_lines(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ExtractionError(_("The CSV file could not be read: %(error)s") % {"error": exc})


def _json(data: bytes) -> str:
    try:
        value = json.loads(_decode(data))
    except ValueError as exc:
        raise ExtractionError(_("The JSON file is not valid JSON: %(error)s") % {"error": exc})
    return "\n\n".join(_json_blocks(value, ""))


def _json_blocks(value, path: str) -> list[str]:
    """Each item of a list of objects (an FAQ, a price list) is a block of `key: value` lines."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return ["\n".join(_json_lines(item, "")) for item in value]
    if isinstance(value, dict):
        blocks, lines = [], []
        for key, item in value.items():
            if isinstance(item, list) and item and all(isinstance(entry, dict) for entry in item):
                blocks.extend(_json_blocks(item, f"{path}{key}"))
            else:
                lines.extend(_json_lines(item, f"{path}{key}"))
        return (["\n".join(lines)] if lines else []) + blocks
    return ["\n".join(_json_lines(value, path))]


def _json_lines(value, path: str) -> list[str]:
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in _json_lines(item, f"{path}.{key}" if path else key)]
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [f"{path}: {', '.join(_scalar(item) for item in value)}" if path else
                    ", ".join(_scalar(item) for item in value)]
        return [line for index, item in enumerate(value) for line in _json_lines(item, f"{path}[{index}]")]
    return [f"{path}: {_scalar(value)}" if path else _scalar(value)]


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- Office Open XML (DOCX, XLSX) ---------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _archive(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise ExtractionError(_("The file is damaged or is not the type its name says."))


def _member(archive: zipfile.ZipFile, name: str, required: bool):
    try:
        return archive.getinfo(name)
    except KeyError:
        if required:
            raise ExtractionError(_("The file is damaged or is not the type its name says."))
        return None


def _check_inflated(limits: Limits, info: zipfile.ZipInfo, part_bytes: int, total_bytes: int) -> None:
    if total_bytes > limits.inflated_bytes:
        raise ExtractionError(_("The document is too large once uncompressed."))
    if part_bytes > limits.ratio_grace_bytes and part_bytes > limits.ratio * max(info.compress_size, 1):
        raise ExtractionError(_("The document is compressed far more than any office document (a ZIP bomb?); it "
                                "was not read."))


def _stream_xml(archive: zipfile.ZipFile, name: str, limits: Limits, tags, required: bool = True):
    """Yield the elements of part `name` whose tag is in `tags`, each once its end tag is parsed, inflating the
    part piece by piece within `limits`. Outside such an element, everything parsed is dropped as soon as it ends,
    so memory holds one paragraph or row (and its ancestors), never the document. Nothing for an absent optional
    part."""
    info = _member(archive, name, required)
    if info is None:
        return
    # What the archive declares is refused at once; what it inflates to is counted below all the same, since a
    # crafted archive may declare less than it holds.
    _check_inflated(limits, info, info.file_size, limits.inflated + info.file_size)
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    open_elements = []
    inside = 0  # how many elements of `tags` are open: their content is kept until they end
    inflated = 0
    tail = b""

    def parsed():
        nonlocal inside
        for event, element in parser.read_events():
            if event == "start":
                open_elements.append(element)
                inside += element.tag in tags
                continue
            open_elements.pop()
            if element.tag in tags:
                inside -= 1
                if not inside:
                    yield element
            if not inside and open_elements:
                open_elements[-1].clear()  # its children so far are read or of no interest

    try:
        with archive.open(info) as part:
            while True:
                limits.check_time()
                piece = part.read(READ_BYTES)
                if not piece:
                    break
                inflated += len(piece)
                limits.inflated += len(piece)
                _check_inflated(limits, info, inflated, limits.inflated)
                # Office never writes a DOCTYPE; refusing one rules out entity-expansion attacks on the parser.
                window = (tail + piece).upper()
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise ExtractionError(_("The document holds XML that is not accepted."))
                tail = piece[-16:]
                parser.feed(piece)
                yield from parsed()
            parser.close()
            yield from parsed()
    except ElementTree.ParseError:
        raise ExtractionError(_("The file is damaged or is not the type its name says."))
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, NotImplementedError, ValueError):
        raise ExtractionError(_("The file is damaged or is not the type its name says."))


def _docx(data: bytes, limits: Limits) -> str:
    archive = _archive(data)
    paragraphs = []
    for paragraph in _stream_xml(archive, "word/document.xml", limits, tags={f"{W}p"}):
        parts = []
        for node in paragraph.iter():
            if node.tag == f"{W}t" and node.text:
                parts.append(node.text)
            elif node.tag == f"{W}tab":
                parts.append("\t")
            elif node.tag in (f"{W}br", f"{W}cr"):
                parts.append("\n")
        text = "".join(parts)
        if text.strip():
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference or "")
    index = 0
    for letter in letters.group(0) if letters else "":
        index = index * 26 + (ord(letter) - 64)
    return index - 1


def _xlsx(data: bytes, limits: Limits) -> str:
    archive = _archive(data)
    sheets = [(sheet.get("name") or "", sheet.get(f"{R}id"))
              for sheet in _stream_xml(archive, "xl/workbook.xml", limits, tags={f"{S}sheet"})]
    targets = {}
    for relation in _stream_xml(archive, "xl/_rels/workbook.xml.rels", limits, tags={f"{PKG_REL}Relationship"},
                                required=False):
        target = relation.get("Target", "").lstrip("/")
        targets[relation.get("Id")] = target if target.startswith("xl/") else f"xl/{target}"
    shared = ["".join(node.text or "" for node in item.iter(f"{S}t"))
              for item in _stream_xml(archive, "xl/sharedStrings.xml", limits, tags={f"{S}si"}, required=False)]

    sections = []
    for position, (sheet_name, relation_id) in enumerate(sheets, start=1):
        part = targets.get(relation_id) or f"xl/worksheets/sheet{position}.xml"
        rows = []
        for row in _stream_xml(archive, part, limits, tags={f"{S}row"}, required=False):
            cells = {}
            for cell in row.iter(f"{S}c"):
                column = _column_index(cell.get("r", "")) if cell.get("r") else len(cells)
                if 0 <= column < 16_384:  # Excel's last column is XFD
                    cells[column] = _cell_text(cell, shared)
            if cells:
                rows.append([cells.get(index, "") for index in range(max(cells) + 1)])
            if len(rows) > MAX_ROWS:
                break
        body = _rows_as_lines(rows)
        if body:
            sections.append(f"{sheet_name}\n\n{body}".strip())
    return "\n\n".join(sections)


def _cell_text(cell, shared: list[str]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(node.text or "" for node in cell.iter(f"{S}t"))
    value = cell.find(f"{S}v")
    text = value.text if value is not None and value.text else ""
    if kind == "s":
        try:
            return shared[int(text)]
        except (ValueError, IndexError):
            return ""
    if kind == "b":
        return "yes" if text == "1" else "no"
    if kind in (None, "n") and re.fullmatch(r"-?\d+\.0+", text):
        return text.split(".")[0]
    return text


# --- PDF ----------------------------------------------------------------------------------------------------

def _pdf(data: bytes) -> str:
    if not data.lstrip()[:5] == b"%PDF-":
        raise ExtractionError(_("The file is damaged or is not the type its name says."))
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError(_("The PDF is protected by a password."))
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ExtractionError(_("The PDF could not be read: %(error)s") % {"error": exc.__class__.__name__})
    return "\n\n".join(page.strip() for page in pages if page.strip())
