"""The demo loader (dmc.demo.loader) and ``dmc demo``: a small slice of the synthetic nation,
academic year 2564 with its three rounds, accounts for every role, one audit event per school."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django.fixtures import Settings

from dmc.accounts.models import Role, RoleAssignment, User
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.ids import is_valid_citizen_id, normalize_gcode
from dmc.core.models import AuditEvent
from dmc.demo import loader, synth
from dmc.rounds.models import AcademicYear, Round
from dmc.rounds.rules import RoundState
from dmc.rounds.selectors import current_round, state_of
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.students.models import Enrolment, Person
from dmc.students.rules import age_on, check_title

pytestmark = pytest.mark.django_db

SCHOOLS, STUDENTS, AREAS = 6, 600, 3
YEAR = loader.DEMO_YEAR


def _plan() -> tuple[list[synth.SynthArea], list[synth.SynthSchool]]:
    return synth.plan(SCHOOLS, STUDENTS, loader.DEMO_SEED, areas=AREAS)


@pytest.fixture
def demo() -> tuple[int, list[loader.DemoAccount]]:
    assert not loader.demo_loaded()
    return loader.load_demo(schools=SCHOOLS, students=STUDENTS, areas=AREAS, set_clock=False)


def _counts() -> dict[str, int]:
    models = (AreaOffice, School, SchoolGrade, Person, Enrolment, AcademicYear, Round, User)
    counts = {m.__name__: m.objects.count() for m in models}
    counts["RoleAssignment"] = RoleAssignment.objects.count()
    counts["AuditEvent"] = AuditEvent.objects.count()
    return counts


# --- the data ----------------------------------------------------------------------------------


def test_loads_exactly_the_students_asked_for(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    total, _ = demo
    assert total == STUDENTS
    assert Enrolment.objects.count() == STUDENTS
    assert Enrolment.objects.filter(academic_year=YEAR, status="active").count() == STUDENTS
    assert Person.objects.count() == STUDENTS
    assert loader.demo_loaded()


def test_areas_and_schools_follow_the_plan(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    plan_areas, plan_schools = _plan()
    assert AreaOffice.objects.count() == AREAS
    assert sorted(AreaOffice.objects.values_list("code", "kind")) == sorted(
        (a.code, a.kind) for a in plan_areas
    )
    assert School.objects.count() == SCHOOLS
    for s in plan_schools:
        school = School.objects.select_related("area").get(smis_code=s.smis_code)
        assert (school.moe_code, school.obec_code) == (s.moe_code, s.obec_code)
        assert school.name == f"โรงเรียน{s.name}"
        assert school.area.code == s.area_code
        assert school.province_code == s.province_code
        rooms = dict(
            SchoolGrade.objects.filter(school=school, academic_year=YEAR).values_list(
                "grade", "rooms"
            )
        )
        assert rooms == s.rooms
        per_grade = Counter(Enrolment.objects.filter(school=school).values_list("grade", flat=True))
        assert dict(per_grade) == {g: n for g, n in s.grades.items() if n}
        # D6: a grade with students has at least one room, and every room used exists
        for e in Enrolment.objects.filter(school=school).only("grade", "room"):
            assert 1 <= e.room <= rooms[e.grade]
        assert all(r >= 1 for r in rooms.values())


def test_people_are_the_synthetic_students(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    _, plan_schools = _plan()
    expected = {
        st.person_id: (school.smis_code, st)
        for school, st in synth.iter_all(plan_schools, seed=loader.DEMO_SEED, year=YEAR)
    }
    assert set(Person.objects.values_list("person_id", flat=True)) == set(expected)
    ref = synth.reference_date(YEAR)
    for p in Person.objects.all():
        smis, st = expected[p.person_id]
        assert (p.first_name, p.last_name, p.sex, p.birth_date, p.title_code) == (
            st.first_name,
            st.last_name,
            st.sex,
            st.birth_date,
            st.title_code,
        )
        if p.id_kind == "gcode":
            assert normalize_gcode(p.person_id) == p.person_id
        else:
            assert p.id_kind == "citizen" and is_valid_citizen_id(p.person_id)
        check_title(p.title_code, p.sex, age_on(p.birth_date, ref))  # D5 holds for loaded people
    for e in Enrolment.objects.select_related("person", "school"):
        smis, st = expected[e.person.person_id]
        assert e.school.smis_code == smis
        assert (e.grade, e.room, e.student_no) == (st.grade, st.room, st.student_no)
        assert e.admitted_on == dt.date(2021, 5, 16)
        if st.weight_kg is None:
            assert e.weight_kg is None and e.height_cm is None
        else:
            assert (e.weight_kg, e.height_cm) == (
                Decimal(str(st.weight_kg)),
                Decimal(str(st.height_cm)),
            )


def test_d1_one_active_enrolment_per_person(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    doubles = (
        Enrolment.objects.filter(status="active")
        .values("person_id", "academic_year")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(doubles) == []
    assert Enrolment.objects.values("person_id").distinct().count() == STUDENTS


def test_one_audit_event_per_school(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    events = AuditEvent.objects.filter(action="demo.load_school")
    assert events.count() == SCHOOLS
    _, plan_schools = _plan()
    expected = {s.smis_code: s.students for s in plan_schools}
    for event in events:
        school = School.objects.get(pk=int(event.target_id))
        assert event.target_type == "schools.school"
        assert event.actor_id is None and event.actor_role == "system"
        assert (event.school_id, event.area_id) == (school.pk, school.area_id)
        assert event.after == {"students": expected[school.smis_code], "academic_year": YEAR}
    assert sorted(int(e.target_id) for e in events) == sorted(
        School.objects.values_list("pk", flat=True)
    )


# --- the calendar ------------------------------------------------------------------------------


def test_year_2564_with_its_three_rounds(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    ay = AcademicYear.objects.get(year=YEAR)
    assert (ay.starts_on, ay.ends_on) == (dt.date(2021, 5, 16), dt.date(2022, 3, 31))
    rounds = list(Round.objects.filter(academic_year=ay).order_by("number"))
    assert [r.number for r in rounds] == [1, 2, 3]
    r1, r2, r3 = rounds
    assert r1.as_of_date == dt.date(2021, 6, 10) and r1.closed_at == bangkok(2021, 6, 12)
    assert r2.as_of_date == dt.date(2021, 11, 10) and r2.closed_at == bangkok(2021, 11, 12)
    # round 3 as in the seed letter
    assert r3.as_of_date == dt.date(2022, 3, 31)
    assert r3.entry_opens_at == bangkok(2021, 11, 15, 8, 0)
    assert r3.entry_closes_at == bangkok(2022, 4, 30, 16, 30)
    assert r3.id_correction_deadline == bangkok(2022, 4, 30, 16, 30)
    assert r3.confirm_opens_at == bangkok(2022, 4, 30, 8, 0)
    assert r3.confirm_closes_at == bangkok(2022, 4, 30, 16, 30)
    assert r3.self_cancel_deadline == bangkok(2022, 4, 30, 16, 30)
    assert r3.area_ack_closes_at == bangkok(2022, 5, 1, 23, 59)
    assert r3.closed_at is None and r3.published_at is None
    menus = {m.menu: (m.opens_at, m.closes_at) for m in r3.menus.all()}
    year_end = (bangkok(2022, 3, 1, 0, 0), bangkok(2022, 4, 30, 16, 30))
    assert menus == {"3.1.8": year_end, "3.2.2": year_end, "3.2.2.1": year_end, "3.2.2.2": year_end}
    assert not r1.menus.exists() and not r2.menus.exists()


def test_demo_clock_stands_in_round_3_entry(
    demo: tuple[int, list[loader.DemoAccount]], frozen_clock: dt.datetime
) -> None:
    assert frozen_clock == loader.DEMO_CLOCK == bangkok(2022, 4, 20, 10, 0)
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    assert state_of(r3, loader.DEMO_CLOCK) == RoundState.OPEN
    assert current_round(YEAR, loader.DEMO_CLOCK) == r3
    assert state_of(r3, bangkok(2022, 4, 30, 8, 0)) == RoundState.CONFIRM_WINDOW


def test_setup_calendar_is_idempotent(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    before = Round.objects.count()
    assert loader.setup_calendar(YEAR) == AcademicYear.objects.get(year=YEAR)
    assert Round.objects.count() == before == 3


def test_set_clock_moves_the_server_clock_on_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            loader.load_demo(schools=2, students=40, areas=2)
        # the clock is set once, after the commit (other on-commit work, e.g. the report
        # roll-up's compaction, may be queued too)
        assert len([c for c in callbacks if "load_demo" in c.__qualname__]) == 1
        clock.invalidate_cache()
        drift = abs((clock.now() - loader.DEMO_CLOCK).total_seconds())
        assert drift < 60
    finally:
        clock.invalidate_cache()


# --- the accounts ------------------------------------------------------------------------------


def test_accounts_for_every_role(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    _, account_list = demo
    schools = [f"school{i}" for i in range(1, SCHOOLS + 1)]
    directors = [f"director{i}" for i in range(1, SCHOOLS + 1)]
    areas = [f"area{i}" for i in range(1, AREAS + 1)]
    assert set(User.objects.values_list("username", flat=True)) == {
        "obec.admin",
        *areas,
        *schools,
        *directors,
        "multi.role",
        "pending.teacher",
    }
    approved = RoleAssignment.objects.filter(status=RoleAssignment.Status.APPROVED)

    def roles(username: str) -> list[tuple[str, str | None, str | None]]:
        return sorted(
            (a.role, a.school.smis_code if a.school else None, a.area.code if a.area else None)
            for a in approved.filter(user__username=username).select_related("school", "area")
        )

    assert roles("obec.admin") == [(Role.OBEC_ADMIN, None, None)]
    area_codes = sorted(AreaOffice.objects.values_list("code", flat=True))
    assert [roles(a) for a in areas] == [[(Role.AREA_OFFICER, None, c)] for c in area_codes]
    school_codes = [s.smis_code for s in _plan()[1]]  # in plan order
    assert [roles(u) for u in schools] == [[(Role.SCHOOL_OFFICER, c, None)] for c in school_codes]
    assert [roles(u) for u in directors] == [
        [(Role.SCHOOL_DIRECTOR, c, None)] for c in school_codes
    ]
    multi = roles("multi.role")
    assert len(multi) == 2
    assert {r for r, _, _ in multi} == {Role.SCHOOL_OFFICER}
    assert len({s for _, s, _ in multi}) == 2
    pending = RoleAssignment.objects.get(user__username="pending.teacher")
    assert pending.status == RoleAssignment.Status.PENDING
    assert pending.role == Role.SCHOOL_OFFICER and pending.school is not None
    # one entry per approved assignment, multi.role's two joined; accounts() reads back the same
    assert len(account_list) == approved.count() - 1
    multi_entry = next(a for a in account_list if a.username == "multi.role")
    assert multi_entry.scope.count(" + ") == 1
    assert loader.accounts() == account_list


def test_demo_users_log_in_with_the_demo_password(
    demo: tuple[int, list[loader.DemoAccount]],
) -> None:
    for username in User.objects.values_list("username", flat=True):
        user = authenticate(username=username, password=loader.DEMO_PASSWORD)
        assert user is not None, username
        assert user.username == username
        assert authenticate(username=username, password=loader.DEMO_PASSWORD + "x") is None


def test_pending_teacher_sees_awaiting_approval(
    client: Client,
    demo: tuple[int, list[loader.DemoAccount]],
    frozen_clock: dt.datetime,
) -> None:
    response = client.post(
        "/login/", {"username": "pending.teacher", "password": loader.DEMO_PASSWORD}
    )
    assert response.status_code == 401
    message = DmcError(
        ErrorCode.ACCOUNT_NOT_APPROVED,
        approver_th="สำนักงานเขตพื้นที่การศึกษาของโรงเรียน",
        approver_en="the school's area office",
    ).message
    assert str(message) in response.content.decode("utf-8")
    ok = client.post("/login/", {"username": "school1", "password": loader.DEMO_PASSWORD})
    assert ok.status_code == 302


# --- the command and the production guard ------------------------------------------------------


def test_demo_command_is_idempotent_and_prints_the_accounts() -> None:
    first = io.StringIO()
    call_command("demo", "--schools", "4", "--students", "300", stdout=first)
    text = first.getvalue()
    assert "Loaded 300 students." in text
    assert f"password for all: {loader.DEMO_PASSWORD}" in text
    for username in ("obec.admin", "area1", "school1", "director1", "multi.role"):
        assert f"  {username} " in text, username
    after_first = _counts()
    assert after_first["Enrolment"] == 300 and after_first["School"] == 4

    second = io.StringIO()
    call_command("demo", "--schools", "4", "--students", "300", stdout=second)
    again = second.getvalue()
    assert "already loaded" in again
    assert "Loaded" not in again
    assert _counts() == after_first
    accounts_of = [line for line in text.splitlines() if line.startswith("  ")]
    assert [line for line in again.splitlines() if line.startswith("  ")] == accounts_of


def test_locked_clock_refuses_and_loads_nothing(settings: Settings) -> None:
    settings.DMC_CLOCK_SETTABLE = False
    before = _counts()
    with pytest.raises(DmcError) as exc:
        loader.load_demo(schools=SCHOOLS, students=STUDENTS, areas=AREAS, set_clock=False)
    assert exc.value.code == ErrorCode.CLOCK_LOCKED
    assert exc.value.http_status == 403
    assert _counts() == before
    assert before["Enrolment"] == 0 and before["AcademicYear"] == 0
    assert not loader.demo_loaded()
    with pytest.raises(CommandError):
        call_command("demo", "--schools", "2", "--students", "40", stdout=io.StringIO())
    assert _counts() == before


@pytest.mark.django_db(transaction=True)
def test_demo_reset_reloads_despite_the_append_only_audit(settings: object) -> None:
    """`dmc demo --reset` empties the database (the only place the audit triggers are lifted)
    and reloads; afterwards the audit log is append-only again."""
    from django.db import DatabaseError, transaction

    call_command("demo", schools=3, students=60, stdout=io.StringIO())
    call_command("demo", "--reset", schools=3, students=60, stdout=io.StringIO())
    assert Enrolment.objects.count() == 60
    assert AuditEvent.objects.filter(action="demo.load_school").count() == 3
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_sample_cases_wait_in_the_queues(demo: tuple[int, list[loader.DemoAccount]]) -> None:
    from dmc.accounts.actor import Actor
    from dmc.cases.models import Case
    from dmc.cases.services import awaiting

    kinds = sorted(Case.objects.values_list("kind", flat=True))
    assert kinds == ["dropout", "duplicate", "id_correction"]
    duplicate = Case.objects.get(kind="duplicate")
    assert duplicate.other_school is not None
    assert duplicate.school.area_id != duplicate.other_school.area_id  # across two areas
    # the holder's area office has the duplicate in its queue
    area = RoleAssignment.objects.get(
        area_id=duplicate.other_school.area_id, role=Role.AREA_OFFICER
    )
    assert duplicate in awaiting(Actor.from_assignment(area))
    # and no student is enrolled twice
    assert Enrolment.objects.filter(person=duplicate.person, status="active").count() == 1
