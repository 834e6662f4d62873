"""DMC's 39-column student list (SPEC §8): the interchange format, column by column.

``dmc_row`` renders one student the way DMC's download does (grade ``ม.2``, sex ``ช``/``ญ``,
birth date ``dd/mm/BBBB``, code lists as their Thai labels). It reads attributes only, so the
synthetic generator (``SynthSchool``/``SynthStudent``) and the database (``School``/``Person``/
``Enrolment``) go through the same code and produce the same text. ``neutralise`` defuses cells a
spreadsheet would run as a formula.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from dmc.core.codes import CODES, GRADES, PROVINCES
from dmc.core.thai import format_date_be
from dmc.students.rules import age_on

if TYPE_CHECKING:
    from dmc.students.models import Enrolment

HEADER: tuple[str, ...] = (
    "รหัสโรงเรียน", "ชื่อโรงเรียน", "เลขประจำตัวประชาชน", "ชั้น", "ห้อง", "เลขประจำตัวนักเรียน",
    "เพศ", "คำนำหน้าชื่อ", "ชื่อ", "นามสกุล", "วันเกิด", "อายุ(ปี)", "น้ำหนัก", "ส่วนสูง",
    "กลุ่มเลือด", "ศาสนา", "เชื้อชาติ", "สัญชาติ", "บ้านเลขที่", "หมู่", "ถนน/ซอย", "ตำบล", "อำเภอ",
    "จังหวัด", "ชื่อผู้ปกครอง", "นามสกุลผู้ปกครอง", "อาชีพของผู้ปกครอง",
    "ความเกี่ยวข้องของผู้ปกครองกับนักเรียน", "ชื่อบิดา", "นามสกุลบิดา", "อาชีพของบิดา", "ชื่อมารดา",
    "นามสกุลมารดา", "อาชีพของมารดา", "ความด้อยโอกาส", "ยังไม่สามารถจำหน่ายได้ (3.1.8)",
    "เป็นลูกเสือ/เนตรนาร", "เป็นยุวกาชาด", "ทักษะการว่ายน้ำ",
)  # fmt: skip
assert len(HEADER) == 39

YES, NO = "ใช่", "ไม่ใช่"
SEX_FILE = {"M": "ช", "F": "ญ"}

_TITLE = CODES["title"].label
_RELIGION = CODES["religion"].label
_NATIONALITY = CODES["nationality"].label
_OCCUPATION = CODES["occupation"].label
_RELATION = CODES["relation"].label
_DISADVANTAGED = CODES["disadvantaged"].label
_SCOUT = CODES["scout"].label
_REDCROSS = CODES["redcross"].label
_SWIMMING = CODES["swimming"].label


class SchoolLike(Protocol):
    @property
    def smis_code(self) -> str: ...
    @property
    def name(self) -> str: ...


class PersonLike(Protocol):
    """The personal columns (``Person``, or a ``SynthStudent``)."""

    @property
    def person_id(self) -> str: ...
    @property
    def sex(self) -> str: ...
    @property
    def title_code(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def birth_date(self) -> dt.date: ...
    @property
    def blood(self) -> str: ...
    @property
    def religion(self) -> str: ...
    @property
    def race(self) -> str: ...
    @property
    def nationality(self) -> str: ...
    @property
    def house_no(self) -> str: ...
    @property
    def moo(self) -> str: ...
    @property
    def street(self) -> str: ...
    @property
    def subdistrict(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def province(self) -> str: ...
    @property
    def guardian_first_name(self) -> str: ...
    @property
    def guardian_last_name(self) -> str: ...
    @property
    def guardian_occupation(self) -> str: ...
    @property
    def guardian_relation(self) -> str: ...
    @property
    def father_first_name(self) -> str: ...
    @property
    def father_last_name(self) -> str: ...
    @property
    def father_occupation(self) -> str: ...
    @property
    def mother_first_name(self) -> str: ...
    @property
    def mother_last_name(self) -> str: ...
    @property
    def mother_occupation(self) -> str: ...
    @property
    def disadvantaged(self) -> str: ...
    @property
    def scout(self) -> str: ...
    @property
    def redcross(self) -> str: ...
    @property
    def swimming(self) -> str: ...


class PlacementLike(Protocol):
    """The columns of one year at one school (``Enrolment``, or a ``SynthStudent``)."""

    @property
    def grade(self) -> str: ...
    @property
    def room(self) -> int: ...
    @property
    def student_no(self) -> str: ...
    @property
    def weight_kg(self) -> float | Decimal | None: ...
    @property
    def height_cm(self) -> float | Decimal | None: ...
    @property
    def tracked_318(self) -> bool: ...


def _num(value: float | Decimal | None) -> str:
    return "" if value is None else f"{value:.1f}"


def dmc_row(school: SchoolLike, p: PersonLike, e: PlacementLike, *, age_at: dt.date) -> list[str]:
    """One line of the 39-column file, with DMC's labels (ม.2, ช/ญ, dd/mm/BBBB); the age is in
    completed years at ``age_at``."""
    return [
        school.smis_code,
        school.name,
        p.person_id,
        GRADES.label(e.grade),
        str(e.room),
        e.student_no,
        SEX_FILE.get(p.sex, ""),
        _TITLE(p.title_code),
        p.first_name,
        p.last_name,
        format_date_be(p.birth_date),
        str(age_on(p.birth_date, age_at)),
        _num(e.weight_kg),
        _num(e.height_cm),
        p.blood,
        _RELIGION(p.religion),
        _NATIONALITY(p.race),
        _NATIONALITY(p.nationality),
        p.house_no,
        p.moo,
        p.street,
        p.subdistrict,
        p.district,
        p.province,
        p.guardian_first_name,
        p.guardian_last_name,
        _OCCUPATION(p.guardian_occupation),
        _RELATION(p.guardian_relation),
        p.father_first_name,
        p.father_last_name,
        _OCCUPATION(p.father_occupation),
        p.mother_first_name,
        p.mother_last_name,
        _OCCUPATION(p.mother_occupation),
        _DISADVANTAGED(p.disadvantaged),
        YES if e.tracked_318 else NO,
        _SCOUT(p.scout),
        _REDCROSS(p.redcross),
        _SWIMMING(p.swimming),
    ]


def row_for(enrolment: Enrolment, *, age_at: dt.date) -> list[str]:
    """The 39 columns of one enrolment (``school`` and ``person`` should be select_related)."""
    return dmc_row(enrolment.school, enrolment.person, enrolment, age_at=age_at)


# --- the values a column may hold (the template's dropdowns) -----------------------------------

#: column name -> the code list whose labels fill it (the same text ``dmc_row`` writes)
CODED_COLUMNS: dict[str, str] = {
    "เพศ": "sex",
    "คำนำหน้าชื่อ": "title",
    "กลุ่มเลือด": "blood",
    "ศาสนา": "religion",
    "เชื้อชาติ": "nationality",
    "สัญชาติ": "nationality",
    "จังหวัด": "province",
    "อาชีพของผู้ปกครอง": "occupation",
    "ความเกี่ยวข้องของผู้ปกครองกับนักเรียน": "relation",
    "อาชีพของบิดา": "occupation",
    "อาชีพของมารดา": "occupation",
    "ความด้อยโอกาส": "disadvantaged",
    "ยังไม่สามารถจำหน่ายได้ (3.1.8)": "yes_no",
    "เป็นลูกเสือ/เนตรนาร": "scout",
    "เป็นยุวกาชาด": "redcross",
    "ทักษะการว่ายน้ำ": "swimming",
}


def list_values(name: str) -> list[str]:
    """The values of a code list as the file writes them (blood groups as their codes, sex as
    ช/ญ, yes/no as ใช่/ไม่ใช่, every other list as its Thai label)."""
    if name == "sex":
        return list(SEX_FILE.values())
    if name == "yes_no":
        return [YES, NO]
    if name == "blood":
        return [e["code"] for e in CODES["blood"]]
    if name == "province":
        return [e["th"] for e in PROVINCES]
    return [e["th"] for e in CODES[name]]


# --- formula injection -------------------------------------------------------------------------

# = + - @ start a formula in Excel, LibreOffice and Google Sheets; a tab or CR can hide one; the
# full-width forms are converted to ASCII by some East Asian Excel installs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_SAFE_AS_IS = frozenset({"-"})  # DMC writes "-" for an empty street


def neutralise(value: str) -> str:
    """Prefix a leading apostrophe to text a spreadsheet would treat as a formula."""
    if value and value.startswith(_FORMULA_START) and value not in _SAFE_AS_IS:
        return "'" + value
    return value
