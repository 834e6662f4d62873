"""Shared fixtures: a small world (2 areas, 3 schools, every role), the 2564 calendar and a
stopped server clock inside round 3's entry window."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API + live_server

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role, RoleAssignment, User
from dmc.accounts.services import assignment_create_approved
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.ids import check_digit
from dmc.demo.loader import setup_calendar
from dmc.rounds.selectors import invalidate_calendar
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.students import services as student_services
from dmc.students.models import Enrolment

PASSWORD = "test-pass-2564"
IN_ENTRY = bangkok(2022, 4, 20, 10, 0)  # round 3 of 2564 is open for entry
YEAR = 2564


def make_citizen_id(n: int, first: str = "1") -> str:
    head = f"{first}{n:011d}"
    return head + str(check_digit(head))


@dataclass
class World:
    area_a: AreaOffice
    area_b: AreaOffice
    school_a1: School
    school_a2: School
    school_b1: School
    users: dict[str, User]
    actors: dict[str, Actor]
    _seq: int = 0

    def add_student(
        self,
        school: School | None = None,
        *,
        actor: Actor | None = None,
        grade: str = "05",
        room: int = 1,
        year_result: str = "pass",
        **person: Any,
    ) -> Enrolment:
        """A new student through the service (system actor by default). In round 3 the
        student sat the exam and, unless ``year_result=""`` (pending), has a year-end result
        (a graduate of a terminal grade also a destination), so the checklist stays clear."""
        self._seq += 1
        school = school or self.school_a1
        data: dict[str, Any] = {
            "title_code": "001",
            "first_name": f"สมชาย{self._seq}",
            "last_name": "ใจดี",
            "sex": "M",
            "birth_date": dt.date(2013, 6, 1),
        }
        data.update(person)
        enrolment = student_services.student_add(
            sat_exam_here=True,  # round 3: only exam takers are added (L5)
            actor=actor,
            school=school,
            academic_year=YEAR,
            person_id=data.pop("person_id", make_citizen_id(5_000_000 + self._seq)),
            person=data,
            grade=grade,
            room=room,
            student_no=str(10_000 + self._seq),
            weight_kg=Decimal("30.5"),
            height_cm=Decimal("135.0"),
        )
        if year_result:
            set_year_result(enrolment, year_result)
        return enrolment


def set_year_result(enrolment: Enrolment, result: str, evaluations: str = "1") -> None:
    """Give a student a complete year-end result directly (fixture shortcut, stats kept)."""
    from django.db import transaction

    from dmc.core.codes import TERMINAL_GRADES
    from dmc.rounds import stats

    with transaction.atomic():
        before = stats.contribution(enrolment, enrolment.person.sex)
        enrolment.year_result = result
        enrolment.years_studied = 1
        enrolment.failed_evaluations = evaluations if result == "fail" else ""
        terminal = result == "pass" and enrolment.grade in TERMINAL_GRADES
        enrolment.destination = "12" if terminal else ""
        enrolment.save(
            update_fields=["year_result", "years_studied", "failed_evaluations", "destination"]
        )
        stats.enrolment_changed(enrolment, enrolment.person, before=before)


def _school(smis: str, area: AreaOffice, name: str) -> School:
    school = School.objects.create(
        smis_code=smis,
        moe_code=f"10{smis}",
        obec_code=smis[:2] + smis[-4:],
        name=name,
        area=area,
        province_code=area.province_code,
    )
    for grade in ("04", "05", "06", "07", "08", "09"):
        SchoolGrade.objects.create(school=school, academic_year=YEAR, grade=grade, rooms=2)
    return school


def _user(username: str) -> User:
    user = User(username=username, first_name="ทดสอบ", last_name=username)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def frozen_clock() -> Iterator[dt.datetime]:
    with clock.frozen(IN_ENTRY):
        yield IN_ENTRY


@pytest.fixture
def world(db: None, frozen_clock: dt.datetime) -> World:
    setup_calendar(YEAR)
    area_a = AreaOffice.objects.create(
        code="1001", name="สพป.ทดสอบ เขต 1", kind="primary", province_code="10"
    )
    area_b = AreaOffice.objects.create(
        code="4201", name="สพป.เลย เขต 1", kind="primary", province_code="42"
    )
    a1 = _school("10010001", area_a, "โรงเรียนบ้านหนึ่ง")
    a2 = _school("10010002", area_a, "โรงเรียนบ้านสอง")
    b1 = _school("42010001", area_b, "โรงเรียนบ้านเลย")
    grants = {
        "officer_a1": (Role.SCHOOL_OFFICER, {"school": a1}),
        "director_a1": (Role.SCHOOL_DIRECTOR, {"school": a1}),
        "officer_a2": (Role.SCHOOL_OFFICER, {"school": a2}),
        "officer_b1": (Role.SCHOOL_OFFICER, {"school": b1}),
        "area_a": (Role.AREA_OFFICER, {"area": area_a}),
        "area_b": (Role.AREA_OFFICER, {"area": area_b}),
        "obec": (Role.OBEC_ADMIN, {}),
    }
    users: dict[str, User] = {}
    actors: dict[str, Actor] = {}
    for name, (role, scope) in grants.items():
        users[name] = _user(name)
        assignment = assignment_create_approved(actor=None, user=users[name], role=role, **scope)
        actors[name] = Actor.from_assignment(
            RoleAssignment.objects.select_related("school", "user").get(pk=assignment.pk)
        )
    return World(area_a, area_b, a1, a2, b1, users, actors)


def login(client: Any, user: User, assignment: RoleAssignment | None = None) -> None:
    """Log in through the login page and pick the role (the first approved one by default)."""
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    if assignment is None:
        client.get("/role/")
    else:
        client.post("/role/", {"assignment": assignment.pk})


def state_purpose(client: Any, smis_code: str, code: str = "01", text: str = "") -> None:
    """As an area/OBEC user: state the PDPA purpose for one school in this session (issue 9)."""
    response = client.post(
        "/privacy/purpose/", {"school": smis_code, "code": code, "text": text, "next": "/"}
    )
    assert response.status_code == 302, response.content[:500]


#: the query an area/OBEC API read sends (PDPA purpose, issue 9)
PURPOSE_QUERY = "purpose_code=01"


@pytest.fixture(autouse=True)
def _audit_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the append-only triggers in place for every database test; lift them only after a
    transactional test, so the harness can empty the tables before the next one."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "db" not in request.fixturenames:
        yield
        return
    from django.db import connection

    from dmc.core import audit_sql

    transactional = bool(marker and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    audit_sql.install(connection)
    yield
    if transactional:
        audit_sql.uninstall(connection)


@pytest.fixture(autouse=True)
def _fresh_clock_cache() -> Iterator[None]:
    """A test that moved the shared demo clock must not leak it into the next test."""
    invalidate_calendar()
    yield
    clock.invalidate_cache()
    invalidate_calendar()  # a rolled-back test's rounds must not be served to the next one
