"""A per-school XLSX template of the 39-column list with a dropdown for every coded column.

Sheet ``นักเรียน``: DMC's header (frozen, bold, sized), the text columns formatted as text so Excel
keeps 13-digit IDs and BE dates as typed, and data validation on rows 2..TEMPLATE_ROWS+1: every
coded column is a list drawn from the hidden sheet ``lists`` (the grades this school offers, rooms
1..its most rooms, ช/ญ, titles, blood groups, religions, nationalities, occupations, relations,
disadvantage, 3.1.8 ใช่/ไม่ใช่, scout, Red Cross, swimming, provinces), the school code and name a
one-item list, weight and height a number in the plausible range. Sheet ``คำแนะนำ`` says how to
fill it in, in Thai and English. The dropdown values are exactly what the export writes, so an
exported file and a filled-in template read the same way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.codes import GRADES
from dmc.exchange.format import CODED_COLUMNS, HEADER, list_values
from dmc.exchange.xlsx import HEADER_FILL, HEADER_FONT, column_width
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.schools.models import School, SchoolGrade
from dmc.students.rules import HEIGHT_RANGE, WEIGHT_RANGE

TEMPLATE_ROWS = 5000
DATA_SHEET = "นักเรียน"
LISTS_SHEET = "lists"
HELP_SHEET = "คำแนะนำ"
#: typed text Excel would otherwise turn into numbers or dates
TEXT_COLUMNS = ("เลขประจำตัวประชาชน", "เลขประจำตัวนักเรียน", "วันเกิด", "บ้านเลขที่", "หมู่")
_WIDER = {"ชื่อโรงเรียน": 28.0, "เลขประจำตัวประชาชน": 16.0, "วันเกิด": 12.0}


@dataclass(frozen=True)
class TemplateLists:
    """The lists behind the dropdowns, by name (each a column of the ``lists`` sheet)."""

    school: School
    year: int
    grades: list[tuple[str, int]]  # (grade code, rooms) the school offers this year

    def columns(self) -> list[tuple[str, list[str | int]]]:
        offered = [code for code, _ in self.grades] or [e["code"] for e in GRADES]
        max_rooms = max([rooms for _, rooms in self.grades] + [1])
        out: list[tuple[str, list[str | int]]] = [
            ("school_code", [self.school.smis_code]),
            ("school_name", [self.school.name]),
            ("grade", [GRADES.label(code) for code in offered]),
            ("room", list(range(1, max_rooms + 1))),
        ]
        for name in dict.fromkeys(CODED_COLUMNS.values()):
            out.append((name, list(list_values(name))))
        return out


def _ref(col: int, n: int) -> str:
    letter = get_column_letter(col)
    return f"{LISTS_SHEET}!${letter}$2:${letter}${n + 1}"


def _column_list(header: str) -> str | None:
    """Which list a data column draws from."""
    return {
        "รหัสโรงเรียน": "school_code",
        "ชื่อโรงเรียน": "school_name",
        "ชั้น": "grade",
        "ห้อง": "room",
    }.get(header) or CODED_COLUMNS.get(header)


def _help_lines(t: TemplateLists) -> list[tuple[str, str]]:
    grades = ", ".join(f"{GRADES.label(g)} ({r} ห้อง)" for g, r in t.grades) or "-"
    grades_en = ", ".join(f"{GRADES.label(g, 'en')} ({r} rooms)" for g, r in t.grades) or "-"
    return [
        ("แบบฟอร์มนำเข้าข้อมูลนักเรียนรายบุคคล (39 คอลัมน์ตามรูปแบบ DMC)",
         "Student list import template (DMC's 39 columns)"),
        (f"โรงเรียน: {t.school.smis_code} {t.school.name}",
         f"School: {t.school.smis_code} {t.school.name}"),
        (f"ปีการศึกษา: {t.year}", f"Academic year: {t.year}"),
        (f"ชั้นที่เปิดสอน: {grades}", f"Grades offered: {grades_en}"),
        ("กรอกข้อมูลในแผ่นงาน 'นักเรียน' นักเรียน 1 คนต่อ 1 แถว เริ่มแถวที่ 2 ห้ามแก้ไขแถวหัวตาราง",
         "Fill in the sheet 'นักเรียน', one student per row from row 2; do not change the header"),
        ("คอลัมน์รหัสโรงเรียนและชื่อโรงเรียน ให้เลือกจากรายการ (มีเฉพาะโรงเรียนนี้)",
         "School code and name: pick from the list (this school only)"),
        ("ช่องที่มีรายการให้เลือก ให้เลือกจากรายการเท่านั้น (ชั้น ห้อง เพศ ช/ญ คำนำหน้า ฯลฯ)",
         "Columns with a dropdown take only its values (grade, room, sex ช/ญ, title, ...)"),
        ("เลขประจำตัวประชาชน 13 หลัก หรือรหัส G; วันเกิดรูปแบบ วว/ดด/ปปปป (พ.ศ.) เช่น 05/07/2553",
         "Citizen ID: 13 digits or a G-code; birth date dd/mm/yyyy in the Buddhist era,"
         " e.g. 05/07/2553"),
        (f"น้ำหนัก {WEIGHT_RANGE[0]}–{WEIGHT_RANGE[1]} กก. ส่วนสูง {HEIGHT_RANGE[0]}–"
         f"{HEIGHT_RANGE[1]} ซม. (ทศนิยม 1 ตำแหน่ง)",
         f"Weight {WEIGHT_RANGE[0]}–{WEIGHT_RANGE[1]} kg, height {HEIGHT_RANGE[0]}–"
         f"{HEIGHT_RANGE[1]} cm (one decimal)"),
        ("ยังไม่สามารถจำหน่ายได้ (3.1.8): ใช่ / ไม่ใช่", "Not yet withdrawable (3.1.8): ใช่ / ไม่ใช่"),
        (f"แบบฟอร์มนี้รับได้ไม่เกิน {TEMPLATE_ROWS:,} แถว", f"Up to {TEMPLATE_ROWS:,} rows"),
    ]  # fmt: skip


def _lists_sheet(ws: Worksheet, columns: list[tuple[str, list[str | int]]]) -> dict[str, str]:
    refs: dict[str, str] = {}
    for col, (name, values) in enumerate(columns, start=1):
        ws.cell(row=1, column=col, value=name).font = HEADER_FONT
        for row, value in enumerate(values, start=2):
            ws.cell(row=row, column=col, value=value)
        refs[name] = _ref(col, len(values))
        ws.column_dimensions[get_column_letter(col)].width = 24
    ws.sheet_state = "hidden"
    return refs


def _validation(name: str, ref: str, header: str) -> DataValidation:
    dv = DataValidation(
        type="list",
        formula1=ref,
        allow_blank=True,
        showDropDown=False,  # (sic) False shows the in-cell arrow
        showErrorMessage=True,
        errorStyle="stop",
        errorTitle="ค่าไม่อยู่ในรายการ",
        error=f"{header}: เลือกจากรายการเท่านั้น / pick a value from the list",
        promptTitle=header[:32],
        prompt="เลือกจากรายการ / pick from the list",
        showInputMessage=True,
    )
    return dv


def build(t: TemplateLists) -> bytes:
    wb = Workbook()
    data = wb.active
    assert data is not None
    data.title = DATA_SHEET
    help_ws = wb.create_sheet(HELP_SHEET)
    lists_ws = wb.create_sheet(LISTS_SHEET)
    refs = _lists_sheet(lists_ws, t.columns())

    last = TEMPLATE_ROWS + 1
    for col, header in enumerate(HEADER, start=1):
        cell = data.cell(row=1, column=col, value=header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        letter = get_column_letter(col)
        dim = data.column_dimensions[letter]
        dim.width = _WIDER.get(header, column_width(header, 6))
        if header in TEXT_COLUMNS:
            dim.number_format = "@"
        area = f"{letter}2:{letter}{last}"
        list_name = _column_list(header)
        if list_name is not None:
            dv = _validation(list_name, refs[list_name], header)
            dv.add(area)
            data.add_data_validation(dv)
        elif header in ("น้ำหนัก", "ส่วนสูง"):
            low, high = WEIGHT_RANGE if header == "น้ำหนัก" else HEIGHT_RANGE
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1=str(low),
                formula2=str(high),
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="ค่าอยู่นอกช่วง",
                error=f"{header}: {low}–{high}",
            )
            dv.add(area)
            data.add_data_validation(dv)
    data.freeze_panes = "A2"
    data.row_dimensions[1].height = 32

    help_ws.column_dimensions["A"].width = 90
    help_ws.column_dimensions["B"].width = 80
    for row, (th, en) in enumerate(_help_lines(t), start=1):
        help_ws.cell(row=row, column=1, value=th)
        help_ws.cell(row=row, column=2, value=en)
    help_ws["A1"].font = Font(bold=True, size=14)
    help_ws["B1"].font = Font(bold=True, size=14)

    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def school_template(*, actor: Actor, smis_code: str, year: int | None = None) -> tuple[str, bytes]:
    """(file name, XLSX bytes) of the template for a school in the actor's scope (NOT_FOUND /
    NOT_IN_SCOPE as the student list). No personal data: not audited."""
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    if year is None:
        year = round_selectors.current_year(clock.now()) or 0
    grades = list(
        SchoolGrade.objects.filter(school=school, academic_year=year)
        .order_by("grade")
        .values_list("grade", "rooms")
    )
    content = build(TemplateLists(school=school, year=year, grades=grades))
    return f"template_{school.smis_code}_{year}.xlsx", content
