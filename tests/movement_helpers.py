"""Helpers shared by the movement and case tests: clock moves, audit marks, exact refusals,
the maintained per-school head counts, and a school that is ready to confirm."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models import Max

from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.models import AuditEvent
from dmc.rounds import services as round_services
from dmc.rounds.models import Round, SchoolYearStats
from dmc.schools.models import School, SchoolGrade
from dmc.schools.services import school_grades_update
from dmc.students import movements
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World

EXAM_DAY = dt.date(2022, 2, 21)  # the demo calendar's final exam (21 ก.พ. 2565)
BEFORE_EXAM = dt.date(2022, 2, 20)


@contextmanager
def at(
    month: int, day: int, hour: int, minute: int = 0, second: int = 0, *, year: int = 2022
) -> Iterator[None]:
    """Stop the server clock at a Bangkok wall-clock time (CE year; 2565 by default)."""
    with clock.frozen(bangkok(year, month, day, hour, minute, second)):
        yield


def mark() -> int:
    return AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0


def actions_since(m: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=m).order_by("id").values_list("action", flat=True))


def events_since(m: int, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=m, action=action).order_by("id"))


def refused(code: ErrorCode, fn: Callable[..., Any], /, **kw: Any) -> DmcError:
    """Call ``fn`` expecting exactly ``code``; nothing is audited."""
    m = mark()
    with pytest.raises(DmcError) as exc:
        fn(**kw)
    assert exc.value.code == code, (exc.value.code, exc.value.message)
    assert actions_since(m) == []
    return exc.value


def officer(world: World, school: School) -> Actor:
    return {
        world.school_a1.pk: world.actors["officer_a1"],
        world.school_a2.pk: world.actors["officer_a2"],
        world.school_b1.pk: world.actors["officer_b1"],
    }[school.pk]


def heads(school: School) -> dict[str, int]:
    """The maintained head count (SchoolYearStats) per grade, zero cells left out."""
    row = SchoolYearStats.objects.filter(school=school, academic_year=YEAR).first()
    if row is None:
        return {}
    out = {g: c["M"] + c["F"] for g, c in row.totals.items()}
    return {g: n for g, n in out.items() if n}


def total(school: School) -> int:
    n = sum(heads(school).values())
    # the maintained count always agrees with the live rows
    assert (
        n
        == Enrolment.objects.filter(
            school=school, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).count()
    )
    return n


def fresh(enrolment: Enrolment) -> Enrolment:
    return Enrolment.objects.select_related("person", "school").get(pk=enrolment.pk)


def leave(world: World, enrolment: Enrolment, on: dt.date = BEFORE_EXAM) -> Enrolment:
    """The student's school records a transfer out before the exam."""
    return movements.transfer_out(
        actor=officer(world, enrolment.school),
        enrolment_id=enrolment.pk,
        version=None,
        left_on=on,
        destination="โรงเรียนปลายทาง",
    )


def transfer(
    world: World, school: School, person_id: str, actor: Actor | None = None, **kw: Any
) -> tuple[Enrolment | None, Any]:
    """A transfer in by the school's officer (round 3: the student sat the exam here)."""
    kw.setdefault("sat_exam_here", True)
    kw.setdefault("grade", "05")
    kw.setdefault("room", 1)
    kw.setdefault("student_no", f"T{world._seq}-{school.pk}")
    world._seq += 1
    return movements.transfer_in(
        actor=actor or officer(world, school),
        school=school,
        year=YEAR,
        person_id=person_id,
        **kw,
    )


def confirm_ready(world: World, school: School) -> None:
    """Fit the rooms to the school's students (D6) and confirm it on 30 Apr 2565 10:00 (the
    caller keeps the clock there)."""
    grades = set(
        Enrolment.objects.filter(
            school=school, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).values_list("grade", flat=True)
    )
    offered = set(
        SchoolGrade.objects.filter(school=school, academic_year=YEAR).values_list(
            "grade", flat=True
        )
    )
    rooms: dict[str, int | None] = {g: (2 if g in grades else None) for g in grades | offered}
    school_grades_update(
        actor=officer(world, school), school=school, academic_year=YEAR, rooms=rooms
    )
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    sr = round_services.round_confirm(actor=officer(world, school), school=school, round_id=r3.pk)
    assert sr.confirmed_at is not None
