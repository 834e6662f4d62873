"""Student rules as pure functions (no ORM, no clock): title/sex/age (D5), plausible measures,
grade and room within what the school offers (D6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dmc.core.codes import CODES, GRADES, TITLES
from dmc.core.errors import DmcError, ErrorCode

ADULT_TITLE_AGE = 15
WEIGHT_RANGE = (Decimal("8"), Decimal("150"))  # kg, any school age
HEIGHT_RANGE = (Decimal("70"), Decimal("210"))  # cm


def age_on(birth: dt.date, on: dt.date) -> int:
    """Completed years at ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def expected_titles(sex: str, age: int) -> list[str]:
    band = "adult" if age >= ADULT_TITLE_AGE else "child"
    return [e["code"] for e in TITLES if e["sex"] == sex and e["age"] in (band, "any")]


def check_title(title_code: str, sex: str, age: int) -> None:
    """D5: the title agrees with sex and age (เด็กชาย/เด็กหญิง under 15, นาย/นางสาว/นาง from 15).

    Raises CODE_UNKNOWN for an unknown title, TITLE_SEX_AGE for a mismatch.
    """
    if title_code not in TITLES:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=title_code,
            list_th="คำนำหน้าชื่อ",
            list_en="title",
            fields={"title_code": ["code_unknown"]},
        )
    allowed = expected_titles(sex, age)
    if title_code not in allowed:
        raise DmcError(
            ErrorCode.TITLE_SEX_AGE,
            title=TITLES.label(title_code),
            age=age,
            expected=" / ".join(TITLES.label(c) for c in allowed),
            fields={"title_code": ["title_sex_age"]},
        )


def check_code(list_name: str, value: str, *, field: str, label_th: str, label_en: str) -> None:
    """A blank optional code passes; a non-blank one must be in the list."""
    if value and value not in CODES[list_name]:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=value,
            list_th=label_th,
            list_en=label_en,
            fields={field: ["code_unknown"]},
        )


def plain(value: Decimal) -> str:
    """A number as people write it: 999, 32.5 (no trailing .0, no exponent)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_measure(value: Decimal | None, *, field: str) -> None:
    """Weight (kg) and height (cm) must be plausible when given."""
    if value is None:
        return
    low, high = WEIGHT_RANGE if field == "weight_kg" else HEIGHT_RANGE
    if not low <= value <= high:
        th, en = (
            ("น้ำหนัก (กก.)", "Weight (kg)")
            if field == "weight_kg"
            else ("ส่วนสูง (ซม.)", "Height (cm)")
        )
        raise DmcError(
            ErrorCode.VALUE_RANGE,
            field_th=th,
            field_en=en,
            value=plain(value),
            low=low,
            high=high,
            fields={field: ["value_range"]},
        )


def check_grade_room(grade: str, room: int, rooms_by_grade: dict[str, int]) -> None:
    """The grade is offered by the school and the room exists in it (D6)."""
    if grade not in GRADES:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=grade,
            list_th="ชั้นเรียน",
            list_en="grade",
            fields={"grade": ["code_unknown"]},
        )
    if grade not in rooms_by_grade:
        raise DmcError(
            ErrorCode.GRADE_NOT_OFFERED,
            grade=GRADES.label(grade),
            fields={"grade": ["grade_not_offered"]},
        )
    rooms = rooms_by_grade[grade]
    if not 1 <= room <= rooms:
        raise DmcError(
            ErrorCode.ROOM_OUT_OF_RANGE,
            room=room,
            grade=GRADES.label(grade),
            rooms=rooms,
            fields={"room": ["room_out_of_range"]},
        )


def check_name(value: str, *, field: str, label_th: str, label_en: str) -> None:
    if not value:
        raise DmcError(
            ErrorCode.REQUIRED, field_th=label_th, field_en=label_en, fields={field: ["required"]}
        )


def check_student_no(value: str) -> None:
    check_name(value, field="student_no", label_th="เลขประจำตัวนักเรียน", label_en="Student number")
