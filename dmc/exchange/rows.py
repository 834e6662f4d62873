"""One row of DMC's 39-column student list: normalise and validate with the shared rules.

``parse_row`` is the single place a file row becomes typed data (school import, CLI, API and
the national loader all use it). It collects every problem of the row as ``RowError``s naming
the spreadsheet row, the column (its Thai header), the value, the error code and the message,
and returns ``None`` for the row when anything is wrong. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from dmc.core.codes import CODES, GRADES, TITLES
from dmc.core.errors import DmcError, ErrorCode, render_message
from dmc.core.i18n import lang
from dmc.core.ids import normalize_person_id
from dmc.core.normalize import clean_text, parse_date, parse_decimal
from dmc.core.thai import to_arabic_digits
from dmc.exchange.format import HEADER, YES
from dmc.students import rules

MAX_CELL = 200  # characters in any one cell

# column index -> (field, code list or None); code-list columns take a label, a code or DMC's
# file form (ช/ญ for sex)
COLUMNS: dict[str, int] = {name: i for i, name in enumerate(HEADER)}
_CODED = {
    "กลุ่มเลือด": ("blood", "blood"),
    "ศาสนา": ("religion", "religion"),
    "เชื้อชาติ": ("race", "nationality"),
    "สัญชาติ": ("nationality", "nationality"),
    "อาชีพของผู้ปกครอง": ("guardian_occupation", "occupation"),
    "ความเกี่ยวข้องของผู้ปกครองกับนักเรียน": ("guardian_relation", "relation"),
    "อาชีพของบิดา": ("father_occupation", "occupation"),
    "อาชีพของมารดา": ("mother_occupation", "occupation"),
    "ความด้อยโอกาส": ("disadvantaged", "disadvantaged"),
    "เป็นลูกเสือ/เนตรนาร": ("scout", "scout"),
    "เป็นยุวกาชาด": ("redcross", "redcross"),
    "ทักษะการว่ายน้ำ": ("swimming", "swimming"),
}
_TEXT = {
    "ชื่อ": "first_name", "นามสกุล": "last_name", "บ้านเลขที่": "house_no", "หมู่": "moo",
    "ถนน/ซอย": "street", "ตำบล": "subdistrict", "อำเภอ": "district", "จังหวัด": "province",
    "ชื่อผู้ปกครอง": "guardian_first_name", "นามสกุลผู้ปกครอง": "guardian_last_name",
    "ชื่อบิดา": "father_first_name", "นามสกุลบิดา": "father_last_name",
    "ชื่อมารดา": "mother_first_name", "นามสกุลมารดา": "mother_last_name",
}  # fmt: skip
_TEXT_MAX = {"house_no": 50, "moo": 10, "street": 150}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    code: str
    message: str
    #: the message's parameters, so it can be rendered again in the other language
    params: dict[str, Any] | None = dataclass_field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "message": self.message,
        }

    def message_in(self, language: str) -> str:
        """The message in ``language`` ("th"/"en"); as written when it has no parameters."""
        if self.params is None:
            return self.message
        try:
            code = ErrorCode(self.code)
        except ValueError:
            return self.message
        text = render_message(code, self.params, language)
        hint = self.params.get(_HINT)
        if hint:
            text += " " + (hint[1] if language == "en" else hint[0])
        return text

    @classmethod
    def of(
        cls,
        row: int,
        column: str,
        value: object,
        exc: DmcError,
        *,
        hint: tuple[str, str] | None = None,
    ) -> RowError:
        """A row error from a refusal (the value cut to 60 characters); ``hint`` is a
        (Thai, English) sentence added to the message."""
        params = dict(exc.params)
        message = exc.message
        if hint:
            params[_HINT] = hint
            message += " " + (hint[1] if lang() == "en" else hint[0])
        return cls(row, column, _text(value)[:60], exc.code.value, message, params)


_HINT = "_hint"


@dataclass
class ParsedRow:
    row: int
    school_code: str
    person_id: str
    id_kind: str
    grade: str
    room: int
    student_no: str
    sex: str
    title_code: str
    first_name: str
    last_name: str
    birth_date: dt.date
    weight_kg: Decimal | None
    height_cm: Decimal | None
    tracked_318: bool
    person: dict[str, Any]  # the remaining person fields (codes and address/family text)


def _cell(values: Sequence[object], column: str) -> object:
    i = COLUMNS[column]
    return values[i] if i < len(values) else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)  # a spreadsheet number such as 12.0
    return clean_text(value)


def parse_row(
    values: Sequence[object], row: int, *, as_of: dt.date, today: dt.date
) -> tuple[ParsedRow | None, list[RowError]]:
    """Normalise one data row (``row`` is the spreadsheet's row number) and check it."""
    errors: list[RowError] = []

    def fail(column: str, raw: object, exc: DmcError) -> None:
        errors.append(RowError.of(row, column, raw, exc))

    def refuse(column: str, raw: object, code: ErrorCode, **params: Any) -> None:
        fail(column, raw, DmcError(code, **params))

    try:  # the common case: every cell is text and short
        short = max(map(len, values), default=0) <= MAX_CELL  # type: ignore[arg-type]
    except TypeError:  # a spreadsheet number or date: checked cell by cell below
        short = False
    for column in () if short else HEADER:
        raw = _cell(values, column)
        if raw is not None and len(str(raw)) > MAX_CELL:
            refuse(
                column,
                str(raw)[:40],
                ErrorCode.TOO_LONG,
                field=column,
                max=MAX_CELL,
                length=len(str(raw)),
            )
    if errors:
        return None, errors

    school_code = to_arabic_digits(_text(_cell(values, "รหัสโรงเรียน")))
    raw_id = _cell(values, "เลขประจำตัวประชาชน")
    person_id = kind = ""
    try:
        person_id, kind = normalize_person_id(raw_id)
    except DmcError as exc:
        fail("เลขประจำตัวประชาชน", raw_id, exc)

    raw_grade = _text(_cell(values, "ชั้น"))
    grade = GRADES.lookup(raw_grade) or GRADES.lookup(to_arabic_digits(raw_grade)) or ""
    if not grade:
        refuse(
            "ชั้น",
            raw_grade,
            ErrorCode.CODE_UNKNOWN,
            value=raw_grade,
            list_th="ชั้นเรียน",
            list_en="grade",
        )
    raw_room = to_arabic_digits(_text(_cell(values, "ห้อง")))
    room = int(raw_room) if raw_room.isascii() and raw_room.isdigit() else 0
    if not 1 <= room <= 99:
        refuse("ห้อง", raw_room, ErrorCode.NUMBER_FORMAT, value=raw_room or "-")
    student_no = to_arabic_digits(_text(_cell(values, "เลขประจำตัวนักเรียน")))
    try:
        rules.check_student_no(student_no)
    except DmcError as exc:
        fail("เลขประจำตัวนักเรียน", student_no, exc)

    raw_sex = _text(_cell(values, "เพศ"))
    sex = CODES["sex"].lookup(raw_sex) or ""
    if not sex:
        refuse(
            "เพศ",
            raw_sex,
            ErrorCode.CODE_UNKNOWN,
            value=raw_sex,
            list_th="เพศ (ช/ญ)",
            list_en="sex (ช/ญ)",
        )
    raw_title = _text(_cell(values, "คำนำหน้าชื่อ"))
    title = TITLES.lookup(raw_title) or ""
    raw_birth = _cell(values, "วันเกิด")
    birth: dt.date | None = None
    try:
        birth = parse_date(raw_birth, field="birth_date")
        if not dt.date(today.year - 40, 1, 1) <= birth <= today:
            raise DmcError(ErrorCode.DATE_RANGE, value=_text(raw_birth))
    except DmcError as exc:
        fail("วันเกิด", raw_birth, exc)
        birth = None
    if not title:
        refuse(
            "คำนำหน้าชื่อ",
            raw_title,
            ErrorCode.CODE_UNKNOWN,
            value=raw_title,
            list_th="คำนำหน้าชื่อ",
            list_en="title",
        )
    elif birth is not None and sex:
        try:
            rules.check_title(title, sex, rules.age_on(birth, as_of))  # D5
        except DmcError as exc:
            fail("คำนำหน้าชื่อ", raw_title, exc)

    measures: dict[str, Decimal | None] = {}
    for column, field in (("น้ำหนัก", "weight_kg"), ("ส่วนสูง", "height_cm")):
        raw = _cell(values, column)
        try:
            measures[field] = parse_decimal(raw, field=field)
            rules.check_measure(measures[field], field=field)
        except DmcError as exc:
            fail(column, raw, exc)
            measures[field] = None

    person: dict[str, Any] = {}
    for column, field in _TEXT.items():
        person[field] = _text(_cell(values, column))
        limit = _TEXT_MAX.get(field, 100)
        if len(person[field]) > limit:
            refuse(
                column,
                person[field][:40],
                ErrorCode.TOO_LONG,
                field=column,
                max=limit,
                length=len(person[field]),
            )
    for name in ("first_name", "last_name"):
        if not person[name]:
            column = "ชื่อ" if name == "first_name" else "นามสกุล"
            refuse(
                column,
                "",
                ErrorCode.REQUIRED,
                field_th=column,
                field_en="First name" if name == "first_name" else "Last name",
            )
    for column, (field, list_name) in _CODED.items():
        raw_value = _text(_cell(values, column))
        if raw_value in ("", "-"):
            person[field] = ""
            continue
        code = CODES[list_name].lookup(raw_value)
        if code is None:
            refuse(
                column,
                raw_value,
                ErrorCode.CODE_UNKNOWN,
                value=raw_value,
                list_th=column,
                list_en=list_name,
            )
        person[field] = code or ""
    tracked = _text(_cell(values, "ยังไม่สามารถจำหน่ายได้ (3.1.8)")) == YES

    if errors or birth is None:
        return None, errors
    first, last = person.pop("first_name"), person.pop("last_name")
    return ParsedRow(
        row=row,
        school_code=school_code,
        person_id=person_id,
        id_kind=kind,
        grade=grade,
        room=room,
        student_no=student_no,
        sex=sex,
        title_code=title,
        first_name=first,
        last_name=last,
        birth_date=birth,
        weight_kg=measures["weight_kg"],
        height_cm=measures["height_cm"],
        tracked_318=tracked,
        person=person,
    ), []


def header_problems(header: Sequence[object]) -> list[RowError]:
    """The first row must be DMC's 39 columns (whitespace and a BOM forgiven)."""
    got = [clean_text(str(h or "")).lstrip("\ufeff") for h in header]
    if got[: len(HEADER)] == list(HEADER):
        return []
    missing = [h for h in HEADER if h not in got]
    message = render_message(
        ErrorCode.CODE_UNKNOWN,
        {
            "value": ", ".join(missing[:5]) or "-",
            "list_th": "หัวตาราง 39 คอลัมน์ของ DMC",
            "list_en": "DMC's 39-column header",
        },
    )
    return [RowError(1, "", "", ErrorCode.CODE_UNKNOWN.value, message)]
