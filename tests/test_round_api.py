"""The round over the API: checklist, confirm/certify/acknowledge, calendar, error shape."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dmc.accounts.services import token_create
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.rounds.models import Round, SchoolRound
from dmc.schools.models import SchoolGrade
from tests.conftest import PASSWORD, World

IN_WINDOW = bangkok(2022, 4, 30, 9, 0)


def _api(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def ready(world: World) -> Round:
    """School a1 with two students in grade 05 and rooms matching (nothing blocking)."""
    world.add_student(grade="05")
    world.add_student(grade="05")
    SchoolGrade.objects.filter(school=world.school_a1).exclude(grade="05").update(rooms=0)
    return Round.objects.get(academic_year__year=2564, number=3)


def test_checklist_over_the_api(world: World) -> None:
    world.add_student(grade="05")
    r = Round.objects.get(academic_year__year=2564, number=3)
    body = _api(world, "officer_a1").get(f"/api/v1/rounds/{r.pk}/schools/10010001").json()
    assert body["state"] == "has_errors"
    # grade 05 has a student; 04, 06-09 have rooms but no students (D6)
    assert {p["grade"] for p in body["rooms"]} == {"04", "06", "07", "08", "09"}
    assert body["students"] == 1
    assert body["checklist"] == []


def test_confirm_certify_acknowledge_over_the_api(world: World, ready: Round) -> None:
    url = f"/api/v1/rounds/{ready.pk}/schools/10010001"
    early = _api(world, "officer_a1").post(f"{url}/confirm")
    assert early.status_code == 409
    assert early.json()["code"] == "confirm_window_closed"
    with clock.frozen(IN_WINDOW):
        confirmed = _api(world, "officer_a1").post(f"{url}/confirm")
        assert confirmed.status_code == 200, confirmed.content
        assert confirmed.json()["state"] == "confirmed"
        assert len(confirmed.json()["snapshot_sha256"]) == 64
        again = _api(world, "officer_a1").post(f"{url}/confirm")
        assert again.status_code == 409
        assert again.json()["code"] == "already_confirmed"
        assert _api(world, "officer_a1").post(f"{url}/certify").status_code == 403
        # step-up (issue 9): the director's password again
        certified = _api(world, "director_a1").post(
            f"{url}/certify", {"password": PASSWORD}, content_type="application/json"
        )
        assert certified.json()["state"] == "certified"
        assert _api(world, "area_b").post(f"{url}/acknowledge").status_code == 403
        acked = _api(world, "area_a").post(f"/api/v1/rounds/{ready.pk}/acknowledge-clean")
        assert acked.json() == ["10010001"]
    sr = SchoolRound.objects.get(school=world.school_a1, round=ready)
    assert sr.acknowledged_by == world.users["area_a"]


def test_area_dashboard_is_scoped(world: World, ready: Round) -> None:
    rows = _api(world, "area_a").get(f"/api/v1/rounds/{ready.pk}/areas/1001").json()
    assert [r["school_code"] for r in rows] == ["10010001", "10010002"]
    assert rows[0]["state"] == "ready"
    other = _api(world, "area_a").get(f"/api/v1/rounds/{ready.pk}/areas/4201")
    assert other.status_code == 403  # another area's dashboard is refused (issue 9)
    assert other.json()["code"] == "not_in_scope"


def test_area_dashboard_filters_by_state(world: World, ready: Round) -> None:
    api = _api(world, "area_a")
    url = f"/api/v1/rounds/{ready.pk}/areas/1001"
    states = {r["school_code"]: r["state"] for r in api.get(url).json()}
    assert states["10010001"] == "ready" and states["10010002"] != "ready"
    only = api.get(url, {"state": "ready"}).json()
    assert [r["school_code"] for r in only] == ["10010001"]
    assert api.get(url, {"state": "certified"}).json() == []
    wrong = api.get(url, {"state": "done"})
    assert wrong.status_code == 422  # not a state: refused with the error shape, never ignored
    assert wrong.json()["code"] == "validation"


def test_calendar_edit_is_obec_only_and_checked(world: World, ready: Round) -> None:
    body = {"version": ready.version, "confirm_opens_at": "2022-04-30T17:00:00+07:00"}
    denied = _api(world, "area_a").put(
        f"/api/v1/rounds/{ready.pk}/windows", json.dumps(body), content_type="application/json"
    )
    assert denied.status_code == 403
    bad = _api(world, "obec").put(
        f"/api/v1/rounds/{ready.pk}/windows", json.dumps(body), content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "windows_order"
    body["confirm_opens_at"] = "2022-04-30T08:30:00+07:00"
    ok = _api(world, "obec").put(
        f"/api/v1/rounds/{ready.pk}/windows", json.dumps(body), content_type="application/json"
    )
    assert ok.status_code == 200
    assert ok.json()["version"] == ready.version + 1
    ready.refresh_from_db()
    assert ready.confirm_opens_at == bangkok(2022, 4, 30, 8, 30)


def test_close_over_the_api(world: World, ready: Round) -> None:
    early = _api(world, "obec").post(f"/api/v1/rounds/{ready.pk}/close")
    assert early.json()["code"] == "round_not_closable"
    with clock.frozen(bangkok(2022, 5, 2, 9, 0)):
        closed = _api(world, "obec").post(f"/api/v1/rounds/{ready.pk}/close")
    assert closed.status_code == 200
    assert len(closed.json()["sha256"]) == 64


def test_unknown_round_and_school_are_404(world: World) -> None:
    api = _api(world, "obec")
    assert api.get("/api/v1/rounds/999999/schools/10010001").status_code == 404
    r = Round.objects.get(academic_year__year=2564, number=3)
    assert api.get(f"/api/v1/rounds/{r.pk}/schools/00000000").status_code == 404
