"""Tables as XLSX: one reusable writer for every report table and the student-list export.

Rows are written in openpyxl's write-only mode, so memory stays flat however long the table is
(the sheet goes to a temporary file and is zipped at the end). Text cells are neutralised against
formula injection (``format.neutralise``) and stripped of the control characters XML cannot hold;
numbers stay numbers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dmc.exchange.format import neutralise

CellValue = str | int | float | Decimal | bool | None

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
# Thai marks above and below a consonant take no width of their own
_ZERO_WIDTH = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def sheet_title(title: str) -> str:
    """A valid sheet name: at most 31 characters, none of ``[]:*?/\\``, never empty."""
    cleaned = _SHEET_TITLE_BAD.sub(" ", title).strip().strip("'")[:31]
    return cleaned or "Sheet1"


def text_width(text: str) -> int:
    """Roughly how many character cells ``text`` takes on screen."""
    return len(_ZERO_WIDTH.sub("", text))


def column_width(header: str, minimum: int = 8, maximum: int = 40) -> float:
    return float(max(minimum, min(maximum, text_width(header) + 2)))


def cell_value(value: CellValue) -> CellValue:
    """What goes into a cell: text neutralised and made XML-safe, everything else as is."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))
    return value


def write_table_to(
    out: IO[bytes],
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[CellValue]],
    *,
    widths: Sequence[float] | None = None,
) -> int:
    """Write one sheet (bold, frozen header row; column widths from the headers unless given)
    to ``out``; returns the number of data rows."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    ws = wb.create_sheet(title=sheet_title(title))
    for i, header in enumerate(headers, start=1):
        width = widths[i - 1] if widths is not None and i <= len(widths) else column_width(header)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    head = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", neutralise(header)))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        head.append(cell)
    ws.append(head)
    n = 0
    for row in rows:
        ws.append([cell_value(v) for v in row])
        n += 1
    wb.save(out)
    return n


def write_table(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[CellValue]],
    *,
    widths: Sequence[float] | None = None,
) -> bytes:
    """One table as the bytes of an XLSX workbook (for report tables; large exports should
    write to a temporary file with ``write_table_to``)."""
    buffer = io.BytesIO()
    write_table_to(buffer, title, headers, rows, widths=widths)
    return buffer.getvalue()
