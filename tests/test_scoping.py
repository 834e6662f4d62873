"""Every read and write is scoped: a school sees only its students, an area its schools, OBEC
everything — through the web pages and the API alike."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from dmc.accounts.models import RoleAssignment
from dmc.accounts.services import token_create
from dmc.students.models import Enrolment
from tests.conftest import PURPOSE_QUERY, World, login, state_purpose


@pytest.fixture
def students(world: World) -> dict[str, Enrolment]:
    return {
        "a1": world.add_student(world.school_a1),
        "a2": world.add_student(world.school_a2),
        "b1": world.add_student(world.school_b1),
    }


#: the schools each area/OBEC user reads in these tests (they state a PDPA purpose first)
IN_SCOPE = {
    "area_a": ["10010001", "10010002"],
    "area_b": ["42010001"],
    "obec": ["10010001", "10010002", "42010001"],
}


def _client(world: World, name: str) -> Client:
    client = Client()
    login(client, world.users[name])
    for smis in IN_SCOPE.get(name, []):
        state_purpose(client, smis)
    return client


def _token_client(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


# who may read which school's student (web detail page and API detail)
READS = [
    ("officer_a1", "a1", True),
    ("officer_a1", "a2", False),
    ("officer_a1", "b1", False),
    ("director_a1", "a1", True),
    ("director_a1", "b1", False),
    ("area_a", "a1", True),
    ("area_a", "a2", True),
    ("area_a", "b1", False),
    ("area_b", "a1", False),
    ("area_b", "b1", True),
    ("obec", "a1", True),
    ("obec", "b1", True),
]


@pytest.mark.parametrize(("user", "school", "allowed"), READS)
def test_web_student_detail_is_scoped(
    world: World, students: dict[str, Enrolment], user: str, school: str, allowed: bool
) -> None:
    response = _client(world, user).get(f"/students/{students[school].pk}/")
    assert response.status_code == (200 if allowed else 404)
    if not allowed:
        assert students[school].person.first_name not in response.content.decode()


@pytest.mark.parametrize(("user", "school", "allowed"), READS)
def test_api_student_detail_is_scoped(
    world: World, students: dict[str, Enrolment], user: str, school: str, allowed: bool
) -> None:
    response = _token_client(world, user).get(
        f"/api/v1/students/{students[school].pk}?{PURPOSE_QUERY}"
    )
    assert response.status_code == (200 if allowed else 404)
    body = response.json()
    if allowed:
        assert body["citizen_id"] == students[school].person.person_id
    else:
        assert body["code"] == "not_found"
        assert set(body) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    ("user", "smis", "status"),
    [
        ("officer_a1", "10010001", 200),
        ("officer_a1", "10010002", 403),
        ("officer_a1", "42010001", 403),
        ("area_a", "10010002", 200),
        ("area_a", "42010001", 403),
        ("obec", "42010001", 200),
        ("officer_a1", "99999999", 404),
    ],
)
def test_student_lists_are_scoped(
    world: World, students: dict[str, Enrolment], user: str, smis: str, status: int
) -> None:
    assert _client(world, user).get(f"/schools/{smis}/students/").status_code == status
    api = _token_client(world, user)
    assert api.get(f"/api/v1/schools/{smis}/students?{PURPOSE_QUERY}").status_code == status


def test_api_school_list_is_scoped(world: World) -> None:
    def codes(name):
        return {s["smis_code"] for s in _token_client(world, name).get("/api/v1/schools").json()}

    assert codes("officer_a1") == {"10010001"}
    assert codes("area_a") == {"10010001", "10010002"}
    assert codes("obec") == {"10010001", "10010002", "42010001"}


def test_a_school_cannot_write_another_schools_student(
    world: World, students: dict[str, Enrolment]
) -> None:
    target = students["b1"]
    web = _client(world, "officer_a1").post(
        f"/students/{target.pk}/",
        {
            "person_version": 1,
            "enrolment_version": 1,
            "first_name": "แฮก",
            "last_name": "x",
            "title_code": "001",
            "sex": "M",
            "birth_date": "01/06/2556",
        },
    )
    assert web.status_code == 404
    api = _token_client(world, "officer_a1").patch(
        f"/api/v1/students/{target.pk}",
        data=json.dumps(
            {"person_version": 1, "enrolment_version": 1, "changes": {"first_name": "แฮก"}}
        ),
        content_type="application/json",
    )
    assert api.status_code == 404
    target.person.refresh_from_db()
    assert target.person.first_name != "แฮก"


def test_read_only_roles_cannot_write(world: World, students: dict[str, Enrolment]) -> None:
    for name in ("director_a1", "area_a"):
        api = _token_client(world, name).patch(
            f"/api/v1/students/{students['a1'].pk}",
            data=json.dumps(
                {"person_version": 1, "enrolment_version": 1, "changes": {"weight_kg": "40"}}
            ),
            content_type="application/json",
        )
        assert api.status_code == 403
        assert api.json()["code"] == "role_not_allowed"
    students["a1"].refresh_from_db()
    assert students["a1"].weight_kg == Decimal("30.5")


def test_list_masks_citizen_ids(world: World, students: dict[str, Enrolment]) -> None:
    pid = students["a1"].person.person_id
    html = _client(world, "officer_a1").get("/schools/10010001/students/").content.decode()
    assert pid not in html
    assert pid[-4:-1] in html.replace("-", "")
    api = _token_client(world, "officer_a1").get("/api/v1/schools/10010001/students").json()
    assert api["items"][0]["citizen_id_masked"].startswith("x-xxxx")
    assert pid not in json.dumps(api)


def test_revoked_or_unknown_tokens_are_refused(world: World) -> None:
    from dmc.accounts.services import token_revoke

    token, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/me").status_code == 200
    token_revoke(actor=world.actors["officer_a1"], token_id=token.pk)
    assert client.get("/api/v1/me").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer dmc_nope").get("/api/v1/me").status_code == 401


def test_token_stops_working_when_the_role_is_revoked(world: World) -> None:
    _, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    RoleAssignment.objects.filter(pk=world.actors["officer_a1"].assignment_id).update(
        status="revoked"
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 401


def test_anonymous_is_sent_to_login_or_refused(
    world: World, students: dict[str, Enrolment]
) -> None:
    anon = Client()
    for url in (
        "/",
        "/schools/10010001/students/",
        f"/students/{students['a1'].pk}/",
        "/approvals/",
    ):
        response = anon.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    api = anon.get(f"/api/v1/students/{students['a1'].pk}")
    assert api.status_code == 401
    assert api.json()["code"] == "not_authenticated"
