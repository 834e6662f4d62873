"""School data the school keeps up to date each round: grades offered and rooms per grade."""

from __future__ import annotations

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.codes import GRADES
from dmc.core.errors import Collector, DmcError, ErrorCode, not_in_scope
from dmc.rounds import stats
from dmc.rounds.selectors import require_entry_round
from dmc.schools.models import School, SchoolGrade

MAX_ROOMS = 99


def _check_rooms(grade: str, rooms: int) -> None:
    if grade not in GRADES:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=grade,
            list_th="ชั้นเรียน",
            list_en="grade",
            fields={f"rooms_{grade}": ["code_unknown"]},
        )
    if not 0 <= rooms <= MAX_ROOMS:
        raise DmcError(
            ErrorCode.VALUE_RANGE,
            field_th=f"จำนวนห้อง {GRADES.label(grade)}",
            field_en=f"Rooms in {GRADES.label(grade, 'en')}",
            value=rooms,
            low=0,
            high=MAX_ROOMS,
            fields={f"rooms_{grade}": ["value_range"]},
        )


@transaction.atomic
def school_grades_update(
    *, actor: Actor, school: School, academic_year: int, rooms: dict[str, int | None]
) -> dict[str, int]:
    """Set the grades the school offers (``None`` = not offered) and their rooms.

    Entry window and D8 apply (a confirmed school's data is read-only). Raises NOT_IN_SCOPE,
    ROLE_NOT_ALLOWED, WINDOW_CLOSED, CONFIRMED_READ_ONLY, CODE_UNKNOWN, VALUE_RANGE.
    """
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()
    require_entry_round(academic_year, clock.now(), school.pk)
    c = Collector()
    for grade, n in rooms.items():
        if n is not None:
            c.check(_check_rooms, grade, n)
    c.raise_if_any()
    School.objects.select_for_update().filter(pk=school.pk).first()  # serialise per school
    current = dict(
        SchoolGrade.objects.filter(school=school, academic_year=academic_year).values_list(
            "grade", "rooms"
        )
    )
    wanted = {g: n for g, n in rooms.items() if n is not None}
    if wanted == current:
        return current
    SchoolGrade.objects.filter(school=school, academic_year=academic_year).exclude(
        grade__in=list(wanted)
    ).delete()
    for grade, n in wanted.items():
        SchoolGrade.objects.update_or_create(
            school=school, academic_year=academic_year, grade=grade, defaults={"rooms": n}
        )
    stats.locked_stats(school.pk, academic_year)  # rooms feed D6 in the checklist
    audit.record(
        actor=actor,
        action="school.rooms",
        target=school,
        before={"rooms": current},
        after={"rooms": wanted},
        school_id=school.pk,
        area_id=school.area_id,
    )
    return wanted
