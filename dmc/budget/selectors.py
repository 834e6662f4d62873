"""Per-head budget reads, scoped: from each school's sealed confirmation snapshot of the round
(the D4-counted heads by grade; the disadvantaged among them), never the live tables.

A school that has not confirmed (or whose confirmation was cancelled) has no sealed counts: it is
listed as "not confirmed" and contributes nothing to the totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q

from dmc.accounts.actor import Actor
from dmc.budget import rules
from dmc.budget.rates import RateTable, table_for
from dmc.core.errors import DmcError, ErrorCode, not_in_scope
from dmc.rounds.models import Round, SchoolRound, SnapshotRow
from dmc.schools.models import AreaOffice, School
from dmc.students.models import Person


@dataclass
class Line:
    """One school (or one area) of a report."""

    key: str
    label: str
    confirmed: bool = True
    sha256: str = ""
    counted: dict[str, int] = field(default_factory=dict)  # level -> heads
    disadvantaged: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # item -> baht
    schools: int = 1
    unconfirmed: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal("0.00"))

    @property
    def heads(self) -> int:
        return sum(self.counted.values())


@dataclass
class Report:
    table: RateTable
    round: Round
    semester: int
    lines: list[Line]
    total: Line


def semester_of(table: RateTable, r: Round) -> int:
    semester = table.round_semester.get(r.number)
    if semester is None:
        raise DmcError(
            ErrorCode.BUDGET_ROUND_NOT_FUNDED, http_status=409, round=r.number, table=table.version
        )
    return semester


def rate_table(r: Round, version: str | None = None) -> RateTable:
    return table_for(r.as_of_date or r.confirm_opens_at.date(), version)


def funded_round(r: Round, version: str | None = None) -> Round:
    """``r`` if its rate table funds it, else the latest earlier round of the same year that
    it does (the pages' default: the end-of-year round funds nothing)."""
    try:
        table = rate_table(r, version)
    except DmcError:
        return r
    if r.number in table.round_semester:
        return r
    earlier = (
        Round.objects.select_related("academic_year")
        .filter(academic_year=r.academic_year, number__in=list(table.round_semester))
        .filter(number__lt=r.number)
        .order_by("-number")
        .first()
    )
    return earlier or r


def _poor(table: RateTable) -> Q:
    if table.disadvantaged_codes:
        return Q(disadvantaged__in=table.disadvantaged_codes)
    return ~Q(disadvantaged__in=["", "00"])


def school_lines(schools: list[School], r: Round, table: RateTable, semester: int) -> list[Line]:
    """A line per school: sealed counts by level and the amounts per item."""
    sealed = {
        sr.school_id: sr
        for sr in SchoolRound.objects.filter(
            round=r,
            school__in=schools,
            confirmed_at__isnull=False,
            snapshot__isnull=False,
            snapshot__cancelled_at__isnull=True,
        ).select_related("snapshot")
    }
    snapshot_ids = [sr.snapshot_id for sr in sealed.values() if sr.snapshot_id is not None]
    poor: dict[int, dict[str, int]] = defaultdict(dict)
    if snapshot_ids and any(i.basis == "disadvantaged" for i in table.items):
        for row in (
            SnapshotRow.objects.filter(snapshot_id__in=snapshot_ids, counted=True)
            .filter(person_id__in=Person.objects.filter(_poor(table)).values("pk"))
            .values("snapshot_id", "grade")
            .annotate(n=Count("pk"))
        ):
            poor[row["snapshot_id"]][row["grade"]] = row["n"]
    lines = []
    for school in schools:
        sr = sealed.get(school.pk)
        if sr is None or sr.snapshot is None:
            lines.append(
                Line(
                    school.smis_code,
                    school.name,
                    confirmed=False,
                    counted={lv.code: 0 for lv in table.levels},
                    disadvantaged={lv.code: 0 for lv in table.levels},
                    amounts={i.code: Decimal("0.00") for i in table.items},
                    unconfirmed=1,
                )
            )
            continue
        counted_by_grade = {
            grade: int(cell.get("cM", 0)) + int(cell.get("cF", 0))
            for grade, cell in sr.snapshot.totals.items()
        }
        poor_by_grade = poor.get(sr.snapshot.pk, {})
        lines.append(
            Line(
                school.smis_code,
                school.name,
                sha256=sr.snapshot.sha256,
                counted=rules.heads_by_level(table, counted_by_grade),
                disadvantaged=rules.heads_by_level(table, poor_by_grade),
                amounts=rules.school_amounts(table, semester, counted_by_grade, poor_by_grade),
            )
        )
    return lines


def _sum(key: str, label: str, lines: list[Line], table: RateTable) -> Line:
    total = Line(
        key,
        label,
        counted={lv.code: 0 for lv in table.levels},
        disadvantaged={lv.code: 0 for lv in table.levels},
        amounts={i.code: Decimal("0.00") for i in table.items},
        schools=0,
    )
    for line in lines:
        for lv in table.levels:
            total.counted[lv.code] += line.counted.get(lv.code, 0)
            total.disadvantaged[lv.code] += line.disadvantaged.get(lv.code, 0)
        rules.add(total.amounts, line.amounts)
        total.schools += line.schools
        total.unconfirmed += line.unconfirmed
    return total


def school_budget(*, actor: Actor, school: School, r: Round, version: str | None = None) -> Report:
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()
    table = rate_table(r, version)
    semester = semester_of(table, r)
    lines = school_lines([school], r, table, semester)
    return Report(table, r, semester, lines, _sum("total", "รวม", lines, table))


def area_budget(*, actor: Actor, area: AreaOffice, r: Round, version: str | None = None) -> Report:
    if not (actor.is_obec or (actor.is_area and actor.area_id == area.pk)):
        raise not_in_scope()
    table = rate_table(r, version)
    semester = semester_of(table, r)
    schools = list(School.objects.filter(area=area).order_by("smis_code"))
    lines = school_lines(schools, r, table, semester)
    return Report(table, r, semester, lines, _sum("total", "รวม", lines, table))


def nation_budget(*, actor: Actor, r: Round, version: str | None = None) -> Report:
    """OBEC: a line per area (each the sum of its schools' rounded amounts)."""
    if not actor.is_obec:
        raise not_in_scope()
    table = rate_table(r, version)
    semester = semester_of(table, r)
    schools = list(School.objects.select_related("area").order_by("area__code", "smis_code"))
    by_area: dict[int, list[Line]] = defaultdict(list)
    areas: dict[int, AreaOffice] = {}
    for school, line in zip(schools, school_lines(schools, r, table, semester), strict=True):
        by_area[school.area_id].append(line)
        areas[school.area_id] = school.area
    lines = [
        _sum(areas[a].code, areas[a].name, by_area[a], table)
        for a in sorted(areas, key=lambda a: areas[a].code)
    ]
    return Report(table, r, semester, lines, _sum("total", "รวม", lines, table))


def report_dict(report: Report) -> dict[str, Any]:
    t = report.table

    def line(ln: Line) -> dict[str, Any]:
        return {
            "key": ln.key,
            "label": ln.label,
            "confirmed": ln.confirmed,
            "snapshot_sha256": ln.sha256 or None,
            "schools": ln.schools,
            "unconfirmed_schools": ln.unconfirmed,
            "counted": ln.counted,
            "disadvantaged": ln.disadvantaged,
            "amounts": {k: str(v) for k, v in ln.amounts.items()},
            "total": str(ln.total),
        }

    return {
        "rate_table": {
            "name": t.name,
            "version": t.version,
            "example": t.example,
            "effective_from": t.effective_from.isoformat(),
            "rounding": t.rounding,
            "note": t.note_en,
        },
        "round": {"academic_year": report.round.academic_year.year, "number": report.round.number},
        "semester": report.semester,
        "items": [{"code": i.code, "th": i.th, "en": i.en, "basis": i.basis} for i in t.items],
        "lines": [line(ln) for ln in report.lines],
        "total": line(report.total),
    }
