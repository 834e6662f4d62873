"""The pre-confirmation checks of one student, as pure functions (no ORM, no clock).

``student_checks`` returns the keys of ``rulebook.CHECKS`` that a student's data triggers;
``counted`` says whether the student counts officially (D4). Services store the keys on the
enrolment as it changes, so the checklist and confirmation read counts instead of rescanning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dmc.core.codes import TERMINAL_GRADES
from dmc.core.errors import DmcError
from dmc.students.rules import age_on, check_title

COUNT_MIN_AGE, COUNT_MAX_AGE = 4, 20
HEIGHT_DROP_CM = Decimal("2.0")

# Median weight (kg) and height (cm) by age 3..20, both sexes pooled (approximate Thai school
# children); a value is implausible outside [0.55, 2.6] x the weight median or [0.8, 1.2] x the
# height median. Wide on purpose: this catches unit and typing errors, not thinness.
_MEDIAN_WEIGHT = [14, 16, 18, 20, 22, 25, 28, 31, 35, 39, 44, 48, 51, 53, 55, 56, 57, 58]
_MEDIAN_HEIGHT = [
    95,
    102,
    109,
    115,
    121,
    127,
    133,
    138,
    144,
    150,
    155,
    159,
    162,
    163,
    164,
    164,
    164,
    164,
]


def age_reference(academic_year: int) -> dt.date:
    """Ages for counting are taken at 16 May of the academic year (D4)."""
    return dt.date(academic_year - 543, 5, 16)


def plausible_range(field: str, age: int) -> tuple[Decimal, Decimal]:
    i = min(max(age, 3), 20) - 3
    if field == "weight_kg":
        m = Decimal(_MEDIAN_WEIGHT[i])
        return (m * Decimal("0.55")).quantize(Decimal(1)), (m * Decimal("2.6")).quantize(Decimal(1))
    m = Decimal(_MEDIAN_HEIGHT[i])
    return (m * Decimal("0.8")).quantize(Decimal(1)), (m * Decimal("1.2")).quantize(Decimal(1))


@dataclass(frozen=True)
class StudentFacts:
    sex: str
    title_code: str
    birth_date: dt.date
    weight_kg: Decimal | None
    height_cm: Decimal | None
    tracked_318: bool = False
    previous_height_cm: Decimal | None = None
    # the end-of-year round (L8): whether year-end results are due, and what was entered
    year_end: bool = False
    grade: str = ""
    year_result: str = ""
    failed_evaluations: str = ""
    destination: str = ""


def year_end_pending(facts: StudentFacts) -> str | None:
    """L8: the first year-end step still pending for a student who sat the exam (3.1.8 students
    did not), as its checklist key, else None."""
    if not facts.year_end or facts.tracked_318:
        return None
    if facts.year_result not in ("pass", "fail"):
        return "L8.result_pending"
    if facts.year_result == "fail" and not facts.failed_evaluations:
        return "L8.evaluations_missing"
    if facts.year_result == "pass" and facts.grade in TERMINAL_GRADES and not facts.destination:
        return "L8.destination_missing"
    return None


def counted(facts: StudentFacts, academic_year: int) -> bool:
    """D4: only ages 4-20 at 16 May count officially."""
    age = age_on(facts.birth_date, age_reference(academic_year))
    return COUNT_MIN_AGE <= age <= COUNT_MAX_AGE


def counted_birth_range(academic_year: int) -> tuple[dt.date, dt.date]:
    """D4 as a range of birth dates, for set-based SQL: counted ⟺ ``after < birth <= by``
    (the same rule as ``counted``; a test compares them day by day across the edges)."""
    ref = age_reference(academic_year)  # 16 May: never 29 February
    by = ref.replace(year=ref.year - COUNT_MIN_AGE)
    after = ref.replace(year=ref.year - COUNT_MAX_AGE - 1)
    return after, by


def student_checks(facts: StudentFacts, *, academic_year: int, as_of: dt.date) -> list[str]:
    """Checklist keys triggered by one active student (see ``rulebook.CHECKS``)."""
    keys: list[str] = []
    age = age_on(facts.birth_date, as_of)
    if facts.tracked_318:
        keys.append("L9.tracked")  # not physically studying: L3 does not apply
    else:
        for field, missing, implausible in (
            ("weight_kg", "L3.weight_missing", "L3.weight_implausible"),
            ("height_cm", "L3.height_missing", "L3.height_implausible"),
        ):
            value = getattr(facts, field)
            if value is None:
                keys.append(missing)
            else:
                low, high = plausible_range(field, age)
                if not low <= value <= high:
                    keys.append(implausible)
        if (
            facts.height_cm is not None
            and facts.previous_height_cm is not None
            and facts.previous_height_cm - facts.height_cm > HEIGHT_DROP_CM
        ):
            keys.append("L3.height_drop")
    try:
        check_title(facts.title_code, facts.sex, age)
    except DmcError:
        keys.append("D5.title")
    if not counted(facts, academic_year):
        keys.append("D4.age")
    pending = year_end_pending(facts)
    if pending:
        keys.append(pending)
    return keys


def rooms_problems(
    students_by_grade: dict[str, int], rooms_by_grade: dict[str, int]
) -> list[tuple[str, int, int]]:
    """D6: (grade, students, rooms) for every grade where rooms and students disagree."""
    out = []
    for grade in sorted(set(students_by_grade) | set(rooms_by_grade)):
        students = students_by_grade.get(grade, 0)
        rooms = rooms_by_grade.get(grade, 0)
        if (students > 0 and rooms < 1) or (students == 0 and rooms > 0):
            out.append((grade, students, rooms))
    return out
