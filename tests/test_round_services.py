"""The round services against the seed letter's calendar (round 3 of 2564): confirm, certify,
cancel/revoke, acknowledge, close, D8 read-only, sealed snapshots, query notes, reopen requests
and OBEC's calendar edits. Each rule is tested allowed and refused, with the exact error code,
the database state after, and the audit trail (one event per change)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role, RoleAssignment, User
from dmc.accounts.services import assignment_create_approved
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import ErrorCode
from dmc.core.models import AuditEvent
from dmc.rounds import selectors, stats
from dmc.rounds import services as rs
from dmc.rounds.models import (
    QueryNote,
    ReopenRequest,
    Round,
    SchoolRound,
    Snapshot,
    SnapshotRow,
)
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.schools.services import school_grades_update
from dmc.students import services as student_services
from dmc.students.models import Enrolment
from tests.conftest import PASSWORD, YEAR, World, make_citizen_id, set_year_result
from tests.movement_helpers import actions_since, at, mark, refused

# --- helpers ------------------------------------------------------------------------------------


def confirm_day(hour: int, minute: int = 0, second: int = 0) -> Any:
    return at(4, 30, hour, minute, second)


def round3() -> Round:
    return Round.objects.select_related("academic_year").get(academic_year__year=YEAR, number=3)


def sr_of(school: School) -> SchoolRound | None:
    return SchoolRound.objects.filter(school=school, round=round3()).first()


def officer(world: World, school: School) -> Actor:
    return {
        world.school_a1.pk: world.actors["officer_a1"],
        world.school_a2.pk: world.actors["officer_a2"],
        world.school_b1.pk: world.actors["officer_b1"],
    }[school.pk]


def new_actor(
    name: str,
    role: str,
    *,
    school: School | None = None,
    area: AreaOffice | None = None,
    user: User | None = None,
) -> Actor:
    if user is None:
        user = User(username=name, first_name="ทดสอบ", last_name=name)
        user.set_password(PASSWORD)
        user.save()
    a = assignment_create_approved(actor=None, user=user, role=role, school=school, area=area)
    return Actor.from_assignment(
        RoleAssignment.objects.select_related("school", "user").get(pk=a.pk)
    )


def director(world: World, school: School) -> Actor:
    if school.pk == world.school_a1.pk:
        return world.actors["director_a1"]
    return new_actor(f"director_{school.smis_code}", Role.SCHOOL_DIRECTOR, school=school)


def add(
    world: World,
    school: School,
    *,
    weight: Decimal | None = Decimal("30.5"),
    height: Decimal | None = Decimal("135.0"),
    grade: str = "05",
    **person: Any,
) -> Enrolment:
    """A student added by the system, with the measures given."""
    world._seq += 1
    data: dict[str, Any] = {
        "title_code": "001",
        "first_name": f"นักเรียน{world._seq}",
        "last_name": "ทดสอบ",
        "sex": "M",
        "birth_date": dt.date(2013, 6, 1),
    }
    data.update(person)
    enrolment = student_services.student_add(
        sat_exam_here=True,  # round 3: only exam takers are added (L5)
        actor=None,
        school=school,
        academic_year=YEAR,
        person_id=make_citizen_id(6_000_000 + world._seq),
        person=data,
        grade=grade,
        room=1,
        student_no=str(20_000 + world._seq),
        weight_kg=weight,
        height_cm=height,
    )
    set_year_result(enrolment, "pass")  # the year-end steps done (L8)
    return enrolment


def fit_rooms(world: World, school: School) -> dict[str, int]:
    """D6: rooms only for the grades that have students (through the school-data service)."""
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
    return school_grades_update(
        actor=officer(world, school), school=school, academic_year=YEAR, rooms=rooms
    )


def ready(world: World, school: School, n: int = 1) -> list[Enrolment]:
    """A school whose checklist is clean: n plausible students and matching rooms."""
    out = [add(world, school) for _ in range(n)]
    fit_rooms(world, school)
    return out


def update(actor: Actor, enrolment_id: int, **changes: Any) -> Enrolment:
    e = Enrolment.objects.select_related("person").get(pk=enrolment_id)
    return student_services.student_update(
        actor=actor,
        enrolment_id=enrolment_id,
        person_version=e.person.version,
        enrolment_version=e.version,
        changes=changes,
    )


def confirm(world: World, school: School) -> SchoolRound:
    return rs.round_confirm(actor=officer(world, school), school=school, round_id=round3().pk)


def certify(world: World, school: School, actor: Actor | None = None) -> SchoolRound:
    return rs.round_certify(
        actor=actor or director(world, school), school=school, round_id=round3().pk
    )


def previous_year_height(enrolment: Enrolment, height: Decimal) -> None:
    """Last year's record of the same student (as rollover leaves it)."""
    Enrolment.objects.create(
        person_id=enrolment.person_id,
        school_id=enrolment.school_id,
        academic_year=YEAR - 1,
        grade="04",
        room=1,
        student_no=f"P{enrolment.pk}",
        status=Enrolment.Status.CLOSED,
        height_cm=height,
    )


# --- confirm (L10, D7) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hms", "allowed"),
    [
        ((7, 59, 59), False),
        ((8, 0, 0), True),
        ((16, 29, 59), True),
        ((16, 30, 0), False),
    ],
)
def test_confirm_only_inside_the_window(
    world: World, hms: tuple[int, int, int], allowed: bool
) -> None:
    a1 = world.school_a1
    ready(world, a1)
    with confirm_day(*hms):
        if allowed:
            m = mark()
            sr = confirm(world, a1)
            assert sr.confirmed_at == clock.now()
            assert sr.confirmed_by == world.users["officer_a1"]
            assert sr.snapshot is not None
            assert actions_since(m) == ["round.confirm"]
            assert Snapshot.objects.filter(school=a1, kind=Snapshot.Kind.CONFIRM).count() == 1
        else:
            err = refused(ErrorCode.CONFIRM_WINDOW_CLOSED, confirm, world=world, school=a1)
            assert err.http_status == 409
            # the refusal names the window
            assert "30 เม.ย. 2565 08:00:00" in err.message_in("th")
            assert "30 เม.ย. 2565 16:30:00" in err.message_in("th")
            assert not SchoolRound.objects.filter(confirmed_at__isnull=False).exists()
            assert not Snapshot.objects.exists()


def test_confirm_refused_while_a_student_lacks_weight_then_allowed(world: World) -> None:
    a1 = world.school_a1
    _good, bad = ready(world, a1, n=2)
    update(world.actors["officer_a1"], bad.pk, weight_kg=None)
    with confirm_day(10):
        err = refused(ErrorCode.CHECKLIST_BLOCKING, confirm, world=world, school=a1)
        assert err.http_status == 409
        assert err.params["count"] == 1
        assert sr_of(a1) is None or sr_of(a1).confirmed_at is None  # type: ignore[union-attr]
        assert not Snapshot.objects.exists()
        progress = selectors.school_progress(a1, round3())
        assert progress.state == "has_errors"
        assert [(i.key, i.count) for i in progress.items] == [("L3.weight_missing", 1)]
        update(world.actors["officer_a1"], bad.pk, weight_kg=Decimal("29.0"))
        m = mark()
        sr = confirm(world, a1)
        assert actions_since(m) == ["round.confirm"]
        assert sr.confirmed_at is not None
        assert selectors.school_progress(a1, round3()).state == "confirmed"


def test_confirm_refused_for_rooms_without_students_and_students_without_rooms(
    world: World,
) -> None:
    a1 = world.school_a1
    add(world, a1)  # grade 05; the school still has 2 rooms in 04, 06, 07, 08, 09
    with confirm_day(10):
        err = refused(ErrorCode.CHECKLIST_BLOCKING, confirm, world=world, school=a1)
        assert err.params["count"] == 5
        fit_rooms(world, a1)
        # the other direction: students in a grade with no room
        SchoolGrade.objects.filter(school=a1, academic_year=YEAR, grade="05").update(rooms=0)
        err = refused(ErrorCode.CHECKLIST_BLOCKING, confirm, world=world, school=a1)
        assert err.params["count"] == 1
        assert selectors.school_progress(a1, round3()).rooms == [("05", 1, 0)]
        school_grades_update(
            actor=world.actors["officer_a1"], school=a1, academic_year=YEAR, rooms={"05": 1}
        )
        assert confirm(world, a1).confirmed_at is not None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("director_a1", ErrorCode.ROLE_NOT_ALLOWED),
        ("area_a", ErrorCode.ROLE_NOT_ALLOWED),
        ("obec", ErrorCode.ROLE_NOT_ALLOWED),
        ("officer_a2", ErrorCode.NOT_IN_SCOPE),
        ("officer_b1", ErrorCode.NOT_IN_SCOPE),
    ],
)
def test_confirm_only_by_the_schools_own_officer(world: World, name: str, code: ErrorCode) -> None:
    a1 = world.school_a1
    ready(world, a1)
    with confirm_day(10):
        err = refused(
            code, rs.round_confirm, actor=world.actors[name], school=a1, round_id=round3().pk
        )
        assert err.http_status == 403
        assert not SchoolRound.objects.filter(confirmed_at__isnull=False).exists()


def test_confirm_twice_is_a_conflict_with_one_audit_event(world: World) -> None:
    a1 = world.school_a1
    ready(world, a1)
    with confirm_day(10):
        first = confirm(world, a1)
    with confirm_day(10, 5):
        err = refused(ErrorCode.ALREADY_CONFIRMED, confirm, world=world, school=a1)
        assert err.http_status == 409
    sr = sr_of(a1)
    assert sr is not None and sr.confirmed_at == first.confirmed_at
    assert sr.snapshot_id == first.snapshot_id
    assert AuditEvent.objects.filter(action="round.confirm").count() == 1
    assert Snapshot.objects.count() == 1


def test_a_query_blocks_until_explained(world: World) -> None:
    a1 = world.school_a1
    (e,) = ready(world, a1)
    previous_year_height(e, Decimal("140.0"))
    officer_a1 = world.actors["officer_a1"]
    update(officer_a1, e.pk, height_cm=Decimal("137.0"))  # 3 cm lower than last year
    assert Enrolment.objects.get(pk=e.pk).checks.split() == ["L3.height_drop"]
    with confirm_day(10):
        refused(ErrorCode.CHECKLIST_BLOCKING, confirm, world=world, school=a1)
        # only query-severity checks can be explained, and only with a note
        for key in ("L3.weight_missing", "D5.title", "D4.age", "no.such.check"):
            err = refused(
                ErrorCode.NOT_A_QUERY,
                rs.query_explain,
                actor=officer_a1,
                enrolment_id=e.pk,
                check_key=key,
                note="เหตุผล",
            )
            assert err.http_status == 400
        refused(
            ErrorCode.NOTE_REQUIRED,
            rs.query_explain,
            actor=officer_a1,
            enrolment_id=e.pk,
            check_key="L3.height_drop",
            note="   ",
        )
        refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            rs.query_explain,
            actor=world.actors["director_a1"],
            enrolment_id=e.pk,
            check_key="L3.height_drop",
            note="เหตุผล",
        )
        refused(
            ErrorCode.NOT_FOUND,
            rs.query_explain,
            actor=world.actors["officer_a2"],
            enrolment_id=e.pk,
            check_key="L3.height_drop",
            note="เหตุผล",
        )
        assert not QueryNote.objects.exists()
        refused(ErrorCode.CHECKLIST_BLOCKING, confirm, world=world, school=a1)

        m = mark()
        qn = rs.query_explain(
            actor=officer_a1,
            enrolment_id=e.pk,
            check_key="L3.height_drop",
            note="  ปีก่อนวัดขณะสวมรองเท้า  ",
        )
        assert actions_since(m) == ["query.explain"]
        assert qn.note == "ปีก่อนวัดขณะสวมรองเท้า"
        assert qn.written_by == world.users["officer_a1"]
        assert Enrolment.objects.get(pk=e.pk).checks.split() == ["L3.height_drop!"]
        assert stats.blocking_count(stats.locked_stats(a1.pk, YEAR).checks) == 0
        m = mark()
        assert confirm(world, a1).confirmed_at is not None
        assert actions_since(m) == ["round.confirm"]


# --- D8: confirmed data is read-only until cancelled ---------------------------------------------


def test_confirmed_school_is_read_only_until_cancelled(world: World) -> None:
    a1, a2 = world.school_a1, world.school_a2
    (e,) = ready(world, a1)
    (e2,) = ready(world, a2)
    previous_year_height(e, Decimal("140.0"))
    officer_a1 = world.actors["officer_a1"]
    with confirm_day(10):
        confirm(world, a1)
        refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            update,
            actor=officer_a1,
            enrolment_id=e.pk,
            weight_kg=Decimal("31"),
        )
        refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            school_grades_update,
            actor=officer_a1,
            school=a1,
            academic_year=YEAR,
            rooms={"05": 3},
        )
        refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            student_services.student_add,
            actor=officer_a1,
            school=a1,
            academic_year=YEAR,
            person_id=make_citizen_id(9_100_001),
            person={
                "title_code": "001",
                "first_name": "ใหม่",
                "last_name": "ทดสอบ",
                "sex": "M",
                "birth_date": dt.date(2013, 6, 1),
            },
            grade="05",
            room=1,
            student_no="99999",
        )
        refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            rs.query_explain,
            actor=officer_a1,
            enrolment_id=e.pk,
            check_key="L3.height_drop",
            note="เหตุผล",
        )
        assert Enrolment.objects.get(pk=e.pk).weight_kg == Decimal("30.5")
        assert dict(
            SchoolGrade.objects.filter(school=a1, academic_year=YEAR).values_list("grade", "rooms")
        ) == {"05": 2}
        # another school is not affected
        assert update(world.actors["officer_a2"], e2.pk, weight_kg=Decimal("31")).weight_kg == 31
    with confirm_day(10, 30):
        m = mark()
        rs.round_cancel(actor=officer_a1, school=a1, round_id=round3().pk, reason="แก้น้ำหนัก")
        assert actions_since(m) == ["round.cancel"]
        assert update(officer_a1, e.pk, weight_kg=Decimal("31")).weight_kg == Decimal("31")
        assert school_grades_update(
            actor=officer_a1, school=a1, academic_year=YEAR, rooms={"05": 3}
        ) == {"05": 3}


# --- certify (D7) ------------------------------------------------------------------------------


def test_certify_by_the_director_after_confirm(world: World) -> None:
    a1 = world.school_a1
    ready(world, a1)
    with confirm_day(10):
        refused(ErrorCode.NOT_CONFIRMED, certify, world=world, school=a1)
        confirm(world, a1)
        refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            certify,
            world=world,
            school=a1,
            actor=world.actors["officer_a1"],
        )
        refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            certify,
            world=world,
            school=a1,
            actor=world.actors["area_a"],
        )
        other = director(world, world.school_a2)
        refused(ErrorCode.NOT_IN_SCOPE, certify, world=world, school=a1, actor=other)
        m = mark()
        sr = certify(world, a1)
        assert actions_since(m) == ["round.certify"]
        assert sr.certified_at == clock.now()
        assert sr.certified_by == world.users["director_a1"]
        refused(ErrorCode.ALREADY_CERTIFIED, certify, world=world, school=a1)


def test_certifier_must_not_be_the_confirmer(world: World) -> None:
    a1 = world.school_a1
    ready(world, a1)
    # the officer who confirms also holds the director role at the same school
    same = new_actor("x", Role.SCHOOL_DIRECTOR, school=a1, user=world.users["officer_a1"])
    assert same.user == world.actors["officer_a1"].user and same.role == Role.SCHOOL_DIRECTOR
    with confirm_day(10):
        confirm(world, a1)
        err = refused(ErrorCode.CERTIFIER_SAME_PERSON, certify, world=world, school=a1, actor=same)
        assert err.http_status == 409
        assert sr_of(a1).certified_at is None  # type: ignore[union-attr]
        assert certify(world, a1).certified_by == world.users["director_a1"]


@pytest.mark.parametrize(("hms", "allowed"), [((16, 29, 59), True), ((16, 30, 0), False)])
def test_certify_only_inside_the_window(
    world: World, hms: tuple[int, int, int], allowed: bool
) -> None:
    a1 = world.school_a1
    ready(world, a1)
    with confirm_day(10):
        confirm(world, a1)
    with confirm_day(*hms):
        if allowed:
            assert certify(world, a1).certified_at == clock.now()
        else:
            refused(ErrorCode.CONFIRM_WINDOW_CLOSED, certify, world=world, school=a1)
            assert sr_of(a1).certified_at is None  # type: ignore[union-attr]


# --- cancel and revoke (D7) ------------------------------------------------------------------


def _confirmed(world: World, *schools: School, certified: bool = False) -> None:
    for school in schools:
        ready(world, school)
    with confirm_day(10):
        for school in schools:
            confirm(world, school)
            if certified:
                certify(world, school)


@pytest.mark.parametrize("who", ["officer_a1", "director_a1"])
@pytest.mark.parametrize(("hms", "allowed"), [((16, 29, 59), True), ((16, 30, 0), False)])
def test_school_cancels_until_the_self_cancel_deadline(
    world: World, who: str, hms: tuple[int, int, int], allowed: bool
) -> None:
    a1 = world.school_a1
    _confirmed(world, a1)
    with confirm_day(*hms):
        call = {"actor": world.actors[who], "school": a1, "round_id": round3().pk}
        if allowed:
            m = mark()
            sr = rs.round_cancel(**call)
            assert actions_since(m) == ["round.cancel"]
            assert sr.confirmed_at is None and sr.snapshot is None
        else:
            err = refused(ErrorCode.SELF_CANCEL_PASSED, rs.round_cancel, **call)
            assert err.http_status == 409
            assert sr_of(a1).confirmed_at is not None  # type: ignore[union-attr]


def test_area_cancels_only_after_the_deadline_and_only_its_schools(world: World) -> None:
    a1 = world.school_a1
    _confirmed(world, a1)
    r = round3()
    with confirm_day(16, 29, 59):
        err = refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            rs.round_cancel,
            actor=world.actors["area_a"],
            school=a1,
            round_id=r.pk,
        )
        assert err.http_status == 403
    with confirm_day(16, 30):
        refused(
            ErrorCode.NOT_IN_SCOPE,
            rs.round_cancel,
            actor=world.actors["area_b"],
            school=a1,
            round_id=r.pk,
        )
        assert sr_of(a1).confirmed_at is not None  # type: ignore[union-attr]
    with at(5, 1, 9):
        m = mark()
        sr = rs.round_cancel(actor=world.actors["area_a"], school=a1, round_id=r.pk, reason="ผิด")
        assert actions_since(m) == ["round.cancel"]
        assert sr.confirmed_at is None
        ev = AuditEvent.objects.get(action="round.cancel")
        assert ev.reason == "ผิด" and ev.actor == world.users["area_a"]
        assert ev.before["confirmed_by"] == world.users["officer_a1"].pk
        assert ev.after["confirmed_by"] is None
        refused(
            ErrorCode.NOT_CONFIRMED,
            rs.round_cancel,
            actor=world.actors["area_a"],
            school=a1,
            round_id=r.pk,
        )


def test_area_cannot_cancel_after_close(world: World) -> None:
    a1 = world.school_a1
    _confirmed(world, a1)
    with at(5, 2, 9):
        rs.round_close(actor=world.actors["obec"], round_id=round3().pk)
    with at(5, 2, 10):
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.round_cancel,
            actor=world.actors["area_a"],
            school=a1,
            round_id=round3().pk,
        )
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.round_cancel,
            actor=world.actors["obec"],
            school=a1,
            round_id=round3().pk,
        )
        assert sr_of(a1).confirmed_at is not None  # type: ignore[union-attr]


def test_cancel_clears_certify_and_acknowledge_and_marks_the_snapshot(world: World) -> None:
    a1 = world.school_a1
    _confirmed(world, a1, certified=True)
    sr = sr_of(a1)
    assert sr is not None
    snapshot_id = sr.snapshot_id
    with confirm_day(17):
        rs.round_acknowledge(actor=world.actors["area_a"], school=a1, round_id=round3().pk)
        assert sr_of(a1).acknowledged_at is not None  # type: ignore[union-attr]
    with confirm_day(17, 30):
        rs.round_cancel(actor=world.actors["area_a"], school=a1, round_id=round3().pk)
        now = clock.now()
    sr = sr_of(a1)
    assert sr is not None
    assert (sr.confirmed_at, sr.confirmed_by, sr.snapshot) == (None, None, None)
    assert (sr.certified_at, sr.certified_by) == (None, None)
    assert (sr.acknowledged_at, sr.acknowledged_by) == (None, None)
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    assert snapshot.cancelled_at == now
    assert SnapshotRow.objects.filter(snapshot=snapshot).count() == 1  # kept, not deleted
    assert selectors.school_progress(a1, round3()).state == "ready"


def test_obec_revoke_with_lock_suspends_confirm_until_unlocked(world: World) -> None:
    a1 = world.school_a1
    _confirmed(world, a1, certified=True)
    r = round3()
    with confirm_day(11):
        refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            rs.round_unlock,
            actor=world.actors["area_a"],
            school=a1,
            round_id=r.pk,
        )
        m = mark()
        sr = rs.round_cancel(
            actor=world.actors["obec"], school=a1, round_id=r.pk, reason="ข้อมูลซ้ำ", lock=True
        )
        assert actions_since(m) == ["round.revoke"]
        assert sr.locked_reason == "ข้อมูลซ้ำ"
        assert sr.confirmed_at is None and sr.certified_at is None
        err = refused(ErrorCode.CONFIRM_LOCKED, confirm, world=world, school=a1)
        assert err.http_status == 409
        m = mark()
        assert (
            rs.round_unlock(actor=world.actors["obec"], school=a1, round_id=r.pk).locked_reason
            == ""
        )
        assert actions_since(m) == ["round.unlock"]
        assert confirm(world, a1).confirmed_at is not None


def test_obec_lock_without_confirmation_and_revoke_needs_one(world: World) -> None:
    a2 = world.school_a2
    ready(world, a2)
    r = round3()
    with confirm_day(9):
        refused(
            ErrorCode.NOT_CONFIRMED,
            rs.round_cancel,
            actor=world.actors["obec"],
            school=a2,
            round_id=r.pk,
        )
        refused(
            ErrorCode.NOT_CONFIRMED,
            rs.round_cancel,
            actor=world.actors["officer_a2"],
            school=a2,
            round_id=r.pk,
        )
        sr = rs.round_cancel(actor=world.actors["obec"], school=a2, round_id=r.pk, lock=True)
        assert sr.locked_reason == "-"
        refused(ErrorCode.CONFIRM_LOCKED, confirm, world=world, school=a2)


# --- acknowledge -------------------------------------------------------------------------------


def test_acknowledge_only_certified_schools_of_the_own_area(world: World) -> None:
    a1 = world.school_a1
    _confirmed(world, a1)
    r = round3()
    area_a = world.actors["area_a"]
    with confirm_day(17):
        err = refused(
            ErrorCode.NOT_CERTIFIED, rs.round_acknowledge, actor=area_a, school=a1, round_id=r.pk
        )
        assert err.http_status == 409
    with confirm_day(12):
        certify(world, a1)
    with confirm_day(17):
        refused(
            ErrorCode.NOT_IN_SCOPE,
            rs.round_acknowledge,
            actor=world.actors["area_b"],
            school=a1,
            round_id=r.pk,
        )
        for name in ("officer_a1", "director_a1", "obec"):
            refused(
                ErrorCode.ROLE_NOT_ALLOWED,
                rs.round_acknowledge,
                actor=world.actors[name],
                school=a1,
                round_id=r.pk,
            )
        m = mark()
        sr = rs.round_acknowledge(actor=area_a, school=a1, round_id=r.pk)
        assert actions_since(m) == ["round.acknowledge"]
        assert sr.acknowledged_at == clock.now() and sr.acknowledged_by == world.users["area_a"]
    with confirm_day(18):
        # idempotent: a second acknowledgement changes nothing and writes nothing
        m = mark()
        again = rs.round_acknowledge(actor=area_a, school=a1, round_id=r.pk)
        assert actions_since(m) == []
        assert again.acknowledged_at == sr.acknowledged_at
        assert again.version == sr.version


@pytest.mark.parametrize(
    ("when", "allowed"),
    [((5, 1, 23, 58, 59), True), ((5, 1, 23, 59, 0), False), ((5, 2, 9, 0, 0), False)],
)
def test_acknowledge_until_the_area_deadline(
    world: World, when: tuple[int, ...], allowed: bool
) -> None:
    a1 = world.school_a1
    _confirmed(world, a1, certified=True)
    with at(*when):
        call = {"actor": world.actors["area_a"], "school": a1, "round_id": round3().pk}
        if allowed:
            assert rs.round_acknowledge(**call).acknowledged_at == clock.now()
        else:
            err = refused(ErrorCode.WINDOW_CLOSED, rs.round_acknowledge, **call)
            assert "1 พ.ค. 2565 23:59:00" in err.message_in("th")
            assert sr_of(a1).acknowledged_at is None  # type: ignore[union-attr]


def test_acknowledge_clean_takes_only_clean_certified_schools(world: World) -> None:
    a1, a2, b1 = world.school_a1, world.school_a2, world.school_b1
    a3 = School.objects.create(
        smis_code="10010003", moe_code="1010010003", obec_code="100003", name="บ้านสาม",
        area=world.area_a, province_code="10",
    )  # fmt: skip
    a4 = School.objects.create(
        smis_code="10010004", moe_code="1010010004", obec_code="100004", name="บ้านสี่",
        area=world.area_a, province_code="10",
    )  # fmt: skip
    for school in (a3, a4):
        SchoolGrade.objects.create(school=school, academic_year=YEAR, grade="05", rooms=1)
    officers = {
        a3.pk: new_actor("officer_a3", Role.SCHOOL_OFFICER, school=a3),
        a4.pk: new_actor("officer_a4", Role.SCHOOL_OFFICER, school=a4),
    }
    ready(world, a1)
    ready(world, b1)
    # a2: a student over 20 (a D4 warning, never blocking) the area should look at
    add(world, a2, birth_date=dt.date(2000, 5, 1), title_code="003", weight=Decimal("55"))
    fit_rooms(world, a2)
    # a3: a height drop explained in a note
    e3 = add(world, a3)
    previous_year_height(e3, Decimal("150.0"))
    update(officers[a3.pk], e3.pk, height_cm=Decimal("136.0"))
    rs.query_explain(
        actor=officers[a3.pk], enrolment_id=e3.pk, check_key="L3.height_drop", note="วัดใหม่แล้ว"
    )
    add(world, a4)
    r = round3()
    with confirm_day(10):
        for school in (a1, a2, b1):
            confirm(world, school)
            certify(world, school)
        for school in (a3, a4):
            rs.round_confirm(actor=officers[school.pk], school=school, round_id=r.pk)
        certify(world, a3)  # a4 stays confirmed only
    with confirm_day(17):
        refused(
            ErrorCode.ROLE_NOT_ALLOWED,
            rs.round_acknowledge_clean,
            actor=world.actors["obec"],
            round_id=r.pk,
        )
        m = mark()
        done = rs.round_acknowledge_clean(actor=world.actors["area_a"], round_id=r.pk)
        assert [sr.school_id for sr in done] == [a1.pk]
        assert actions_since(m) == ["round.acknowledge"]
        acknowledged = set(
            SchoolRound.objects.filter(acknowledged_at__isnull=False).values_list(
                "school_id", flat=True
            )
        )
        assert acknowledged == {a1.pk}
        # the others are acknowledged one by one after a look
        for school in (a2, a3):
            rs.round_acknowledge(actor=world.actors["area_a"], school=school, round_id=r.pk)
        assert rs.round_acknowledge_clean(actor=world.actors["area_a"], round_id=r.pk) == []


def test_acknowledge_clean_skips_a_school_with_a_blocking_item_after_certify(world: World) -> None:
    """A system load after certification (no window, no D8 for the system) can leave a certified
    school with an error: it needs a look, not a one-click acknowledgement."""
    a1 = world.school_a1
    _confirmed(world, a1, certified=True)
    with confirm_day(12):
        add(world, a1, weight=None)
    r = round3()
    with confirm_day(17):
        assert rs.round_acknowledge_clean(actor=world.actors["area_a"], round_id=r.pk) == []
        assert sr_of(a1).acknowledged_at is None  # type: ignore[union-attr]
        assert (
            rs.round_acknowledge(
                actor=world.actors["area_a"], school=a1, round_id=r.pk
            ).acknowledged_at
            == clock.now()
        )


def test_area_progress_agrees_with_school_progress(
    world: World, django_assert_num_queries: Any
) -> None:
    a1, a2, b1 = world.school_a1, world.school_a2, world.school_b1
    _confirmed(world, a1, certified=True)
    add(world, a2)  # rooms still in grades without students: D6
    r = round3()
    schools = [a1, a2, b1]
    expected = [selectors.school_progress(s, r) for s in schools]
    assert [p.state for p in expected] == ["certified", "has_errors", "has_errors"]
    assert expected[1].rooms == [(g, 0, 2) for g in ("04", "06", "07", "08", "09")]
    assert expected[1].readiness == 99  # every student fine, the rooms are not
    with django_assert_num_queries(3):
        got = selectors.area_progress(schools, r)
    assert [(p.state, p.students, p.counted, p.blocking, p.rooms) for p in got] == [
        (p.state, p.students, p.counted, p.blocking, p.rooms) for p in expected
    ]


# --- snapshots (D8) ------------------------------------------------------------------------------


def _rows(snapshot: Snapshot) -> set[tuple[Any, ...]]:
    return set(
        SnapshotRow.objects.filter(snapshot=snapshot).values_list(
            "enrolment_id",
            "person_id",
            "school_id",
            "grade",
            "room",
            "sex",
            "birth_date",
            "counted",
        )
    )


def _active(school: School) -> set[tuple[Any, ...]]:
    return set(
        Enrolment.objects.filter(
            school=school, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).values_list(
            "pk", "person_id", "school_id", "grade", "room", "person__sex", "person__birth_date",
            "counted",
        )
    )  # fmt: skip


def test_confirm_snapshot_is_the_schools_active_rows_with_totals(world: World) -> None:
    a1 = world.school_a1
    boy = add(world, a1)
    girl = add(world, a1, sex="F", title_code="002")
    small = add(world, a1, grade="06", birth_date=dt.date(2017, 5, 17), height=Decimal("100"))
    gone = add(world, a1, grade="06")
    Enrolment.objects.filter(pk=gone.pk).update(status=Enrolment.Status.TRANSFERRED_OUT)
    stats.rebuild(a1, YEAR)
    add(world, world.school_a2)  # another school's student is not in a1's snapshot
    fit_rooms(world, a1)
    assert Enrolment.objects.get(pk=small.pk).counted is False  # D4: 3 on 16 May 2564
    with confirm_day(10):
        sr = confirm(world, a1)
    snapshot = sr.snapshot
    assert snapshot is not None
    assert snapshot.kind == Snapshot.Kind.CONFIRM and snapshot.school == a1
    assert snapshot.taken_by == world.users["officer_a1"]
    assert _rows(snapshot) == _active(a1)
    assert {r[0] for r in _rows(snapshot)} == {boy.pk, girl.pk, small.pk}
    assert snapshot.rows == 3
    assert snapshot.counted_rows == 2
    assert snapshot.totals == {
        "05": {"M": 1, "F": 1, "cM": 1, "cF": 1, "tracked": 0, "rooms": 2},
        "06": {"M": 1, "F": 0, "cM": 0, "cF": 0, "tracked": 0, "rooms": 2},
    }
    # drill-down: every total is the count of the rows behind it
    for grade, cell in snapshot.totals.items():
        for sex in ("M", "F"):
            rows = SnapshotRow.objects.filter(snapshot=snapshot, grade=grade, sex=sex)
            assert rows.count() == cell[sex]
            assert rows.filter(counted=True).count() == cell["c" + sex]
    assert len(snapshot.sha256) == 64
    assert rs.snapshot_recompute(snapshot) == snapshot.sha256


@pytest.mark.parametrize("tamper", [{"grade": "07"}, {"counted": False}, {"sex": "F"}, {"room": 2}])
def test_tampering_with_a_snapshot_row_changes_the_hash(
    world: World, tamper: dict[str, Any]
) -> None:
    a1 = world.school_a1
    e, _ = ready(world, a1, n=2)
    with confirm_day(10):
        snapshot = confirm(world, a1).snapshot
    assert snapshot is not None
    assert rs.snapshot_recompute(snapshot) == snapshot.sha256
    SnapshotRow.objects.filter(snapshot=snapshot, enrolment_id=e.pk).update(**tamper)
    assert rs.snapshot_recompute(snapshot) != snapshot.sha256


def test_tampering_by_deleting_a_row_changes_the_hash(world: World) -> None:
    a1 = world.school_a1
    e, _ = ready(world, a1, n=2)
    with confirm_day(10):
        snapshot = confirm(world, a1).snapshot
    assert snapshot is not None
    SnapshotRow.objects.filter(snapshot=snapshot, enrolment_id=e.pk).delete()
    assert rs.snapshot_recompute(snapshot) != snapshot.sha256


def test_reconfirming_unchanged_data_gives_the_same_hash(world: World) -> None:
    a1 = world.school_a1
    e, _ = ready(world, a1, n=2)
    officer_a1 = world.actors["officer_a1"]
    with confirm_day(10):
        first = confirm(world, a1).snapshot
        rs.round_cancel(actor=officer_a1, school=a1, round_id=round3().pk)
    with confirm_day(10, 5):
        second = confirm(world, a1).snapshot
        rs.round_cancel(actor=officer_a1, school=a1, round_id=round3().pk)
        update(officer_a1, e.pk, birth_date=dt.date(2013, 7, 1))
    with confirm_day(10, 10):
        third = confirm(world, a1).snapshot
    assert first is not None and second is not None and third is not None
    assert len({first.pk, second.pk, third.pk}) == 3
    assert second.sha256 == first.sha256
    assert third.sha256 != first.sha256
    assert rs.snapshot_recompute(third) == third.sha256
    assert Snapshot.objects.get(pk=first.pk).cancelled_at is not None
    assert Snapshot.objects.get(pk=third.pk).cancelled_at is None


# --- close -------------------------------------------------------------------------------------


def test_close_after_the_confirm_window_by_obec_only(world: World) -> None:
    a1, a2, b1 = world.school_a1, world.school_a2, world.school_b1
    ready(world, a1, n=2)
    ready(world, a2)
    ready(world, b1)
    r = round3()
    with confirm_day(10):
        confirm(world, a1)
        certify(world, a1)
        confirm(world, a2)
        # b1 confirms and cancels: not in the official data
        confirm(world, b1)
        rs.round_cancel(actor=world.actors["officer_b1"], school=b1, round_id=r.pk)
    obec = world.actors["obec"]
    with confirm_day(16, 29, 59):
        err = refused(ErrorCode.ROUND_NOT_CLOSABLE, rs.round_close, actor=obec, round_id=r.pk)
        assert err.http_status == 409
        assert round3().closed_at is None
    with confirm_day(16, 30):
        refused(
            ErrorCode.ROLE_NOT_ALLOWED, rs.round_close, actor=world.actors["area_a"], round_id=r.pk
        )
        m = mark()
        snapshot = rs.round_close(actor=obec, round_id=r.pk)
        assert actions_since(m) == ["round.close"]
        now = clock.now()
    closed = round3()
    assert closed.closed_at == now
    assert closed.version == r.version + 1
    assert selectors.state_of(closed, now).value == "closed"
    s1, s2 = sr_of(a1).snapshot, sr_of(a2).snapshot  # type: ignore[union-attr]
    assert s1 is not None and s2 is not None
    assert snapshot.kind == Snapshot.Kind.CLOSE and snapshot.school is None
    assert snapshot.totals["schools"] == [
        [a1.smis_code, s1.sha256, 2, 2, True],
        [a2.smis_code, s2.sha256, 1, 1, False],
    ]
    assert snapshot.rows == 3 and snapshot.counted_rows == 3
    assert snapshot.totals["grades"] == {
        "05": {"M": 3, "F": 0, "cM": 3, "cF": 0, "tracked": 0, "rooms": 4}
    }
    assert rs.snapshot_recompute(snapshot) == snapshot.sha256
    ev = AuditEvent.objects.get(action="round.close")
    assert ev.after["snapshot"] == snapshot.sha256 and ev.after["confirmed_schools"] == 2
    # the close hash covers the school list
    Snapshot.objects.filter(pk=snapshot.pk).update(
        totals={**snapshot.totals, "schools": snapshot.totals["schools"][:1]}
    )
    assert rs.snapshot_recompute(Snapshot.objects.get(pk=snapshot.pk)) != snapshot.sha256
    with confirm_day(16, 31):
        refused(ErrorCode.ROUND_CLOSED, rs.round_close, actor=obec, round_id=r.pk)
        assert Snapshot.objects.filter(kind=Snapshot.Kind.CLOSE).count() == 1


def test_nothing_changes_after_close(world: World) -> None:
    a1, a2, b1 = world.school_a1, world.school_a2, world.school_b1
    (e1,) = ready(world, a1)
    ready(world, a2)
    ready(world, b1)
    r = round3()
    with confirm_day(10):
        confirm(world, a1)
        confirm(world, a2)
    with at(5, 1, 9):
        rs.round_close(actor=world.actors["obec"], round_id=r.pk)
    with at(5, 1, 9, 30):
        refused(ErrorCode.ROUND_CLOSED, confirm, world=world, school=b1)
        refused(ErrorCode.ROUND_CLOSED, certify, world=world, school=a1)
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.round_cancel,
            actor=world.actors["area_a"],
            school=a2,
            round_id=r.pk,
        )
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.reopen_request,
            actor=world.actors["officer_b1"],
            school=b1,
            round_id=r.pk,
            reason="ขอบันทึกเพิ่ม",
        )
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.round_update_windows,
            actor=world.actors["obec"],
            round_id=r.pk,
            version=round3().version,
            windows={},
        )
        refused(
            ErrorCode.WINDOW_CLOSED,
            update,
            actor=world.actors["officer_b1"],
            enrolment_id=Enrolment.objects.get(school=b1).pk,
            weight_kg=Decimal("31"),
        )
        refused(
            ErrorCode.WINDOW_CLOSED,
            school_grades_update,
            actor=world.actors["officer_b1"],
            school=b1,
            academic_year=YEAR,
            rooms={"05": 3},
        )
    # even an entry window moved by a reopen does not outlive the close
    sr = sr_of(a1)
    assert sr is not None
    SchoolRound.objects.filter(pk=sr.pk).update(entry_extended_until=bangkok(2022, 5, 10))
    with at(5, 2, 9):
        refused(
            ErrorCode.WINDOW_CLOSED,
            update,
            actor=world.actors["officer_a1"],
            enrolment_id=e1.pk,
            weight_kg=Decimal("31"),
        )


# --- OBEC's calendar ----------------------------------------------------------------------------


def test_update_windows_obec_only_with_version_and_order(world: World) -> None:
    r = round3()
    obec = world.actors["obec"]
    later = {
        "confirm_closes_at": bangkok(2022, 4, 30, 17, 30),
        "self_cancel_deadline": bangkok(2022, 4, 30, 17, 30),
    }
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        rs.round_update_windows,
        actor=world.actors["area_a"],
        round_id=r.pk,
        version=r.version,
        windows=later,
    )
    err = refused(
        ErrorCode.STALE_VERSION,
        rs.round_update_windows,
        actor=obec,
        round_id=r.pk,
        version=r.version - 1,
        windows=later,
    )
    assert err.http_status == 409
    disordered = [
        {"confirm_closes_at": bangkok(2022, 4, 30, 7, 0)},  # closes before it opens
        {"entry_closes_at": bangkok(2021, 11, 1)},  # entry closes before it opens
        {"confirm_opens_at": bangkok(2021, 11, 1)},  # before entry opens
        {"area_ack_closes_at": bangkok(2022, 4, 30, 12, 0)},  # before the confirm window ends
        {"self_cancel_deadline": bangkok(2022, 5, 3)},  # after acknowledgement ends
    ]
    fields = [*rs.WINDOW_FIELDS, "version"]
    before = Round.objects.filter(pk=r.pk).values(*fields).get()
    for windows in disordered:
        err = refused(
            ErrorCode.WINDOWS_ORDER,
            rs.round_update_windows,
            actor=obec,
            round_id=r.pk,
            version=r.version,
            windows=windows,
        )
        assert err.message_in("en")
        assert Round.objects.filter(pk=r.pk).values(*fields).get() == before
    refused(
        ErrorCode.NOT_FOUND,
        rs.round_update_windows,
        actor=obec,
        round_id=99_999,
        version=1,
        windows={},
    )

    m = mark()
    updated = rs.round_update_windows(actor=obec, round_id=r.pk, version=r.version, windows=later)
    assert actions_since(m) == ["round.windows"]
    assert updated.version == r.version + 1
    fresh = round3()
    assert fresh.confirm_closes_at == later["confirm_closes_at"]
    assert fresh.self_cancel_deadline == later["self_cancel_deadline"]
    assert fresh.entry_closes_at == r.entry_closes_at
    ev = AuditEvent.objects.get(action="round.windows")
    assert set(ev.before) == set(ev.after) == {"confirm_closes_at", "self_cancel_deadline"}
    assert dt.datetime.fromisoformat(ev.before["confirm_closes_at"]) == r.confirm_closes_at
    assert dt.datetime.fromisoformat(ev.after["confirm_closes_at"]) == later["confirm_closes_at"]
    # the old version is now stale
    refused(
        ErrorCode.STALE_VERSION,
        rs.round_update_windows,
        actor=obec,
        round_id=r.pk,
        version=r.version,
        windows=later,
    )
    # the services follow the new calendar: 17:00 is now inside the confirm window
    ready(world, world.school_a1)
    with confirm_day(17):
        assert confirm(world, world.school_a1).confirmed_at == clock.now()


# --- reopen requests (late entry) ----------------------------------------------------------------


def test_reopen_not_needed_while_entry_is_open(world: World) -> None:
    a1 = world.school_a1
    r = round3()
    officer_a1 = world.actors["officer_a1"]
    refused(
        ErrorCode.NOTE_REQUIRED,
        rs.reopen_request,
        actor=officer_a1,
        school=a1,
        round_id=r.pk,
        reason="  ",
    )
    err = refused(
        ErrorCode.REOPEN_NOT_NEEDED,
        rs.reopen_request,
        actor=officer_a1,
        school=a1,
        round_id=r.pk,
        reason="ขอเพิ่มนักเรียน",
    )
    assert err.http_status == 409
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        rs.reopen_request,
        actor=world.actors["area_a"],
        school=a1,
        round_id=r.pk,
        reason="x",
    )
    # a school that confirmed and cancelled has a progress row but is open again: still not needed
    ready(world, a1)
    with confirm_day(10):
        confirm(world, a1)
        rs.round_cancel(actor=officer_a1, school=a1, round_id=r.pk)
        assert sr_of(a1) is not None
        refused(
            ErrorCode.REOPEN_NOT_NEEDED,
            rs.reopen_request,
            actor=officer_a1,
            school=a1,
            round_id=r.pk,
            reason="ขอเพิ่มนักเรียน",
        )
    with at(5, 1, 9):
        refused(
            ErrorCode.NOT_IN_SCOPE,
            rs.reopen_request,
            actor=world.actors["officer_a2"],
            school=a1,
            round_id=r.pk,
            reason="x",
        )
    assert not ReopenRequest.objects.exists()


def test_reopen_after_entry_closes_extends_entry_for_that_school_only(world: World) -> None:
    a1, a2 = world.school_a1, world.school_a2
    e1, e2 = add(world, a1), add(world, a2)
    r = round3()
    officer_a1, officer_a2 = world.actors["officer_a1"], world.actors["officer_a2"]
    area_a = world.actors["area_a"]
    with at(5, 1, 9):
        refused(
            ErrorCode.WINDOW_CLOSED,
            update,
            actor=officer_a1,
            enrolment_id=e1.pk,
            weight_kg=Decimal("31"),
        )
        m = mark()
        req = rs.reopen_request(actor=officer_a1, school=a1, round_id=r.pk, reason="ลืมบันทึกส่วนสูง")
        assert actions_since(m) == ["reopen.request"]
        assert req.status == ReopenRequest.Status.SUBMITTED
    with at(5, 1, 10):
        decide = {"request_id": req.pk, "approve": True, "until": bangkok(2022, 5, 2, 16, 30)}
        refused(ErrorCode.NOT_FOUND, rs.reopen_decide, actor=world.actors["area_b"], **decide)
        refused(ErrorCode.ROLE_NOT_ALLOWED, rs.reopen_decide, actor=officer_a1, **decide)
        refused(
            ErrorCode.NOT_FOUND, rs.reopen_decide, actor=area_a, **{**decide, "request_id": 99_999}
        )
        for until in (None, bangkok(2022, 5, 1, 10, 0), bangkok(2022, 5, 1, 9, 0)):
            refused(
                ErrorCode.WINDOWS_ORDER,
                rs.reopen_decide,
                actor=area_a,
                **{**decide, "until": until},
            )
        assert ReopenRequest.objects.get(pk=req.pk).status == ReopenRequest.Status.SUBMITTED
        m = mark()
        decided = rs.reopen_decide(actor=area_a, note="อนุมัติ", **decide)
        assert actions_since(m) == ["round.reopen", "reopen.approve"]
        assert decided.status == ReopenRequest.Status.APPROVED
        assert decided.extends_until == decide["until"]
        assert decided.decided_by == world.users["area_a"]
        assert sr_of(a1).entry_extended_until == decide["until"]  # type: ignore[union-attr]
        assert sr_of(a2) is None
        # deciding twice
        refused(ErrorCode.ALREADY_DECIDED, rs.reopen_decide, actor=area_a, **decide)
        refused(
            ErrorCode.ALREADY_DECIDED,
            rs.reopen_decide,
            actor=area_a,
            request_id=req.pk,
            approve=False,
            until=None,
        )
    with at(5, 2, 16, 29, 59):
        assert update(officer_a1, e1.pk, weight_kg=Decimal("31")).weight_kg == Decimal("31")
        refused(
            ErrorCode.WINDOW_CLOSED,
            update,
            actor=officer_a2,
            enrolment_id=e2.pk,
            weight_kg=Decimal("31"),
        )
    with at(5, 2, 16, 30):
        refused(
            ErrorCode.WINDOW_CLOSED,
            update,
            actor=officer_a1,
            enrolment_id=e1.pk,
            weight_kg=Decimal("32"),
        )


def test_reopen_reject_changes_nothing_else(world: World) -> None:
    a1 = world.school_a1
    r = round3()
    with at(5, 1, 9):
        req = rs.reopen_request(
            actor=world.actors["director_a1"], school=a1, round_id=r.pk, reason="ขอ"
        )
        m = mark()
        decided = rs.reopen_decide(
            actor=world.actors["area_a"],
            request_id=req.pk,
            approve=False,
            until=bangkok(2022, 5, 3),
            note="ไม่จำเป็น",
        )
        assert actions_since(m) == ["reopen.reject"]
    assert decided.status == ReopenRequest.Status.REJECTED
    assert decided.extends_until is None
    assert sr_of(a1) is None or sr_of(a1).entry_extended_until is None  # type: ignore[union-attr]


def test_reopen_of_a_confirmed_school_cancels_its_confirmation(world: World) -> None:
    a1 = world.school_a1
    (e1,) = ready(world, a1)
    r = round3()
    officer_a1 = world.actors["officer_a1"]
    with confirm_day(10):
        sr = confirm(world, a1)
        certify(world, a1)
        snapshot_id = sr.snapshot_id
    with confirm_day(11):
        # entry is open, but the school has confirmed: a request makes sense
        req = rs.reopen_request(actor=officer_a1, school=a1, round_id=r.pk, reason="พบข้อมูลผิด")
    with confirm_day(11, 5):
        rs.reopen_decide(
            actor=world.actors["area_a"],
            request_id=req.pk,
            approve=True,
            until=bangkok(2022, 4, 30, 15, 0),
        )
        now = clock.now()
    sr = sr_of(a1)
    assert sr is not None
    assert sr.confirmed_at is None and sr.certified_at is None and sr.snapshot is None
    assert Snapshot.objects.get(pk=snapshot_id).cancelled_at == now
    ev = AuditEvent.objects.get(action="round.reopen")
    assert ev.before["confirmed_by"] == world.users["officer_a1"].pk
    assert ev.after["confirmed_by"] is None
    with confirm_day(11, 10):
        # D8 lifted: the school corrects and confirms again
        update(officer_a1, e1.pk, weight_kg=Decimal("31"))
        assert confirm(world, a1).confirmed_at == clock.now()


def test_reopen_approval_refused_after_close(world: World) -> None:
    a1 = world.school_a1
    r = round3()
    with at(5, 1, 9):
        req = rs.reopen_request(
            actor=world.actors["officer_a1"], school=a1, round_id=r.pk, reason="ขอ"
        )
        rs.round_close(actor=world.actors["obec"], round_id=r.pk)
    with at(5, 1, 10):
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.reopen_decide,
            actor=world.actors["area_a"],
            request_id=req.pk,
            approve=True,
            until=bangkok(2022, 5, 3),
        )
    assert ReopenRequest.objects.get(pk=req.pk).status == ReopenRequest.Status.SUBMITTED


# --- reads outside a transaction (views and the API are not atomic) ---------------------------


@pytest.mark.django_db(transaction=True)
def test_checklist_and_acknowledge_clean_outside_a_transaction(world: World) -> None:
    """``select_for_update`` outside a transaction is refused on PostgreSQL: the selector and
    the one-click acknowledgement must open their own."""
    a1 = world.school_a1
    _confirmed(world, a1, certified=True)
    r = round3()
    with confirm_day(17):
        progress = selectors.school_progress(a1, r)
        assert progress.state == "certified" and progress.students == 1
        done = rs.round_acknowledge_clean(actor=world.actors["area_a"], round_id=r.pk)
        assert [sr.school_id for sr in done] == [a1.pk]
        assert sr_of(a1).acknowledged_at == clock.now()  # type: ignore[union-attr]


def test_d5_is_judged_at_the_rounds_as_of_date_on_edit_and_in_the_checklist(
    world: World,
) -> None:
    """A student who turned 15 after the as-of date (31 March) is still a child for this round:
    the edit form and the checklist agree, so the school can confirm."""
    a1 = world.school_a1
    # 15 on 10 April 2565; on 31 March he was 14, so the round wants เด็กชาย
    refused(
        ErrorCode.TITLE_SEX_AGE,
        lambda: add(
            world, a1, birth_date=dt.date(2007, 4, 10), title_code="003", weight=Decimal("50")
        ),
    )
    e = add(world, a1, birth_date=dt.date(2007, 4, 10), title_code="001", weight=Decimal("50"))
    refused(
        ErrorCode.TITLE_SEX_AGE,
        update,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        title_code="003",
    )
    fit_rooms(world, a1)
    with confirm_day(10):
        assert confirm(world, a1).confirmed_at is not None


def test_a_school_reopened_after_the_confirm_window_can_confirm_again(world: World) -> None:
    a1 = world.school_a1
    (e1,) = ready(world, a1)
    r = round3()
    with confirm_day(10):
        confirm(world, a1)
    with at(5, 1, 9):
        req = rs.reopen_request(
            actor=world.actors["officer_a1"], school=a1, round_id=r.pk, reason="พบข้อมูลผิด"
        )
        rs.reopen_decide(
            actor=world.actors["area_a"],
            request_id=req.pk,
            approve=True,
            until=bangkok(2022, 5, 2, 16, 30),
        )
    with at(5, 1, 10):
        update(world.actors["officer_a1"], e1.pk, weight_kg=Decimal("31"))
        assert confirm(world, a1).confirmed_at == clock.now()


def test_one_waiting_reopen_request_at_a_time(world: World) -> None:
    a1 = world.school_a1
    r = round3()
    with at(5, 1, 9):
        first = rs.reopen_request(
            actor=world.actors["officer_a1"], school=a1, round_id=r.pk, reason="ขอแก้ไข"
        )
        refused(
            ErrorCode.REOPEN_PENDING,
            rs.reopen_request,
            actor=world.actors["director_a1"],
            school=a1,
            round_id=r.pk,
            reason="ขอซ้ำ",
        )
        rs.reopen_decide(
            actor=world.actors["area_a"], request_id=first.pk, approve=False, until=None
        )
        again = rs.reopen_request(
            actor=world.actors["officer_a1"], school=a1, round_id=r.pk, reason="ขออีกครั้ง"
        )
    assert again.status == ReopenRequest.Status.SUBMITTED


def test_unlock_refused_after_close(world: World) -> None:
    a1 = world.school_a1
    r = round3()
    with at(5, 2, 9):
        rs.round_close(actor=world.actors["obec"], round_id=r.pk)
        refused(
            ErrorCode.ROUND_CLOSED,
            rs.round_unlock,
            actor=world.actors["obec"],
            school=a1,
            round_id=r.pk,
        )
