"""Reading an uploaded student list (CSV or XLSX) one row at a time, with bounded memory.

``open_table(path)`` looks at the bytes, not the name, and returns a ``Table`` whose ``header`` is
the first non-blank row and whose iteration yields ``(row number, values)`` for every non-blank
data row; row numbers are the spreadsheet's (the header is row 1 in a DMC file). Nothing here
touches the database or judges the values: ``rows.parse_row`` does that.

CSV: UTF-8 (with or without a BOM) is tried strictly first, then TIS-620/CP874 (Windows Thai),
UTF-16 when it has a BOM (Excel's "Unicode text"). The delimiter (comma, semicolon or tab) is the
one the header line uses most. The file is read through a small buffer, never whole.

XLSX: before python-calamine opens a workbook, ``check_xlsx`` reads the zip with the standard
library and refuses (each with its own error code) a file that is not a zip, whose entries expand
to more than ``Limits.xlsx_max_uncompressed`` or compress more than ``Limits.xlsx_max_ratio``
times (zip bombs), any entry that declares a DOCTYPE or ENTITY (XML entity expansion), and a
sheet whose cells would span more than ``Limits.xlsx_max_cells`` (calamine allocates the whole
rectangle up to the farthest cell: a 5 KB file with one cell at XFD1048576 asks for 550 GB and
aborts the process). Every entry is decompressed once to check this, so the sizes and CRCs the
zip declares are verified, not trusted.

Limits (``Limits``; ``SCHOOL`` for a school's upload): the file size and the number of data rows
(refused as a whole, before anything is saved). A cell's length is judged per row by
``parse_row`` (``rows.MAX_CELL``); a CSV cell over ``HUGE_CELL`` characters (usually an
unbalanced quote) refuses the file naming the row.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dmc.core.errors import DmcError, ErrorCode

MB = 1024 * 1024
_CHUNK = 256 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003), .doc
_DELIMITERS = (",", ";", "\t")
#: a CSV cell this long is not data (usually an unbalanced quote that swallowed the rows after
#: it): the file is refused naming the row, the same whatever csv.field_size_limit() is set to
HUGE_CELL = 100_000


@dataclass(frozen=True)
class Limits:
    """What a reader accepts. ``None`` means no limit (the national loader streams any size)."""

    max_bytes: int | None = 10 * MB
    max_rows: int | None = 5_000
    xlsx_max_uncompressed: int = 50 * MB
    xlsx_max_ratio: int = 100
    xlsx_max_cells: int = 1_000_000
    xlsx_max_entries: int = 2_000


SCHOOL = Limits()


def human_size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


def too_large(size: int, limit: int) -> DmcError:
    """IMPORT_FILE_TOO_LARGE (HTTP 413)."""
    return DmcError(
        ErrorCode.IMPORT_FILE_TOO_LARGE,
        http_status=413,
        size=human_size(size),
        max=human_size(limit),
    )


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


class Table:
    """An opened file: its kind, encoding and delimiter (CSV), the header row and its number,
    and an iterator of the non-blank data rows. Use as a context manager (or ``close()``)."""

    kind: str = ""
    encoding: str = ""
    delimiter: str = ""
    header: list[Any]
    header_row: int = 0

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.header = []

    def _records(self) -> Iterator[tuple[int, list[Any]]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _start(self) -> None:
        self._iter = self._records()
        for number, values in self._iter:
            if not _blank(values):
                self.header, self.header_row = values, number
                return

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        count = 0
        limit = self.limits.max_rows
        for number, values in self._iter:
            if _blank(values):
                continue
            count += 1
            if limit is not None and count > limit:
                raise DmcError(ErrorCode.IMPORT_TOO_MANY_ROWS, max=f"{limit:,}", row=number)
            yield number, values

    def close(self) -> None:
        pass

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- CSV ---


def detect_encoding(fh: IO[bytes]) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp874`` (TIS-620 and Windows Thai), decided on
    the whole file read in chunks (UTF-8 strictly first); raises IMPORT_NOT_TEXT for binary
    content (NUL bytes) and IMPORT_ENCODING when neither decodes."""
    fh.seek(0)
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp874"]
    first_failure = 0
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        fh.seek(0)
        offset = 0
        try:
            while chunk := fh.read(_CHUNK):
                if encoding != "utf-16" and b"\x00" in chunk:
                    raise DmcError(ErrorCode.IMPORT_NOT_TEXT)
                decoder.decode(chunk, final=False)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            first_failure = first_failure or offset + exc.start
            continue
        fh.seek(0)
        return encoding
    raise DmcError(ErrorCode.IMPORT_ENCODING, offset=f"{first_failure:,}")


def _sniff_delimiter(text: IO[str]) -> str:
    """The delimiter the first non-blank line (the header) uses most (comma when none)."""
    line = ""
    while not line.strip():
        line = text.readline(64 * 1024)
        if not line:
            break
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvTable(Table):
    kind = "csv"

    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(limits)
        self._raw = path.open("rb")
        try:
            self.encoding = detect_encoding(self._raw)
            self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
            self.delimiter = _sniff_delimiter(self._text)
            self._text.seek(0)
            self._start()
        except BaseException:
            self._raw.close()
            raise

    def _records(self) -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(self._text, delimiter=self.delimiter)
        number = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over csv.field_size_limit()
                raise DmcError(ErrorCode.IMPORT_CELL_HUGE, row=number + 1) from exc
            number += 1
            if any(len(v) > HUGE_CELL for v in values):  # whatever csv.field_size_limit() is
                raise DmcError(ErrorCode.IMPORT_CELL_HUGE, row=number)
            yield number, list(values)

    def close(self) -> None:
        self._raw.close()


# --- XLSX ---

_DECLARATIONS = tuple(
    marker.encode(encoding)
    for marker in ("<!doctype", "<!entity")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(m) for m in _DECLARATIONS)
# a <row> or <c> start tag, with or without a namespace prefix
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{0,3})(\d{1,9})["']""")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _SheetExtent:
    """The farthest row and column an XML part's ``<row>``/``<c>`` tags reach (explicit ``r``
    references, or counted as calamine counts them when absent)."""

    def __init__(self) -> None:
        self.rows = 0
        self.columns = 0
        self._col = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        cut = data.rfind(b"<")
        if cut != -1 and data.find(b">", cut) == -1:
            data, self._tail = data[:cut], data[cut:]
            if len(self._tail) > 64 * 1024:  # a tag that never closes
                raise DmcError(ErrorCode.XLSX_BROKEN)
        else:
            self._tail = b""
        for m in _TAG.finditer(data):
            ref = _REF.search(m.group(2))
            if m.group(1) == b"row":
                self.rows = int(ref.group(2)) if ref else self.rows + 1
                self._col = 0
            else:
                if ref and ref.group(1):
                    self._col = _column_number(ref.group(1))
                    self.rows = max(self.rows, int(ref.group(2)))
                else:
                    self._col += 1
                self.columns = max(self.columns, self._col)


def check_xlsx(path: Path, limits: Limits = SCHOOL) -> None:
    """Refuse what must never reach the XLSX parser (see the module docstring). Raises
    XLSX_NOT_ZIP, XLSX_ZIP_BOMB, XLSX_XML_ENTITY, XLSX_SHEET_TOO_BIG or XLSX_BROKEN."""
    if not zipfile.is_zipfile(path):
        raise DmcError(ErrorCode.XLSX_NOT_ZIP)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.xlsx_max_entries:
                raise DmcError(ErrorCode.XLSX_BROKEN)
            declared = sum(i.file_size for i in infos)
            packed = max(1, sum(i.compress_size for i in infos))
            # ratios of small parts mean nothing (a 2 KB styles part may shrink 150 times)
            ratios = [i.file_size / max(1, i.compress_size) for i in infos if i.file_size > MB]
            if declared > MB:
                ratios.append(declared / packed)
            ratio = max(ratios, default=0)
            if declared > limits.xlsx_max_uncompressed or ratio > limits.xlsx_max_ratio:
                raise DmcError(
                    ErrorCode.XLSX_ZIP_BOMB,
                    size=human_size(declared),
                    ratio=int(ratio),
                    max=human_size(limits.xlsx_max_uncompressed),
                    max_ratio=limits.xlsx_max_ratio,
                )
            for info in infos:
                _check_entry(zf, info, limits)
    except DmcError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
            OSError, EOFError, ValueError) as exc:  # fmt: skip
        raise DmcError(ErrorCode.XLSX_BROKEN) from exc


def _check_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    extent = _SheetExtent()
    tail = b""
    seen = 0
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            seen += len(chunk)
            if seen > info.file_size:  # never: zipfile stops at the declared size
                raise DmcError(ErrorCode.XLSX_BROKEN)
            window = (tail + chunk).lower()
            if any(m in window for m in _DECLARATIONS):
                raise DmcError(ErrorCode.XLSX_XML_ENTITY, part=info.filename[:80])
            tail = window[-_OVERLAP:]
            extent.feed(chunk)
            if extent.rows * extent.columns > limits.xlsx_max_cells:
                raise DmcError(
                    ErrorCode.XLSX_SHEET_TOO_BIG,
                    rows=f"{extent.rows:,}",
                    columns=f"{extent.columns:,}",
                    cells=f"{limits.xlsx_max_cells:,}",
                )


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(limits)
        check_xlsx(path, limits)
        from python_calamine import CalamineWorkbook

        try:
            self._book = CalamineWorkbook.from_path(str(path))
            sheet = self._book.get_sheet_by_index(0)
            # iter_rows starts at the sheet's first row (A1's row) even when the table starts
            # lower down, so the n-th row it yields is spreadsheet row n
            self._rows = sheet.iter_rows()
        except Exception as exc:  # calamine raises its own error types (zip, xml, password)
            raise DmcError(ErrorCode.XLSX_BROKEN) from exc
        self._start()

    def _records(self) -> Iterator[tuple[int, list[Any]]]:
        for number, values in enumerate(self._rows, start=1):
            yield number, list(values)

    def close(self) -> None:
        self._book.close()


# --- opening ---


def open_table(
    path: str | os.PathLike[str], *, filename: str = "", limits: Limits = SCHOOL
) -> Table:
    """Open ``path`` (``filename`` is the name the user gave it, for the .xlsx check) as CSV or
    XLSX by its content. Raises the IMPORT_* / XLSX_* refusals; nothing has been read past the
    header when it returns."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise DmcError(ErrorCode.IMPORT_FILE_EMPTY)
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise too_large(size, limits.max_bytes)
    with path.open("rb") as fh:
        head = fh.read(8)
    name = (filename or path.name).lower()
    if head.startswith(_ZIP_MAGIC):
        return XlsxTable(path, limits)
    if head.startswith(_OLE_MAGIC):
        raise DmcError(ErrorCode.IMPORT_FORMAT, kind="Excel 97-2003 (.xls)")
    if name.endswith((".xlsx", ".xlsm")):
        raise DmcError(ErrorCode.XLSX_NOT_ZIP)
    if head.startswith(b"%PDF"):
        raise DmcError(ErrorCode.IMPORT_FORMAT, kind="PDF")
    return CsvTable(path, limits)
