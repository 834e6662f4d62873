"""The seed letter's end-of-year round of 2564, scripted end to end at the service level.

The server clock walks through the calendar of ``setup_calendar(2564)``: entry opens at the start
of round 3 (15 Nov 2564 08:00), the end-of-year menus open on 1 Mar 2565, the confirm button works
on 30 Apr 2565 from 08:00 and the round stops taking changes at 16:30:00 the same day; the area
office acknowledges and OBEC closes afterwards. Two schools of one area take part: บ้านหนึ่ง goes
all the way (confirm, certify, acknowledge, close), บ้านสอง fixes its data at the last minute and
presses confirm at 16:30:00, too late.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.models import AuditEvent
from dmc.rounds import selectors as round_selectors
from dmc.rounds import services as rounds
from dmc.rounds.models import MenuWindow, Round, SchoolRound, Snapshot, SnapshotRow
from dmc.rounds.rules import RoundState, inside
from dmc.schools.models import School, SchoolGrade
from dmc.schools.services import school_grades_update
from dmc.students import services as students
from dmc.students.models import Enrolment, Person
from dmc.students.rules import age_on
from dmc.yearend import services as yearend
from dmc.yearend.services import Entry
from tests.conftest import YEAR, World, make_citizen_id

# Round 3 of 2564 as in the seed letter (Bangkok wall-clock time, CE years)
ENTRY_OPENS = bangkok(2021, 11, 15, 8, 0)  # 15 พ.ย. 2564 08:00
MENUS_OPEN = bangkok(2022, 3, 1, 0, 0)  # 1 มี.ค. 2565
CONFIRM_OPENS = bangkok(2022, 4, 30, 8, 0)  # 30 เม.ย. 2565 08:00
CONFIRM_CLOSES = bangkok(2022, 4, 30, 16, 30)  # 30 เม.ย. 2565 16:30
COUNT_AGE_DAY = dt.date(2021, 5, 16)  # D4: ages are taken at 16 May 2564
YEAR_END_MENUS = ("3.1.8", "3.2.2", "3.2.2.1", "3.2.2.2")


class Roster:
    """Adds students through the service as a school officer, with distinct IDs and numbers."""

    def __init__(self) -> None:
        self.seq = 0

    def add(
        self,
        actor: Actor,
        school: School,
        *,
        grade: str,
        sex: str = "M",
        birth: dt.date = dt.date(2013, 6, 1),
        weight: Decimal | None = Decimal("30.5"),
        height: Decimal | None = Decimal("135.0"),
        name: str = "",
    ) -> Enrolment:
        self.seq += 1
        return students.student_add(
            sat_exam_here=True,  # round 3: only exam takers are added (L5)
            actor=actor,
            school=school,
            academic_year=YEAR,
            person_id=make_citizen_id(7_100_000 + self.seq),
            person={
                "title_code": "001" if sex == "M" else "002",  # เด็กชาย / เด็กหญิง
                "first_name": name or f"นักเรียน{self.seq}",
                "last_name": "สิ้นปี",
                "sex": sex,
                "birth_date": birth,
            },
            grade=grade,
            room=1,
            student_no=str(20_000 + self.seq),
            weight_kg=weight,
            height_cm=height,
        )


def _rooms(school: School) -> dict[str, int]:
    return dict(
        SchoolGrade.objects.filter(school=school, academic_year=YEAR).values_list("grade", "rooms")
    )


def _update(actor: Actor, enrolment: Enrolment, **changes: Any) -> Enrolment:
    e = Enrolment.objects.get(pk=enrolment.pk)
    return students.student_update(
        actor=actor,
        enrolment_id=e.pk,
        person_version=Person.objects.get(pk=e.person_id).version,
        enrolment_version=e.version,
        changes=changes,
    )


def _refused(code: ErrorCode, call: Any) -> DmcError:
    with pytest.raises(DmcError) as exc:
        call()
    assert exc.value.code == code, exc.value.message_in("en")
    return exc.value


def test_end_of_year_round_2564(world: World) -> None:
    a1, a2 = world.school_a1, world.school_a2
    officer1, officer2 = world.actors["officer_a1"], world.actors["officer_a2"]
    director1, area = world.actors["director_a1"], world.actors["area_a"]
    obec = world.actors["obec"]
    r3 = Round.objects.select_related("academic_year").get(academic_year__year=YEAR, number=3)
    assert (r3.entry_opens_at, r3.confirm_opens_at, r3.confirm_closes_at) == (
        ENTRY_OPENS,
        CONFIRM_OPENS,
        CONFIRM_CLOSES,
    )
    roster = Roster()

    # --- entry: not a second before round 3 opens; the refusal names the entry window --------
    with clock.frozen(ENTRY_OPENS - dt.timedelta(seconds=1)):
        early = _refused(ErrorCode.WINDOW_CLOSED, lambda: roster.add(officer1, a1, grade="05"))
        assert "15 พ.ย. 2564 08:00:00" in early.message_in("th")
        assert "30 เม.ย. 2565 16:30:00" in early.message_in("th")
    assert not Enrolment.objects.exists()

    with clock.frozen(ENTRY_OPENS):
        assert round_selectors.state_of(r3, clock.now()) == RoundState.OPEN
        # บ้านหนึ่ง opens a kindergarten room (อ.1) for this year, then enters its students
        school_grades_update(
            actor=officer1, school=a1, academic_year=YEAR, rooms={**_rooms(a1), "01": 1}
        )
        boys = [roster.add(officer1, a1, grade="05") for _ in range(2)]
        no_weight = roster.add(officer1, a1, grade="05", weight=None, name="ต้นกล้า")
        girls = [roster.add(officer1, a1, grade="05", sex="F") for _ in range(2)]
        girls.append(roster.add(officer1, a1, grade="06", sex="F", birth=dt.date(2012, 7, 1)))
        # 3 years old at 16 May 2564 (4 by the as-of date): listed, flagged, not counted (D4)
        tiny = roster.add(
            officer1,
            a1,
            grade="01",
            birth=dt.date(2017, 6, 1),
            weight=Decimal("16.0"),
            height=Decimal("100.0"),
            name="น้องเล็ก",
        )
        # บ้านสอง: two pupils in ป.1, one measured without a height
        a2_students = [
            roster.add(officer2, a2, grade="04", birth=dt.date(2014, 6, 1), height=Decimal("120.0"))
        ]
        no_height = roster.add(officer2, a2, grade="04", birth=dt.date(2014, 6, 1), height=None)
        a2_students.append(no_height)
    assert age_on(tiny.person.birth_date, COUNT_AGE_DAY) == 3
    assert Enrolment.objects.get(pk=tiny.pk).counted is False
    a1_students = [*boys, no_weight, *girls, tiny]

    # --- the end-of-year menus (3.2.2 -> 3.2.2.1 -> 3.2.2.2, and 3.1.8) open on 1 March ------
    menus = {m.menu: m for m in MenuWindow.objects.filter(round=r3)}
    assert sorted(menus) == sorted(YEAR_END_MENUS)
    for menu in YEAR_END_MENUS:
        assert clock.local(menus[menu].opens_at) == MENUS_OPEN
        assert menus[menu].closes_at == CONFIRM_CLOSES
        assert not inside(menus[menu].opens_at, menus[menu].closes_at, MENUS_OPEN - dt.timedelta(1))
        assert inside(menus[menu].opens_at, menus[menu].closes_at, MENUS_OPEN)

    # --- before 1 March the year-end menus refuse; from then on, in order (L8) ----------------
    def step(officer: Actor, school: School, menu: str, entries: list[Entry]) -> None:
        yearend.record_step(actor=officer, school=school, year=YEAR, menu=menu, entries=entries)

    everyone = [e.pk for e in a1_students]
    with clock.frozen(MENUS_OPEN - dt.timedelta(seconds=1)):
        _refused(
            ErrorCode.WINDOW_CLOSED,
            lambda: step(officer1, a1, "3.2.2", [Entry(everyone[0], "pass", 1)]),
        )
    with clock.frozen(bangkok(2022, 4, 20, 9, 0)):
        progress = round_selectors.school_progress(a1, r3)
        assert {it.key: it.count for it in progress.items}["L8.result_pending"] == 7
        step(officer1, a1, "3.2.2", [Entry(pk, "pass", 1) for pk in everyone[:-2]])
        # 3.2.2.1 refuses while 3.2.2 still has students pending
        _refused(
            ErrorCode.YEAR_END_ORDER,
            lambda: step(officer1, a1, "3.2.2.1", [Entry(everyone[-1], failed_evaluations="1")]),
        )
        step(officer1, a1, "3.2.2", [Entry(everyone[-2], "fail", 2), Entry(everyone[-1], "ได้", 1)])
        step(officer1, a1, "3.2.2.1", [Entry(everyone[-2], failed_evaluations=["1", "3"])])
        step(officer2, a2, "3.2.2", [Entry(e.pk, "pass", 1) for e in a2_students])
        assert Enrolment.objects.get(pk=everyone[-2]).failed_evaluations == "1,3"

    # --- the day before: the checklist shows what blocks, and the school fixes it -------------
    with clock.frozen(bangkok(2022, 4, 29, 15, 0)):
        progress = round_selectors.school_progress(a1, r3)
        assert progress.state == "has_errors"
        assert progress.students == 7 and progress.counted == 6
        items = {it.key: it.count for it in progress.items}
        assert items == {"L3.weight_missing": 1, "D4.age": 1}  # D4 is a warning: never blocks
        # grades with 2 rooms but no students (D6)
        assert [g for g, _, _ in progress.rooms] == ["04", "07", "08", "09"]
        assert rounds.blocking_items(a1, YEAR) == (1, progress.rooms)

        _update(officer1, no_weight, weight_kg=Decimal("29.0"))
        blocking, rooms = rounds.blocking_items(a1, YEAR)
        assert blocking == 0 and len(rooms) == 4
        school_grades_update(
            actor=officer1,
            school=a1,
            academic_year=YEAR,
            rooms={"01": 1, "04": 0, "05": 1, "06": 1, "07": 0, "08": 0, "09": 0},
        )
        assert rounds.blocking_items(a1, YEAR) == (0, [])
        assert round_selectors.school_progress(a1, r3).state == "ready"

    # --- a second before 08:00 the confirm button is refused, naming the window --------------
    with clock.frozen(CONFIRM_OPENS - dt.timedelta(seconds=1)):
        early = _refused(
            ErrorCode.CONFIRM_WINDOW_CLOSED,
            lambda: rounds.round_confirm(actor=officer1, school=a1, round_id=r3.pk),
        )
        assert "30 เม.ย. 2565 08:00:00" in early.message_in("th")
        assert "30 เม.ย. 2565 16:30:00" in early.message_in("th")
        assert "30 เม.ย. 2565 07:59:59" in early.message_in("th")  # and what time it is now
    assert not SchoolRound.objects.filter(confirmed_at__isnull=False).exists()

    # --- 30 April 08:00:00: the officer confirms (a snapshot is sealed) -----------------------
    with clock.frozen(CONFIRM_OPENS):
        assert round_selectors.state_of(r3, clock.now()) == RoundState.CONFIRM_WINDOW
        sr = rounds.round_confirm(actor=officer1, school=a1, round_id=r3.pk)
        assert sr.confirmed_at == CONFIRM_OPENS and sr.confirmed_by == world.users["officer_a1"]
        assert sr.snapshot is not None
        # บ้านสอง still has a pupil without a height and rooms in empty grades
        blocked = _refused(
            ErrorCode.CHECKLIST_BLOCKING,
            lambda: rounds.round_confirm(actor=officer2, school=a2, round_id=r3.pk),
        )
        assert blocked.http_status == 409

    # D8: a confirmed school's data is read-only
    with clock.frozen(bangkok(2022, 4, 30, 8, 30)):
        _refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            lambda: _update(officer1, boys[0], weight_kg=Decimal("31.0")),
        )
        _refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            lambda: school_grades_update(
                actor=officer1, school=a1, academic_year=YEAR, rooms={**_rooms(a1), "07": 1}
            ),
        )

    # --- 09:00: the director certifies ---------------------------------------------------------
    certified_at = bangkok(2022, 4, 30, 9, 0)
    with clock.frozen(certified_at):
        sr = rounds.round_certify(actor=director1, school=a1, round_id=r3.pk)
        assert sr.certified_at == certified_at and sr.certified_by == world.users["director_a1"]

    # --- บ้านสอง fixes its data at 16:29, but presses confirm at 16:30:00: too late -----------
    with clock.frozen(CONFIRM_CLOSES - dt.timedelta(minutes=1)):
        _update(officer2, no_height, height_cm=Decimal("121.0"))
        school_grades_update(
            actor=officer2, school=a2, academic_year=YEAR, rooms={"04": 1, "05": 0, "06": 0}
        )
        assert rounds.blocking_items(a2, YEAR) == (0, [])
    with clock.frozen(CONFIRM_CLOSES - dt.timedelta(seconds=1)):
        _refused(
            ErrorCode.ROUND_NOT_CLOSABLE, lambda: rounds.round_close(actor=obec, round_id=r3.pk)
        )
    with clock.frozen(CONFIRM_CLOSES):
        assert round_selectors.state_of(r3, clock.now()) == RoundState.AREA_ACK
        late = _refused(
            ErrorCode.CONFIRM_WINDOW_CLOSED,
            lambda: rounds.round_confirm(actor=officer2, school=a2, round_id=r3.pk),
        )
        assert "30 เม.ย. 2565 16:30:00" in late.message_in("th")
        assert "30 เม.ย. 2565 08:00:00" in late.message_in("th")
        # and the round stops taking changes: edits and adds are refused, naming the entry window
        for call in (
            lambda: _update(officer2, no_height, height_cm=Decimal("122.0")),
            lambda: roster.add(officer2, a2, grade="04", birth=dt.date(2014, 6, 1)),
        ):
            refused = _refused(ErrorCode.WINDOW_CLOSED, call)
            assert "30 เม.ย. 2565 16:30:00" in refused.message_in("th")
    assert not SchoolRound.objects.filter(school=a2, confirmed_at__isnull=False).exists()
    assert Enrolment.objects.get(pk=no_height.pk).height_cm == Decimal("121.0")

    # --- 1 May: the area office acknowledges ---------------------------------------------------
    acknowledged_at = bangkok(2022, 5, 1, 9, 0)
    with clock.frozen(acknowledged_at):
        _refused(
            ErrorCode.NOT_CERTIFIED,
            lambda: rounds.round_acknowledge(actor=area, school=a2, round_id=r3.pk),
        )
        sr = rounds.round_acknowledge(actor=area, school=a1, round_id=r3.pk)
        assert sr.acknowledged_at == acknowledged_at and sr.acknowledged_by == world.users["area_a"]

    # --- 2 May: OBEC closes the round -----------------------------------------------------------
    closed_at = bangkok(2022, 5, 2, 10, 0)
    with clock.frozen(closed_at):
        close = rounds.round_close(actor=obec, round_id=r3.pk)
        r3.refresh_from_db()
        assert r3.closed_at == closed_at
        assert round_selectors.state_of(r3, clock.now()) == RoundState.CLOSED
        _refused(ErrorCode.ROUND_CLOSED, lambda: rounds.round_close(actor=obec, round_id=r3.pk))
        _refused(
            ErrorCode.ROUND_CLOSED,
            lambda: rounds.round_acknowledge(actor=area, school=a1, round_id=r3.pk),
        )

    # --- the sealed data ----------------------------------------------------------------------
    sr = SchoolRound.objects.select_related("snapshot").get(school=a1, round=r3)
    confirm = sr.snapshot
    assert confirm is not None and confirm.kind == Snapshot.Kind.CONFIRM
    assert confirm.school == a1 and confirm.taken_at == CONFIRM_OPENS
    assert confirm.cancelled_at is None

    # the hashes are reproducible, also from what is stored in the database
    assert close.kind == Snapshot.Kind.CLOSE
    assert close.sha256 == rounds.snapshot_recompute(close)
    assert rounds.snapshot_recompute(Snapshot.objects.get(pk=close.pk)) == close.sha256
    assert rounds.snapshot_recompute(Snapshot.objects.get(pk=confirm.pk)) == confirm.sha256
    # only the confirmed school is in the official data
    assert close.totals["schools"] == [
        [a1.smis_code, confirm.sha256, confirm.rows, confirm.counted_rows, True]
    ]

    # the confirmed totals by grade and sex are a direct count of the school's active students
    active = Enrolment.objects.filter(
        school=a1, academic_year=YEAR, status=Enrolment.Status.ACTIVE
    ).select_related("person")
    direct = Counter((e.grade, e.person.sex) for e in active)
    direct_counted = Counter(
        (e.grade, e.person.sex)
        for e in active
        if 4 <= age_on(e.person.birth_date, COUNT_AGE_DAY) <= 20
    )
    sealed = Counter({(g, s): c[s] for g, c in confirm.totals.items() for s in "MF" if c[s]})
    sealed_counted = Counter(
        {(g, s): c["c" + s] for g, c in confirm.totals.items() for s in "MF" if c["c" + s]}
    )
    assert direct == Counter({("05", "M"): 3, ("05", "F"): 2, ("06", "F"): 1, ("01", "M"): 1})
    assert sealed == direct
    assert sealed_counted == direct_counted
    assert {g: c["rooms"] for g, c in confirm.totals.items()} == {"01": 1, "05": 1, "06": 1}
    assert close.totals["grades"] == confirm.totals

    # D4: the official total leaves out the child under 4, who stays in the rows, flagged
    assert confirm.rows == len(a1_students) == 7
    assert confirm.counted_rows == 6 == sum(direct_counted.values())
    assert (close.rows, close.counted_rows) == (7, 6)
    rows = {row.enrolment_id: row for row in SnapshotRow.objects.filter(snapshot=confirm)}
    assert set(rows) == {e.pk for e in a1_students}
    assert rows[tiny.pk].counted is False and rows[tiny.pk].grade == "01"
    assert all(row.counted for pk, row in rows.items() if pk != tiny.pk)
    assert rows[no_weight.pk].counted  # fixed before confirming, counted

    # the audit trail tells the story in order: who, in which role, when
    trail = list(
        AuditEvent.objects.filter(
            action__in=["round.confirm", "round.certify", "round.acknowledge", "round.close"]
        )
        .order_by("id")
        .values_list("action", "actor__username", "actor_role", "at", "school_id")
    )
    assert trail == [
        ("round.confirm", "officer_a1", "school_officer", CONFIRM_OPENS, a1.pk),
        ("round.certify", "director_a1", "school_director", certified_at, a1.pk),
        ("round.acknowledge", "area_a", "area_officer", acknowledged_at, a1.pk),
        ("round.close", "obec", "obec_admin", closed_at, None),
    ]
    close_event = AuditEvent.objects.get(action="round.close")
    assert close_event.after["snapshot"] == close.sha256
    assert close_event.after["confirmed_schools"] == 1
