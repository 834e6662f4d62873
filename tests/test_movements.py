"""Student movements at the service level and through the web pages: transfer in (pull by ID),
transfer out, withdraw (reasons, D3, L7), the 3.1.8 flag (its menu window, L9), grade/room
corrections (D2, D6), round 3's limits (L4, L5, L6), the entry window's end and D8, the
maintained head counts, bulk actions, and the add/transfer-in/action pages in Thai.

Every refusal is checked with its exact error code, that nothing changed and nothing was
audited; every change with the rows after it, its audit events and the head counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dmc.cases.models import Case
from dmc.core.errors import MESSAGES, DmcError, ErrorCode
from dmc.core.ids import format_citizen_id
from dmc.students import movements
from dmc.students import services as student_services
from dmc.students.models import Enrolment, Person
from tests.conftest import YEAR, World, login, make_citizen_id
from tests.movement_helpers import (
    BEFORE_EXAM,
    EXAM_DAY,
    actions_since,
    at,
    confirm_ready,
    events_since,
    fresh,
    heads,
    leave,
    mark,
    refused,
    total,
    transfer,
)

ACTIVE = Enrolment.Status.ACTIVE


def _th(code: ErrorCode) -> str:
    return MESSAGES[code][0]


# --- transfer in: pulling a known person by ID ---------------------------------------------------


def test_lookup_finds_the_person_and_hides_the_other_school(world: World) -> None:
    officer_a1 = world.actors["officer_a1"]
    at_b1 = world.add_student(world.school_b1)
    here = world.add_student(world.school_a1)
    pid = at_b1.person.person_id
    found = movements.transfer_lookup(
        actor=officer_a1, school=world.school_a1, year=YEAR, raw_id=pid
    )
    assert found.person == at_b1.person
    assert found.active_here is None
    assert found.active_elsewhere is True
    assert found.elsewhere_name == "โรงเรียนอื่น"  # b1 is outside officer_a1's scope
    # OBEC sees the whole country: the holding school is named
    assert (
        movements.transfer_lookup(
            actor=world.actors["obec"], school=world.school_a1, year=YEAR, raw_id=pid
        ).elsewhere_name
        == "โรงเรียนบ้านเลย"
    )
    mine = movements.transfer_lookup(
        actor=officer_a1, school=world.school_a1, year=YEAR, raw_id=here.person.person_id
    )
    assert mine.active_here == here and mine.active_elsewhere is False
    unknown = movements.transfer_lookup(
        actor=officer_a1, school=world.school_a1, year=YEAR, raw_id=make_citizen_id(9_999_001)
    )
    assert unknown.person is None and unknown.active_elsewhere is False
    # an ID with a wrong check digit is refused before any lookup
    bad = pid[:-1] + str((int(pid[-1]) + 1) % 10)
    with pytest.raises(DmcError) as exc:
        movements.transfer_lookup(actor=officer_a1, school=world.school_a1, year=YEAR, raw_id=bad)
    assert exc.value.code == ErrorCode.CITIZEN_ID_CHECKSUM
    # another school's officer cannot look up on a1's behalf
    with pytest.raises(DmcError) as exc:
        movements.transfer_lookup(
            actor=world.actors["officer_a2"], school=world.school_a1, year=YEAR, raw_id=pid
        )
    assert exc.value.code == ErrorCode.NOT_IN_SCOPE


def test_transfer_in_of_an_unknown_id_is_not_found(world: World) -> None:
    before = Enrolment.objects.count()
    err = refused(
        ErrorCode.NOT_FOUND,
        transfer,
        world=world,
        school=world.school_a1,
        person_id=make_citizen_id(9_999_002),
    )
    assert err.http_status == 404
    assert Enrolment.objects.count() == before
    assert not Case.objects.exists()


def test_a_person_active_nowhere_is_enrolled_and_the_counts_move(world: World) -> None:
    e_b1 = world.add_student(world.school_b1, grade="06")
    assert (total(world.school_b1), total(world.school_a1)) == (1, 0)
    m = mark()
    leave(world, e_b1)
    assert actions_since(m) == ["enrolment.transfer_out"]
    assert total(world.school_b1) == 0
    assert heads(world.school_b1) == {}

    m = mark()
    enrolment, case = transfer(
        world,
        world.school_a1,
        format_citizen_id(e_b1.person.person_id),  # as people type it, with dashes
        grade="06",
        room=2,
        student_no="60001",
        admitted_on=dt.date(2022, 3, 1),
    )
    assert case is None and enrolment is not None
    assert actions_since(m) == ["enrolment.create", "enrolment.transfer_in"]
    e = fresh(enrolment)
    assert (e.person_id, e.school_id, e.status) == (e_b1.person_id, world.school_a1.pk, ACTIVE)
    assert (e.grade, e.room, e.student_no, e.sat_exam) == ("06", 2, "60001", True)
    assert e.admitted_on == dt.date(2022, 3, 1)
    assert heads(world.school_a1) == {"06": 1}
    assert total(world.school_a1) == 1
    ev = events_since(m, "enrolment.transfer_in")[0]
    assert ev.actor == world.users["officer_a1"] and ev.school_id == world.school_a1.pk
    assert ev.after["student_no"] == "60001"
    assert not Case.objects.exists()
    # the other school's old row stays, as history
    assert fresh(e_b1).status == Enrolment.Status.TRANSFERRED_OUT


def test_transfer_in_with_person_changes_updates_the_person(world: World) -> None:
    e_b1 = world.add_student(world.school_b1)
    leave(world, e_b1)
    m = mark()
    enrolment, _ = transfer(
        world,
        world.school_a1,
        e_b1.person.person_id,
        person_changes={"house_no": "99/1", "person_id": "1" * 13},  # the ID is never changed
    )
    assert actions_since(m) == ["enrolment.create", "enrolment.transfer_in", "person.update"]
    person = Person.objects.get(pk=e_b1.person_id)
    assert person.house_no == "99/1"
    assert person.person_id == e_b1.person.person_id
    assert enrolment is not None and fresh(enrolment).status == ACTIVE


def test_transfer_in_of_a_student_already_here_is_a_conflict(world: World) -> None:
    e = world.add_student(world.school_a1)
    err = refused(
        ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE,
        transfer,
        world=world,
        school=world.school_a1,
        person_id=e.person.person_id,
    )
    assert "โรงเรียนนี้" in err.message_in("th")
    assert not Case.objects.exists()
    assert Enrolment.objects.filter(person=e.person).count() == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("area_a", ErrorCode.ROLE_NOT_ALLOWED),
        ("director_a1", ErrorCode.ROLE_NOT_ALLOWED),
        ("officer_a2", ErrorCode.NOT_IN_SCOPE),
        ("officer_b1", ErrorCode.NOT_IN_SCOPE),
    ],
)
def test_transfer_in_only_by_the_receiving_schools_officer(
    world: World, name: str, code: ErrorCode
) -> None:
    e = world.add_student(world.school_b1)
    leave(world, e)
    refused(
        code,
        transfer,
        world=world,
        school=world.school_a1,
        person_id=e.person.person_id,
        actor=world.actors[name],
    )
    assert not Enrolment.objects.filter(school=world.school_a1).exists()


def test_round3_transfer_in_only_for_an_exam_taker_l5(world: World) -> None:
    e = world.add_student(world.school_b1)
    leave(world, e)
    pid = e.person.person_id
    err = refused(
        ErrorCode.ADD_NOT_EXAM_TAKER,
        transfer,
        world=world,
        school=world.school_a1,
        person_id=pid,
        sat_exam_here=False,
    )
    assert err.http_status == 409
    assert err.fields == {"sat_exam_here": ["add_not_exam_taker"]}
    assert total(world.school_a1) == 0
    enrolment, _ = transfer(world, world.school_a1, pid, sat_exam_here=True)
    assert enrolment is not None and fresh(enrolment).sat_exam is True


def test_round3_no_next_year_applicant_l4(world: World) -> None:
    e = world.add_student(world.school_b1)
    leave(world, e)
    pid = e.person.person_id
    refused(
        ErrorCode.NEXT_YEAR_APPLICANT,
        transfer,
        world=world,
        school=world.school_a1,
        person_id=pid,
        admitted_on=dt.date(2022, 4, 1),  # after the year ends on 31 Mar 2565
    )
    assert total(world.school_a1) == 0
    enrolment, _ = transfer(world, world.school_a1, pid, admitted_on=dt.date(2022, 3, 31))
    assert enrolment is not None and fresh(enrolment).admitted_on == dt.date(2022, 3, 31)


def test_round2_has_no_exam_limit_on_transfer_in(world: World) -> None:
    """L5 belongs to the end-of-year round: in round 2 anyone may be pulled."""
    with at(9, 1, 10, year=2021):
        e = world.add_student(world.school_b1)
        leave(world, e, on=dt.date(2021, 8, 31))
        enrolment, case = transfer(world, world.school_a1, e.person.person_id, sat_exam_here=False)
        assert case is None and enrolment is not None
        assert fresh(enrolment).sat_exam is None  # nothing said about an exam yet
        assert total(world.school_a1) == 1


# --- student_add: L4 and L5 in round 3 ----------------------------------------------------------


def _add(world: World, **kw: Any) -> Enrolment:
    world._seq += 1
    kw.setdefault("sat_exam_here", True)
    return student_services.student_add(
        actor=world.actors["officer_a1"],
        school=world.school_a1,
        academic_year=YEAR,
        person_id=kw.pop("person_id", make_citizen_id(7_000_000 + world._seq)),
        person={
            "title_code": "002",
            "first_name": "มาลี",
            "last_name": "ทดสอบ",
            "sex": "F",
            "birth_date": dt.date(2012, 5, 1),
        },
        grade="05",
        room=1,
        student_no=f"A{world._seq}",
        weight_kg=Decimal("31.0"),
        height_cm=Decimal("137.0"),
        **kw,
    )


def test_add_in_round3_needs_the_exam_and_no_next_year_admission(world: World) -> None:
    pid = make_citizen_id(7_100_001)
    refused(ErrorCode.ADD_NOT_EXAM_TAKER, _add, world=world, person_id=pid, sat_exam_here=False)
    refused(
        ErrorCode.NEXT_YEAR_APPLICANT,
        _add,
        world=world,
        person_id=pid,
        admitted_on=dt.date(2022, 4, 1),
    )
    assert not Person.objects.filter(person_id=pid).exists()
    m = mark()
    e = _add(world, person_id=pid, admitted_on=dt.date(2022, 3, 31))
    assert actions_since(m) == ["person.create", "enrolment.create"]
    e = fresh(e)
    assert (e.status, e.sat_exam, e.admitted_on) == (ACTIVE, True, dt.date(2022, 3, 31))
    assert heads(world.school_a1) == {"05": 1}


# --- transfer out -------------------------------------------------------------------------------


def test_transfer_out_before_the_exam_lowers_the_count(world: World) -> None:
    e = world.add_student(world.school_a1)
    world.add_student(world.school_a1)
    assert heads(world.school_a1) == {"05": 2}
    m = mark()
    out = movements.transfer_out(
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=e.version,
        left_on=BEFORE_EXAM,
        destination="  โรงเรียนวัดใหม่  ",
    )
    assert actions_since(m) == ["enrolment.transfer_out"]
    row = fresh(out)
    assert row.status == Enrolment.Status.TRANSFERRED_OUT
    assert (row.left_on, row.leave_reason, row.leave_note) == (BEFORE_EXAM, "01", "โรงเรียนวัดใหม่")
    assert row.version == e.version + 1
    assert heads(world.school_a1) == {"05": 1}
    ev = events_since(m, "enrolment.transfer_out")[0]
    assert ev.before["status"] == "active" and ev.after["status"] == "transferred_out"
    assert ev.actor == world.users["officer_a1"]


@pytest.mark.parametrize("left_on", [EXAM_DAY, dt.date(2022, 4, 19)])
def test_round3_transfer_out_after_the_exam_is_refused_l6(world: World, left_on: dt.date) -> None:
    e = world.add_student(world.school_a1)
    err = refused(
        ErrorCode.LEFT_AFTER_EXAM,
        movements.transfer_out,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        left_on=left_on,
    )
    assert err.fields == {"left_on": ["left_after_exam"]}
    assert fresh(e).status == ACTIVE and total(world.school_a1) == 1


def test_transfer_out_refusals(world: World) -> None:
    e = world.add_student(world.school_a1)
    kw: dict[str, Any] = {"enrolment_id": e.pk, "version": None, "left_on": BEFORE_EXAM}
    refused(ErrorCode.NOT_FOUND, movements.transfer_out, actor=world.actors["officer_a2"], **kw)
    refused(ErrorCode.NOT_FOUND, movements.transfer_out, actor=world.actors["officer_b1"], **kw)
    refused(
        ErrorCode.ROLE_NOT_ALLOWED, movements.transfer_out, actor=world.actors["director_a1"], **kw
    )
    # the area office moves a student only by deciding a duplicate case
    refused(ErrorCode.ROLE_NOT_ALLOWED, movements.transfer_out, actor=world.actors["area_a"], **kw)
    refused(
        ErrorCode.STALE_VERSION,
        movements.transfer_out,
        actor=world.actors["officer_a1"],
        **{**kw, "version": e.version + 1},
    )
    assert fresh(e).status == ACTIVE
    leave(world, e)
    refused(
        ErrorCode.ALREADY_DECIDED, movements.transfer_out, actor=world.actors["officer_a1"], **kw
    )


# --- withdraw -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["03", "05", "99"])
def test_withdraw_with_a_reason_from_the_list(world: World, reason: str) -> None:
    e = world.add_student(world.school_a1)
    m = mark()
    movements.withdraw(
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=e.version,
        reason=reason,
        left_on=dt.date(2022, 1, 10),
        note="แจ้งโดยผู้ปกครอง",
    )
    assert actions_since(m) == ["enrolment.withdraw"]
    row = fresh(e)
    assert (row.status, row.leave_reason, row.left_on) == (
        Enrolment.Status.WITHDRAWN,
        reason,
        dt.date(2022, 1, 10),
    )
    assert row.leave_note == "แจ้งโดยผู้ปกครอง"
    assert total(world.school_a1) == 0
    assert events_since(m, "enrolment.withdraw")[0].reason == "แจ้งโดยผู้ปกครอง"


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("02", ErrorCode.GRADUATE_NOT_WITHDRAWN),  # D3
        ("04", ErrorCode.DROPOUT_NOT_APPROVED),  # L7: only through an approved case
        ("77", ErrorCode.CODE_UNKNOWN),
        ("", ErrorCode.CODE_UNKNOWN),
    ],
)
def test_withdraw_reasons_that_are_refused(world: World, reason: str, code: ErrorCode) -> None:
    e = world.add_student(world.school_a1)
    refused(
        code,
        movements.withdraw,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        reason=reason,
        left_on=dt.date(2022, 1, 10),
    )
    assert fresh(e).status == ACTIVE and total(world.school_a1) == 1


def test_a_graduate_is_never_withdrawn_d3(world: World) -> None:
    e = world.add_student(world.school_a1)
    Enrolment.objects.filter(pk=e.pk).update(status=Enrolment.Status.GRADUATED)
    refused(
        ErrorCode.GRADUATE_NOT_WITHDRAWN,
        movements.withdraw,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        reason="03",
        left_on=dt.date(2022, 1, 10),
    )
    assert fresh(e).status == Enrolment.Status.GRADUATED


def test_withdraw_after_the_exam_and_by_the_area_are_refused(world: World) -> None:
    e = world.add_student(world.school_a1)
    kw: dict[str, Any] = {"enrolment_id": e.pk, "version": None, "reason": "03"}
    refused(
        ErrorCode.LEFT_AFTER_EXAM,
        movements.withdraw,
        actor=world.actors["officer_a1"],
        left_on=EXAM_DAY,
        **kw,
    )
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        movements.withdraw,
        actor=world.actors["area_a"],
        left_on=BEFORE_EXAM,
        **kw,
    )
    refused(
        ErrorCode.NOT_FOUND,
        movements.withdraw,
        actor=world.actors["officer_b1"],
        left_on=BEFORE_EXAM,
        **kw,
    )
    assert fresh(e).status == ACTIVE


# --- 3.1.8 (L9) ---------------------------------------------------------------------------------


def _track(world: World, e: Enrolment, tracked: bool = True) -> Enrolment:
    return movements.set_tracked(
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        tracked=tracked,
        note="ไม่ได้เข้าสอบ ยังติดตามอยู่",
    )


@pytest.mark.parametrize(
    ("when", "allowed"),
    [
        ((2, 28, 23, 59, 59), False),
        ((3, 1, 0, 0, 0), True),
        ((4, 30, 16, 29, 59), True),
        ((4, 30, 16, 30, 0), False),
    ],
)
def test_318_only_while_its_menu_is_open(
    world: World, when: tuple[int, int, int, int, int], allowed: bool
) -> None:
    e = world.add_student(world.school_a1)
    with at(*when):
        if allowed:
            m = mark()
            _track(world, e)
            assert actions_since(m) == ["enrolment.tracked_318"]
            assert fresh(e).tracked_318 is True
        else:
            err = refused(ErrorCode.WINDOW_CLOSED, _track, world=world, e=e)
            assert err.http_status == 409
            assert fresh(e).tracked_318 is False
    if when[:2] == (2, 28):
        # the refusal before 1 March names the 3.1.8 menu and its dates
        assert "เมนู 3.1.8" in err.message_in("th")
        assert "1 มี.ค. 2565 00:00:00" in err.message_in("th")


def test_a_tracked_student_cannot_leave_until_the_flag_is_cleared_l9(world: World) -> None:
    e = world.add_student(world.school_a1)
    _track(world, e)
    assert _track(world, e).version == fresh(e).version  # flagging twice changes nothing
    for fn, extra in (
        (movements.withdraw, {"reason": "03"}),
        (movements.transfer_out, {}),
    ):
        refused(
            ErrorCode.TRACKED_CANNOT_WITHDRAW,
            fn,
            actor=world.actors["officer_a1"],
            enrolment_id=e.pk,
            version=None,
            left_on=BEFORE_EXAM,
            **extra,
        )
    assert fresh(e).status == ACTIVE
    m = mark()
    _track(world, e, tracked=False)
    assert actions_since(m) == ["enrolment.tracked_318"]
    movements.withdraw(
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        reason="03",
        left_on=BEFORE_EXAM,
    )
    assert fresh(e).status == Enrolment.Status.WITHDRAWN


def test_318_lifts_the_weight_check_from_the_maintained_counts(world: World) -> None:
    """L3 does not apply to a 3.1.8 student: the checklist count moves with the flag."""
    from dmc.rounds.models import SchoolYearStats

    e = world.add_student(world.school_a1)
    Enrolment.objects.filter(pk=e.pk).update(weight_kg=None)
    from dmc.rounds import stats

    stats.rebuild(world.school_a1, YEAR)
    row = SchoolYearStats.objects.get(school=world.school_a1, academic_year=YEAR)
    assert row.checks.get("L3.weight_missing") == 1
    _track(world, e)
    row.refresh_from_db()
    assert "L3.weight_missing" not in row.checks
    assert heads(world.school_a1) == {"05": 1}  # still on the roll
    _track(world, e, tracked=False)
    row.refresh_from_db()
    assert row.checks.get("L3.weight_missing") == 1


# --- grade/room corrections (D2, D6) --------------------------------------------------------------


def _correct(world: World, e: Enrolment, grade: str, room: int, reason: str) -> Enrolment:
    return movements.correct_grade(
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        grade=grade,
        room=room,
        reason=reason,
    )


def test_grade_correction_needs_a_reason_and_a_real_room(world: World) -> None:
    e = world.add_student(world.school_a1, grade="05", room=1)
    refused(
        ErrorCode.GRADE_CHANGE_REASON, _correct, world=world, e=e, grade="06", room=1, reason="  "
    )
    err = refused(
        ErrorCode.ROOM_OUT_OF_RANGE, _correct, world=world, e=e, grade="06", room=3, reason="ผิดห้อง"
    )
    assert err.fields == {"room": ["room_out_of_range"]}
    refused(
        ErrorCode.GRADE_NOT_OFFERED, _correct, world=world, e=e, grade="10", room=1, reason="ผิดชั้น"
    )
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        movements.correct_grade,
        actor=world.actors["area_a"],
        enrolment_id=e.pk,
        version=None,
        grade="06",
        room=1,
        reason="ผิดชั้น",
    )
    assert (fresh(e).grade, fresh(e).room) == ("05", 1)
    # no change, no reason needed, nothing written
    m = mark()
    _correct(world, e, "05", 1, "")
    assert actions_since(m) == []

    m = mark()
    _correct(world, e, "06", 2, "  บันทึกชั้นผิดตอนรับเข้า  ")
    assert actions_since(m) == ["enrolment.correct_grade"]
    row = fresh(e)
    assert (row.grade, row.room, row.version) == ("06", 2, e.version + 1)
    ev = events_since(m, "enrolment.correct_grade")[0]
    assert ev.before == {"grade": "05", "room": 1} and ev.after == {"grade": "06", "room": 2}
    assert ev.reason == "บันทึกชั้นผิดตอนรับเข้า"
    assert heads(world.school_a1) == {"06": 1}


# --- the entry window's end and D8 ----------------------------------------------------------------


def _operations(world: World) -> dict[str, Callable[[], Any]]:
    """One call per movement, each on its own fresh student of a1."""
    officer_a1 = world.actors["officer_a1"]
    out = world.add_student(world.school_a1)
    gone = world.add_student(world.school_b1)
    leave(world, gone)
    wd = world.add_student(world.school_a1)
    tr = world.add_student(world.school_a1)
    cg = world.add_student(world.school_a1)
    return {
        "transfer_in": lambda: transfer(world, world.school_a1, gone.person.person_id),
        "transfer_out": lambda: movements.transfer_out(
            actor=officer_a1, enrolment_id=out.pk, version=None, left_on=BEFORE_EXAM
        ),
        "withdraw": lambda: movements.withdraw(
            actor=officer_a1, enrolment_id=wd.pk, version=None, reason="03", left_on=BEFORE_EXAM
        ),
        "tracked": lambda: movements.set_tracked(
            actor=officer_a1, enrolment_id=tr.pk, version=None, tracked=True
        ),
        "correct_grade": lambda: movements.correct_grade(
            actor=officer_a1, enrolment_id=cg.pk, version=None, grade="06", room=1, reason="ผิด"
        ),
        "add": lambda: _add(world),
    }


OPERATIONS = ["transfer_in", "transfer_out", "withdraw", "tracked", "correct_grade", "add"]


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_movement_stops_at_1630_on_30_april(world: World, name: str) -> None:
    ops = _operations(world)
    a1_before = total(world.school_a1)
    state = list(
        Enrolment.objects.order_by("pk").values_list("pk", "status", "grade", "tracked_318")
    )
    with at(4, 30, 16, 30, 0):
        err = refused(ErrorCode.WINDOW_CLOSED, ops[name])
        assert "30 เม.ย. 2565 16:30:00" in err.message_in("th")
    assert total(world.school_a1) == a1_before
    assert (
        list(Enrolment.objects.order_by("pk").values_list("pk", "status", "grade", "tracked_318"))
        == state
    )
    with at(4, 30, 16, 29, 59):
        m = mark()
        ops[name]()
        assert actions_since(m) != []


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_movement_is_refused_once_the_school_confirmed_d8(world: World, name: str) -> None:
    ops = _operations(world)
    with at(4, 30, 10, 0):
        confirm_ready(world, world.school_a1)
        a1_before = total(world.school_a1)
        refused(ErrorCode.CONFIRMED_READ_ONLY, ops[name])
        assert total(world.school_a1) == a1_before


def test_between_rounds_nothing_moves(world: World) -> None:
    e = world.add_student(world.school_a1)
    with at(11, 12, 12, year=2021):  # round 2 closed on 10 Nov; round 3 opens 15 Nov 2564
        refused(
            ErrorCode.WINDOW_CLOSED,
            movements.transfer_out,
            actor=world.actors["officer_a1"],
            enrolment_id=e.pk,
            version=None,
            left_on=dt.date(2021, 11, 1),
        )


# --- bulk -----------------------------------------------------------------------------------------


def test_withdraw_many_reports_each_refusal_and_does_the_rest(world: World) -> None:
    a, b, c = (world.add_student(world.school_a1) for _ in range(3))
    other = world.add_student(world.school_b1)
    _track(world, b)
    m = mark()
    result = movements.withdraw_many(
        actor=world.actors["officer_a1"],
        ids=[a.pk, b.pk, c.pk, other.pk, a.pk],  # a repeated id is done once
        reason="05",
        left_on=BEFORE_EXAM,
        note="ย้ายตามผู้ปกครองไปต่างประเทศ",
    )
    assert result.done == [a.pk, c.pk]
    assert [(i, code) for i, code, _ in result.refused] == [
        (b.pk, "tracked_cannot_withdraw"),
        (other.pk, "not_found"),
    ]
    assert result.refused[0][2] == _th(ErrorCode.TRACKED_CANNOT_WITHDRAW)
    assert actions_since(m) == ["enrolment.withdraw", "enrolment.withdraw"]
    assert [fresh(x).status for x in (a, b, c, other)] == [
        Enrolment.Status.WITHDRAWN,
        ACTIVE,
        Enrolment.Status.WITHDRAWN,
        ACTIVE,
    ]
    assert total(world.school_a1) == 1
    assert total(world.school_b1) == 1


def test_assign_room_many(world: World) -> None:
    a = world.add_student(world.school_a1, grade="05", room=1)
    b = world.add_student(world.school_a1, grade="07", room=1)
    c = world.add_student(world.school_a1, grade="05", room=2)  # already there: no change
    other = world.add_student(world.school_a2)
    m = mark()
    result = movements.assign_room_many(
        actor=world.actors["officer_a1"], ids=[a.pk, b.pk, c.pk, other.pk], room=2, reason="จัดห้อง"
    )
    assert result.done == [a.pk, b.pk, c.pk]
    assert [(i, code) for i, code, _ in result.refused] == [(other.pk, "not_found")]
    assert actions_since(m) == ["enrolment.correct_grade", "enrolment.correct_grade"]
    assert [(fresh(x).grade, fresh(x).room) for x in (a, b, c)] == [("05", 2), ("07", 2), ("05", 2)]
    # a room the grade does not have: every one refused, nothing changed
    result = movements.assign_room_many(
        actor=world.actors["officer_a1"], ids=[a.pk, b.pk], room=3, reason="จัดห้อง"
    )
    assert result.done == []
    assert {code for _, code, _ in result.refused} == {"room_out_of_range"}
    assert fresh(a).room == 2


# --- web pages ------------------------------------------------------------------------------------


@pytest.fixture
def officer_a1(world: World) -> Client:
    client = Client()
    login(client, world.users["officer_a1"])
    return client


def _act(client: Client, e: Enrolment, **data: str) -> Any:
    return client.post(f"/students/{e.pk}/action/", data)


def test_transfer_out_from_the_student_page(world: World, officer_a1: Client) -> None:
    e = world.add_student(world.school_a1)
    page = officer_a1.get(f"/students/{e.pk}/").content.decode()
    assert 'value="transfer_out"' in page and "ย้ายออก" in page
    response = _act(
        officer_a1,
        e,
        action="transfer_out",
        version=str(e.version),
        left_on="20/02/2565",
        destination="โรงเรียนวัดใหม่",
    )
    assert response.status_code == 302
    assert response["Location"] == f"/students/{e.pk}/#actions"
    row = fresh(e)
    assert (row.status, row.left_on) == (Enrolment.Status.TRANSFERRED_OUT, BEFORE_EXAM)
    html = officer_a1.get(f"/students/{e.pk}/").content.decode()
    assert "บันทึกการย้ายออกแล้ว" in html
    assert "ย้ายออก" in html  # the status


def test_student_page_action_errors_show_in_thai(world: World, officer_a1: Client) -> None:
    e = world.add_student(world.school_a1)
    response = _act(
        officer_a1, e, action="withdraw", version=str(e.version), reason="03", left_on="21/02/2565"
    )
    assert response.status_code == 302
    html = officer_a1.get(response["Location"]).content.decode()
    assert _th(ErrorCode.LEFT_AFTER_EXAM) in html
    assert fresh(e).status == ACTIVE
    # an unreadable date
    response = _act(officer_a1, e, action="withdraw", reason="03", left_on="31/02/2565")
    html = officer_a1.get(response["Location"]).content.decode()
    assert "วันที่ 31/02/2565 อ่านไม่ได้" in html
    # a stale form (the version moved on)
    response = _act(
        officer_a1,
        e,
        action="withdraw",
        version=str(e.version + 5),
        reason="03",
        left_on="01/02/2565",
    )
    html = officer_a1.get(response["Location"]).content.decode()
    assert "alert-error" in html
    assert fresh(e).status == ACTIVE


def test_student_page_withdraw_tracked_and_correct(world: World, officer_a1: Client) -> None:
    e = world.add_student(world.school_a1)
    html = officer_a1.get(
        _act(officer_a1, e, action="tracked", tracked="1", version=str(e.version))["Location"]
    ).content.decode()
    assert "บันทึกสถานะ 3.1.8 แล้ว" in html
    assert fresh(e).tracked_318 is True
    html = officer_a1.get(
        _act(officer_a1, e, action="withdraw", reason="03", left_on="01/02/2565")["Location"]
    ).content.decode()
    assert _th(ErrorCode.TRACKED_CANNOT_WITHDRAW) in html
    _act(officer_a1, e, action="tracked", tracked="0")
    html = officer_a1.get(
        _act(officer_a1, e, action="correct_grade", grade="06", room="2", reason="")["Location"]
    ).content.decode()
    assert _th(ErrorCode.GRADE_CHANGE_REASON) in html
    html = officer_a1.get(
        _act(officer_a1, e, action="correct_grade", grade="06", room="2", reason="ผิดชั้น")["Location"]
    ).content.decode()
    assert "แก้ไขชั้น/ห้องแล้ว" in html
    assert (fresh(e).grade, fresh(e).room) == ("06", 2)
    html = officer_a1.get(
        _act(officer_a1, e, action="withdraw", reason="03", left_on="01/02/2565")["Location"]
    ).content.decode()
    assert "จำหน่ายนักเรียนแล้ว" in html
    assert fresh(e).status == Enrolment.Status.WITHDRAWN


def test_another_school_cannot_post_actions(world: World) -> None:
    e = world.add_student(world.school_a1)
    client = Client()
    login(client, world.users["officer_a2"])
    response = _act(client, e, action="transfer_out", left_on="20/02/2565")
    assert response.status_code == 404
    assert fresh(e).status == ACTIVE


def test_bulk_withdraw_page_reports(world: World, officer_a1: Client) -> None:
    a, b = world.add_student(world.school_a1), world.add_student(world.school_a1)
    _track(world, b)
    smis = world.school_a1.smis_code
    response = officer_a1.post(
        f"/schools/{smis}/students/bulk/",
        {"action": "withdraw", "ids": [a.pk, b.pk], "reason": "03", "left_on": "01/02/2565"},
    )
    assert response.status_code == 302
    html = officer_a1.get(response["Location"]).content.decode()
    assert "ดำเนินการแล้ว 1 คน" in html
    assert _th(ErrorCode.TRACKED_CANNOT_WITHDRAW) in html
    assert (fresh(a).status, fresh(b).status) == (Enrolment.Status.WITHDRAWN, ACTIVE)


def test_add_page(world: World, officer_a1: Client) -> None:
    page = officer_a1.get("/students/add/")
    assert page.status_code == 200
    assert "เพิ่มนักเรียนใหม่" in page.content.decode()
    assert 'name="sat_exam_here"' in page.content.decode()  # round 3 asks about the exam
    pid = make_citizen_id(7_200_001)
    data = {
        "person_id": pid,
        "document_type": "I",
        "title_code": "001",
        "first_name": "ก้องภพ",
        "last_name": "ใจงาม",
        "sex": "M",
        "birth_date": "01/06/2556",
        "grade": "05",
        "room": "1",
        "student_no": "50001",
        "weight_kg": "30",
        "height_cm": "135",
    }
    refused_page = officer_a1.post("/students/add/", data)
    assert refused_page.status_code == 409
    assert _th(ErrorCode.ADD_NOT_EXAM_TAKER) in refused_page.content.decode()
    assert not Person.objects.filter(person_id=pid).exists()
    response = officer_a1.post("/students/add/", {**data, "sat_exam_here": "1"})
    assert response.status_code == 302
    e = Enrolment.objects.get(person__person_id=pid)
    assert response["Location"] == f"/students/{e.pk}/"
    assert (e.school_id, e.grade, e.sat_exam) == (world.school_a1.pk, "05", True)
    # the same ID again: use transfer in
    again = officer_a1.post("/students/add/", {**data, "sat_exam_here": "1", "student_no": "2"})
    assert again.status_code == 409
    assert _th(ErrorCode.PERSON_EXISTS) in again.content.decode()


def test_transfer_in_page(world: World, officer_a1: Client) -> None:
    free = world.add_student(world.school_b1)
    leave(world, free)
    held = world.add_student(world.school_b1)
    unknown = officer_a1.get("/students/transfer-in/", {"id": make_citizen_id(9_999_003)})
    assert "ไม่พบเลขประจำตัวนี้ในระบบ" in unknown.content.decode()

    page = officer_a1.get("/students/transfer-in/", {"id": free.person.person_id}).content.decode()
    assert free.person.first_name in page and "รับย้ายเข้า" in page
    assert "เปิดเรื่องซ้ำซ้อน" not in page
    form = {
        "person_id": free.person.person_id,
        "grade": "05",
        "room": "1",
        "student_no": "55501",
    }
    no_exam = officer_a1.post("/students/transfer-in/", form)
    assert no_exam.status_code == 409
    assert _th(ErrorCode.ADD_NOT_EXAM_TAKER) in no_exam.content.decode()
    response = officer_a1.post("/students/transfer-in/", {**form, "sat_exam_here": "1"})
    assert response.status_code == 302
    e = Enrolment.objects.get(person=free.person, status=ACTIVE)
    assert response["Location"] == f"/students/{e.pk}/"
    assert e.school_id == world.school_a1.pk

    page = officer_a1.get("/students/transfer-in/", {"id": held.person.person_id}).content.decode()
    assert "ขอรับย้ายเข้า (เปิดเรื่องซ้ำซ้อน)" in page
    assert "โรงเรียนอื่น" in page and "โรงเรียนบ้านเลย" not in page
    response = officer_a1.post(
        "/students/transfer-in/",
        {**form, "person_id": held.person.person_id, "student_no": "55502", "sat_exam_here": "1"},
    )
    case = Case.objects.get(kind=Case.Kind.DUPLICATE)
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert (case.school_id, case.other_school_id) == (world.school_a1.pk, world.school_b1.pk)
    assert Enrolment.objects.filter(person=held.person, status=ACTIVE).get().school_id == (
        world.school_b1.pk
    )
