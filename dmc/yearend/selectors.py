"""Reads for the end-of-year pages: the state of each step, the classes and their students, and
the learning-results overview (school, area, nation; scoped by the actor)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from dmc.accounts.actor import Actor
from dmc.core.codes import GRADES, TERMINAL_GRADES
from dmc.rounds import stats
from dmc.rounds.models import MenuWindow, Round, SchoolYearStats
from dmc.rounds.rules import YEAR_END_MENUS, inside
from dmc.schools.models import School
from dmc.students.models import Enrolment
from dmc.yearend.services import PENDING_KEYS, pending_counts


@dataclass(frozen=True)
class StepState:
    menu: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    is_open: bool
    pending: int
    waiting_for: str | None  # an earlier menu that still has students pending (L8)

    @property
    def usable(self) -> bool:
        return self.is_open and self.waiting_for is None


def year_end_round(year: int) -> Round | None:
    return Round.objects.filter(academic_year__year=year, number=3).first()


def school_pending(school: School, year: int) -> dict[str, int]:
    row = SchoolYearStats.objects.filter(school=school, academic_year=year).first()
    if row is None or row.as_of != stats.as_of_for(year):
        row = stats.rebuild(school, year)
    return pending_counts(row.checks)


def steps(school: School, year: int, now: dt.datetime) -> list[StepState]:
    r = year_end_round(year)
    windows = {m.menu: m for m in MenuWindow.objects.filter(round=r)} if r else {}
    pending = school_pending(school, year)
    out = []
    for i, menu in enumerate(YEAR_END_MENUS):
        w = windows.get(menu)
        earlier = [m for m in YEAR_END_MENUS[:i] if pending.get(m)]
        out.append(
            StepState(
                menu=menu,
                opens_at=w.opens_at if w else None,
                closes_at=w.closes_at if w else None,
                is_open=bool(w and inside(w.opens_at, w.closes_at, now)),
                pending=pending.get(menu, 0),
                waiting_for=earlier[0] if earlier else None,
            )
        )
    return out


@dataclass
class ClassRow:
    grade: str
    room: int
    students: int = 0
    tracked: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    repeaters: int = 0
    graduates: int = 0


def classes(school: School, year: int) -> list[ClassRow]:
    """Every class (grade x room) with its students still pending per step."""
    pending_filters = {
        menu: Count("id", filter=Q(checks__contains=key)) for menu, key in PENDING_KEYS.items()
    }
    rows = (
        Enrolment.objects.filter(school=school, academic_year=year, status="active")
        .values("grade", "room")
        .annotate(
            students=Count("id"),
            tracked=Count("id", filter=Q(tracked_318=True)),
            repeaters=Count("id", filter=Q(year_result="fail")),
            graduates=Count("id", filter=Q(year_result="pass", grade__in=TERMINAL_GRADES)),
            **{f"p{i}": f for i, f in enumerate(pending_filters.values())},
        )
        .order_by("grade", "room")
    )
    return [
        ClassRow(
            grade=r["grade"],
            room=r["room"],
            students=r["students"],
            tracked=r["tracked"],
            repeaters=r["repeaters"],
            graduates=r["graduates"],
            pending={menu: r[f"p{i}"] for i, menu in enumerate(pending_filters)},  # type: ignore[literal-required]
        )
        for r in rows
    ]


def class_students(
    school: School, year: int, menu: str, grade: str, room: int | None
) -> QuerySet[Enrolment]:
    """The students a step asks about in one class (3.2.2: everyone; 3.2.2.1: repeaters;
    3.2.2.2: graduates of a terminal grade), in roll order."""
    qs = Enrolment.objects.filter(
        school=school, academic_year=year, status="active", grade=grade
    ).select_related("person")
    if room is not None:
        qs = qs.filter(room=room)
    if menu == "3.2.2.1":
        qs = qs.filter(year_result="fail", tracked_318=False)
    elif menu == "3.2.2.2":
        qs = qs.filter(year_result="pass", tracked_318=False, grade__in=TERMINAL_GRADES)
    return qs.order_by("room", "student_no")


# --- learning results ---------------------------------------------------------------------


@dataclass
class LearningRow:
    grade: str
    passed: int = 0
    failed: int = 0
    graduated: int = 0
    pending: int = 0
    tracked: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.graduated + self.pending + self.tracked


@dataclass
class LearningResults:
    rows: list[LearningRow]
    destinations: dict[str, int]
    evaluations: dict[str, int]

    @property
    def total(self) -> LearningRow:
        t = LearningRow("")
        for r in self.rows:
            t.passed += r.passed
            t.failed += r.failed
            t.graduated += r.graduated
            t.pending += r.pending
            t.tracked += r.tracked
        return t


def learning_scope(actor: Actor, *, area_id: int | None, school_id: int | None) -> Q:
    """The enrolments the actor may count: its own school, area or (OBEC) any."""
    if actor.is_obec:
        q = Q()
    elif actor.is_area:
        q = Q(school__area_id=actor.area_id)
    else:
        q = Q(school_id=actor.school_id or 0)
    if area_id is not None:
        q &= Q(school__area_id=area_id)
    if school_id is not None:
        q &= Q(school_id=school_id)
    return q


def learning_results(
    actor: Actor, year: int, *, area_id: int | None = None, school_id: int | None = None
) -> LearningResults:
    """Pass, fail/repeat, graduate, pending and 3.1.8 per grade; destinations and the
    evaluations not passed. Active enrolments of ``year`` in the actor's scope."""
    base = Enrolment.objects.filter(
        learning_scope(actor, area_id=area_id, school_id=school_id),
        academic_year=year,
        status="active",
    )
    by_grade: dict[str, LearningRow] = {}
    destinations: dict[str, int] = defaultdict(int)
    evaluations: dict[str, int] = defaultdict(int)
    groups = (
        base.values("grade", "tracked_318", "year_result", "destination", "failed_evaluations")
        .annotate(n=Count("id"))
        .order_by()
    )
    for g in groups:
        row = by_grade.setdefault(g["grade"], LearningRow(g["grade"]))
        n = g["n"]
        if g["tracked_318"]:
            row.tracked += n
        elif g["year_result"] == "fail":
            row.failed += n
            for code in filter(None, g["failed_evaluations"].split(",")):
                evaluations[code] += n
        elif g["year_result"] == "pass" and g["grade"] in TERMINAL_GRADES:
            row.graduated += n
            destinations[g["destination"] or "-"] += n
        elif g["year_result"] == "pass":
            row.passed += n
        else:
            row.pending += n
    order = [e["code"] for e in GRADES.entries]
    rows = sorted(by_grade.values(), key=lambda r: order.index(r.grade))
    return LearningResults(
        rows, dict(sorted(destinations.items())), dict(sorted(evaluations.items()))
    )
