"""Nutrition reads, scoped by the actor: a school's children classified at the round's as-of
date, tables by grade (school) or by school (area), the children at risk (school only)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dmc.accounts.actor import Actor
from dmc.core.errors import not_in_scope
from dmc.core.ids import mask_person_id
from dmc.nutrition.references import Scheme, scheme
from dmc.nutrition.rules import (
    HEIGHT_BANDS,
    NOT_CLASSIFIED,
    WEIGHT_BANDS,
    Band,
    Result,
    classify,
)
from dmc.rounds.models import Round
from dmc.schools.models import AreaOffice, School
from dmc.students.models import Enrolment

GRADE_LABELS = {
    "01": "อ.1",
    "02": "อ.2",
    "03": "อ.3",
    "04": "ป.1",
    "05": "ป.2",
    "06": "ป.3",
    "07": "ป.4",
    "08": "ป.5",
    "09": "ป.6",
    "10": "ม.1",
    "11": "ม.2",
    "12": "ม.3",
    "13": "ม.4",
    "14": "ม.5",
    "15": "ม.6",
    "16": "ปวช.1",
    "17": "ปวช.2",
    "18": "ปวช.3",
}
WEIGHT_COLUMNS: tuple[Band, ...] = (*WEIGHT_BANDS, NOT_CLASSIFIED)
HEIGHT_COLUMNS: tuple[Band, ...] = (*HEIGHT_BANDS, NOT_CLASSIFIED)


def as_of(r: Round) -> dt.date:
    """Ages are taken at the round's as-of date (else the day its confirm window opens)."""
    return r.as_of_date or r.confirm_opens_at.date()


@dataclass
class Child:
    enrolment_id: int
    masked_id: str
    name: str
    grade: str
    room: int
    sex: str
    weight_kg: Decimal | None
    height_cm: Decimal | None
    result: Result


@dataclass
class Row:
    """One line of a table: counts per weight band and per height band."""

    key: str
    label: str
    weight: Counter[str] = field(default_factory=Counter)
    height: Counter[str] = field(default_factory=Counter)
    total: int = 0
    references: Counter[str] = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        self.total += 1
        self.weight[result.weight.band.key] += 1
        self.height[result.height.band.key] += 1
        if result.reference:
            self.references[result.reference] += 1

    def merge(self, other: Row) -> None:
        self.total += other.total
        self.weight.update(other.weight)
        self.height.update(other.height)
        self.references.update(other.references)

    def cells(self) -> list[int]:
        return [self.weight[b.key] for b in WEIGHT_COLUMNS] + [
            self.height[b.key] for b in HEIGHT_COLUMNS
        ]


@dataclass
class Table:
    scheme: Scheme
    as_of: dt.date
    rows: list[Row]
    total: Row

    @property
    def references(self) -> list[tuple[str, int]]:
        return sorted(self.total.references.items())


def _check_school(actor: Actor, school: School) -> None:
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()


def children(
    *, actor: Actor, school: School, r: Round, scheme_key: str | None = None
) -> list[Child]:
    """Every active student of the school in the round's year, classified (scoped)."""
    _check_school(actor, school)
    sch = scheme(scheme_key)
    day = as_of(r)
    out = []
    for e in (
        Enrolment.objects.filter(
            school=school, academic_year=r.academic_year.year, status=Enrolment.Status.ACTIVE
        )
        .order_by("grade", "room", "student_no")
        .values(
            "pk",
            "grade",
            "room",
            "weight_kg",
            "height_cm",
            "person__person_id",
            "person__first_name",
            "person__last_name",
            "person__sex",
            "person__birth_date",
        )
    ):
        result = classify(
            sex=e["person__sex"],
            birth_date=e["person__birth_date"],
            as_of=day,
            weight_kg=e["weight_kg"],
            height_cm=e["height_cm"],
            scheme=sch,
        )
        out.append(
            Child(
                enrolment_id=e["pk"],
                masked_id=mask_person_id(e["person__person_id"]),
                name=f"{e['person__first_name']} {e['person__last_name']}",
                grade=e["grade"],
                room=e["room"],
                sex=e["person__sex"],
                weight_kg=e["weight_kg"],
                height_cm=e["height_cm"],
                result=result,
            )
        )
    return out


def school_table(
    *, actor: Actor, school: School, r: Round, scheme_key: str | None = None
) -> tuple[Table, list[Child]]:
    """Counts per grade for one school, and its classified children."""
    kids = children(actor=actor, school=school, r=r, scheme_key=scheme_key)
    rows: dict[str, Row] = {}
    total = Row("total", "รวม")
    for kid in kids:
        row = rows.setdefault(kid.grade, Row(kid.grade, GRADE_LABELS.get(kid.grade, kid.grade)))
        row.add(kid.result)
        total.add(kid.result)
    ordered = [rows[g] for g in sorted(rows)]
    return Table(scheme(scheme_key), as_of(r), ordered, total), kids


def area_table(*, actor: Actor, area: AreaOffice, r: Round, scheme_key: str | None = None) -> Table:
    """Counts per school for an area (area office of that area, or OBEC)."""
    if not (actor.is_obec or (actor.is_area and actor.area_id == area.pk)):
        raise not_in_scope()
    total = Row("total", "รวม")
    rows = []
    for school in School.objects.filter(area=area).order_by("smis_code"):
        table, _ = school_table(actor=actor, school=school, r=r, scheme_key=scheme_key)
        row = Row(school.smis_code, school.name)
        row.merge(table.total)
        rows.append(row)
        total.merge(table.total)
    return Table(scheme(scheme_key), as_of(r), rows, total)


def at_risk(kids: list[Child]) -> list[Child]:
    return [k for k in kids if k.result.at_risk]


def not_classified(kids: list[Child]) -> list[Child]:
    return [k for k in kids if not k.result.classified]


def headers() -> list[str]:
    return [f"{b.th} ({b.en})" for b in WEIGHT_COLUMNS] + [
        f"{b.th} ({b.en})" for b in HEIGHT_COLUMNS
    ]


def table_dict(table: Table) -> dict[str, Any]:
    def row(r: Row) -> dict[str, Any]:
        return {
            "key": r.key,
            "label": r.label,
            "students": r.total,
            "weight": {b.key: r.weight[b.key] for b in WEIGHT_COLUMNS},
            "height": {b.key: r.height[b.key] for b in HEIGHT_COLUMNS},
            "references": dict(r.references),
        }

    return {
        "scheme": table.scheme.key,
        "scheme_example": table.scheme.example,
        "as_of": table.as_of.isoformat(),
        "rows": [row(r) for r in table.rows],
        "total": row(table.total),
    }
