"""Query counts of the hot pages and endpoints (issue 8): the same number of queries whatever
the number of students or schools (measured at two sizes), and no more than a budget, so an
N+1 or an extra query on deadline day's paths fails CI.

Budgets are today's counts; lower them when a change saves a query, never raise them without a
reason in the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role, RoleAssignment, User
from dmc.accounts.services import assignment_create_approved, token_create
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.rounds.models import Round
from dmc.schools.models import School, SchoolGrade
from dmc.students.models import Enrolment
from tests.conftest import PASSWORD, World, login

IN_WINDOW = bangkok(2022, 4, 30, 9, 0)  # round 3's confirm window

# The calendar (years and rounds) comes from the per-process cache on a warm request, and the
# user, role assignment and own school from one query (issue 8: 9/14/14/9/7/8/28/15 before).
# Confirm and certify still read their round fresh.
BUDGETS = {
    "school_home": 4,  # session, assignment+user+school, totals, open duplicate cases
    "round_checklist": 7,
    "area_dashboard": 8,
    "student_list": 5,
    "student_detail": 6,
    "api_students": 4,  # + the invalid-token throttle check (issue 9)
    "api_checklist": 5,  # + the invalid-token throttle check (issue 9)
    # + the invalid-token throttle check (issue 9); + 6: the sealed report roll-up (issue 7)
    "api_confirm": 24,
    "api_certify": 12,  # + the token throttle check and the step-up password (issue 9)
}


@pytest.fixture(autouse=True)
def _calendar_kept(settings: Any) -> None:
    """Counts are of warm requests: the calendar cache does not expire in the middle of a test
    (in production it is reloaded once a second per process, one query in ~hundreds of requests)."""
    settings.DMC_CALENDAR_CACHE_SECONDS = 3600


def queries(fn: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def grow(world: World, school: School, n: int) -> None:
    """``n`` more clean students in grade 05 (rooms kept consistent: nothing blocking)."""
    for _ in range(n):
        world.add_student(school, grade="05")
    SchoolGrade.objects.filter(school=school).exclude(grade="05").update(rooms=0)


def more_schools(world: World, n: int) -> None:
    for i in range(n):
        s = School.objects.create(
            smis_code=f"1001{9000 + i}",
            moe_code=f"10{9000 + i}",
            obec_code=f"9{i:05d}",
            name=f"โรงเรียนเพิ่ม{i}",
            area=world.area_a,
            province_code="10",
        )
        SchoolGrade.objects.create(school=s, academic_year=2564, grade="05", rooms=1)
        world.add_student(s, grade="05")


def _api(actor: Actor) -> Client:
    _, secret = token_create(actor=actor, name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _web(world: World, name: str) -> Client:
    client = Client()
    login(client, world.users[name])
    return client


def _assert_flat(name: str, small: int, large: int) -> None:
    assert small == large, f"{name}: {small} queries at the small size, {large} at the large"
    assert large <= BUDGETS[name], f"{name}: {large} queries, budget {BUDGETS[name]}"


@pytest.fixture
def round3(world: World) -> Round:
    return Round.objects.get(academic_year__year=2564, number=3)


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("school_home", "/"),
        ("round_checklist", "/round/"),
        ("student_list", "/schools/10010001/students/"),
    ],
)
def test_school_pages_do_not_grow_with_students(world: World, name: str, url: str) -> None:
    grow(world, world.school_a1, 2)
    web = _web(world, "officer_a1")
    web.get(url)  # warm: session, first-request work
    small, r1 = queries(lambda: web.get(url))
    grow(world, world.school_a1, 15)
    large, r2 = queries(lambda: web.get(url))
    assert r1.status_code == r2.status_code == 200
    _assert_flat(name, small, large)


def test_student_detail_does_not_grow_with_students(world: World) -> None:
    grow(world, world.school_a1, 2)
    web = _web(world, "officer_a1")
    first = Enrolment.objects.filter(school=world.school_a1).order_by("pk").first()
    assert first is not None
    url = f"/students/{first.pk}/"
    web.get(url)
    small, r1 = queries(lambda: web.get(url))
    grow(world, world.school_a1, 15)
    large, r2 = queries(lambda: web.get(url))
    assert r1.status_code == r2.status_code == 200
    _assert_flat("student_detail", small, large)


def test_area_dashboard_does_not_grow_with_schools(world: World) -> None:
    grow(world, world.school_a1, 2)
    web = _web(world, "area_a")
    web.get("/area/round/")
    small, r1 = queries(lambda: web.get("/area/round/"))
    more_schools(world, 6)
    grow(world, world.school_a2, 5)
    large, r2 = queries(lambda: web.get("/area/round/"))
    assert r1.status_code == r2.status_code == 200
    assert "โรงเรียนเพิ่ม5" in r2.content.decode()  # the new schools are listed
    _assert_flat("area_dashboard", small, large)


def test_api_reads_do_not_grow_with_students(world: World, round3: Round) -> None:
    grow(world, world.school_a1, 2)
    api = _api(world.actors["officer_a1"])
    urls = {
        "api_students": "/api/v1/schools/10010001/students",
        "api_checklist": f"/api/v1/rounds/{round3.pk}/schools/10010001",
    }
    small = {}
    for name, url in urls.items():
        api.get(url)
        small[name], response = queries(lambda url=url: api.get(url))
        assert response.status_code == 200, response.content
    grow(world, world.school_a1, 15)
    for name, url in urls.items():
        large, response = queries(lambda url=url: api.get(url))
        assert response.status_code == 200
        _assert_flat(name, small[name], large)


def _director(world: World, school: School) -> Actor:
    user = User(username=f"dir{school.smis_code}")
    user.set_password(PASSWORD)
    user.save()
    a = assignment_create_approved(actor=None, user=user, role=Role.SCHOOL_DIRECTOR, school=school)
    return Actor.from_assignment(
        RoleAssignment.objects.select_related("school", "user").get(pk=a.pk)
    )


def test_confirm_and_certify_do_not_grow_with_students(world: World, round3: Round) -> None:
    grow(world, world.school_a1, 2)  # small school
    grow(world, world.school_a2, 17)  # large school
    counts: dict[str, list[int]] = {"api_confirm": [], "api_certify": []}
    with clock.frozen(IN_WINDOW):
        for school, officer, director in (
            (world.school_a1, world.actors["officer_a1"], world.actors["director_a1"]),
            (world.school_a2, world.actors["officer_a2"], _director(world, world.school_a2)),
        ):
            base = f"/api/v1/rounds/{round3.pk}/schools/{school.smis_code}"
            off, dire = _api(officer), _api(director)
            n, r = queries(lambda off=off, base=base: off.post(f"{base}/confirm"))
            assert r.status_code == 200, r.content
            counts["api_confirm"].append(n)
            n, r = queries(
                lambda dire=dire, base=base: dire.post(
                    f"{base}/certify",
                    json.dumps({"password": PASSWORD}),  # step-up (issue 9)
                    content_type="application/json",
                )
            )
            assert r.status_code == 200, r.content
            counts["api_certify"].append(n)
    for name, (small, large) in counts.items():
        _assert_flat(name, small, large)
