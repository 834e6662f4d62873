"""IDOR sweep and field-level protection (perf-security §7.5 item 2, ASVS 5.0 8.2.2/8.2.3).

Ids of other schools' records put where ours are expected — in bodies and query strings (the
URL path cells are in test_role_matrix) — are refused or ignored, change nothing and show
nothing of the other school. Fields a caller must not set (status, school, role, approval,
version, another school's fields) cannot be set through forms or the API: the attempt is refused
(the API's closed ``changes`` dictionary) or ignored (extra form/JSON fields), and tested both
ways: the record is unchanged afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dmc.accounts.middleware import SESSION_KEY
from dmc.accounts.models import ApiToken, RoleAssignment, User
from dmc.accounts.services import token_create
from dmc.cases import services as cases
from dmc.core.models import AuditEvent
from dmc.students.models import Enrolment
from tests.conftest import World, login, make_citizen_id

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def students(world: World) -> dict[str, Enrolment]:
    return {
        "a1": world.add_student(world.school_a1, first_name="เจ้าของเอง"),
        "a2": world.add_student(world.school_a2, first_name="พี่น้องเอสอง"),
        "b1": world.add_student(world.school_b1, first_name="ต่างเขตบีหนึ่ง"),
    }


def _web(world: World, name: str) -> Client:
    client = Client()
    login(client, world.users[name])
    return client


def _api(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="idor")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _no_trace(response: Any, *others: Enrolment) -> None:
    text = response.content.decode("utf-8", "replace")
    for e in others:
        assert e.person.first_name not in text
        assert e.person.last_name + "xx" not in text
        assert e.person.person_id not in text


def _state(e: Enrolment) -> tuple[Any, ...]:
    e = Enrolment.objects.select_related("person").get(pk=e.pk)
    return (
        e.status,
        e.school_id,
        e.version,
        e.room,
        e.grade,
        e.person.version,
        e.person.first_name,
    )


# --- ids of other schools in bodies and query strings --------------------------------------------


def test_bulk_actions_with_other_schools_ids_change_nothing(
    world: World, students: dict[str, Enrolment]
) -> None:
    client = _web(world, "officer_a1")
    before = {k: _state(e) for k, e in students.items()}
    events = AuditEvent.objects.count()
    response = client.post(
        "/schools/10010001/students/bulk/",
        {"action": "room", "room": "2", "ids": [students["a2"].pk, students["b1"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    _no_trace(response, students["a2"], students["b1"])
    assert {k: _state(e) for k, e in students.items()} == before
    assert AuditEvent.objects.count() == events
    # the same ids in the API's withdraw are 404, not another school's student
    api = _api(world, "officer_a1")
    for key in ("a2", "b1"):
        r = api.post(
            f"/api/v1/students/{students[key].pk}/withdraw",
            json.dumps({"left_on": "01/04/2565", "reason": "03"}),
            content_type="application/json",
        )
        assert r.status_code == 404
        _no_trace(r, students[key])


def test_bulk_on_own_list_acts_only_on_own_students(
    world: World, students: dict[str, Enrolment]
) -> None:
    """OBEC may act anywhere, but a bulk form posted for school a1 touches only a1's students."""
    client = _web(world, "obec")
    before_b1 = _state(students["b1"])
    client.post(
        "/schools/10010001/students/bulk/",
        {"action": "room", "room": "2", "ids": [students["a1"].pk, students["b1"].pk]},
    )
    assert _state(students["b1"]) == before_b1
    assert Enrolment.objects.get(pk=students["a1"].pk).room == 2


def test_evidence_of_another_case_under_my_case_url_is_404(
    world: World, students: dict[str, Enrolment]
) -> None:
    mine = cases.id_correction_open(
        actor=world.actors["officer_a1"],
        enrolment_id=students["a1"].pk,
        new_id=make_citizen_id(6_400_001),
        reason="x",
    )
    theirs = cases.id_correction_open(
        actor=world.actors["officer_b1"],
        enrolment_id=students["b1"].pk,
        new_id=make_citizen_id(6_400_002),
        reason="x",
    )
    att = cases.attachment_add(
        actor=world.actors["officer_b1"], case_id=theirs.pk, filename="s.png", content=PNG
    )
    client = _web(world, "officer_a1")
    response = client.get(f"/cases/{mine.pk}/evidence/{att.pk}/")
    assert response.status_code == 404
    _no_trace(response, students["b1"])


@pytest.mark.parametrize(
    ("user", "url"),
    [
        ("area_a", "/round/?school=42010001"),
        ("area_a", "/school/grades/?school=42010001"),
        ("area_a", "/area/round/?area=4201"),  # an area officer always sees its own area
        ("officer_a1", "/round/?school=10010002"),  # a school always sees its own school
        ("officer_a1", "/school/grades/?school=42010001"),
        ("area_a", "/areas/4201/schools/"),
    ],
)
def test_other_units_in_query_strings(
    world: World, students: dict[str, Enrolment], user: str, url: str
) -> None:
    response = _web(world, user).get(url)
    assert response.status_code in (200, 403, 404)
    html = response.content.decode()
    _no_trace(response, students["b1"])
    if user == "officer_a1":
        _no_trace(response, students["a2"])
        assert "โรงเรียนบ้านสอง" not in html and "โรงเรียนบ้านเลย" not in html
    if response.status_code == 200 and user == "area_a":
        assert "โรงเรียนบ้านเลย" not in html  # the page shows area A, never B


def test_api_query_strings_stay_in_scope(world: World, students: dict[str, Enrolment]) -> None:
    api = _api(world, "area_a")
    listed = api.get("/api/v1/schools?area_code=4201")
    assert listed.status_code == 200 and listed.json() == []
    for url in (
        "/api/v1/cases?kind=id_correction",
        "/api/v1/schools/10010001/students?purpose_code=01&q=" + students["b1"].person.person_id,
        "/api/v1/schools/10010001/students?purpose_code=01&q=" + students["b1"].person.first_name,
    ):
        response = api.get(url)
        assert response.status_code == 200
        _no_trace(response, students["b1"])


def test_role_pick_cannot_take_someone_elses_assignment(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    others = RoleAssignment.objects.get(user=world.users["obec"])
    client.post("/role/", {"assignment": others.pk})
    assert client.session[SESSION_KEY] != others.pk
    assert client.get("/obec/rounds/").status_code == 403


def test_a_stale_session_role_is_dropped(world: World) -> None:
    """A role revoked while logged in stops working at the next request (web and API)."""
    client = _web(world, "area_a")
    api = _api(world, "area_a")
    assert client.get("/approvals/").status_code == 200
    RoleAssignment.objects.filter(user=world.users["area_a"]).update(status="revoked")
    response = client.get("/approvals/")
    assert response.status_code == 302 and response["Location"].startswith("/role/")
    assert api.get("/api/v1/me").status_code == 401


# --- field-level protection (mass assignment) ----------------------------------------------------

FORBIDDEN_CHANGES = [
    {"status": "withdrawn"},
    {"school": 3},
    {"school_id": 3},
    {"school_code": "42010001"},
    {"version": 99},
    {"person_version": 99},
    {"academic_year": 2563},
    {"grade": "09"},
    {"room": 2},
    {"person_id": "1234567890121"},
    {"citizen_id": "1234567890121"},
    {"checks": ""},
    {"id": 1},
    {"pk": 1},
    {"person": 1},
    {"name_key": "a"},
    {"tracked": True},
]


@pytest.mark.parametrize("changes", FORBIDDEN_CHANGES, ids=lambda c: next(iter(c)))
def test_api_edit_refuses_protected_fields(
    world: World, students: dict[str, Enrolment], changes: dict[str, Any]
) -> None:
    e = students["a1"]
    before = _state(e)
    for name in ("officer_a1", "obec"):
        response = _api(world, name).patch(
            f"/api/v1/students/{e.pk}",
            json.dumps({"person_version": 1, "enrolment_version": 1, "changes": changes}),
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] in ("validation", "citizen_id_direct_edit")
        assert set(body["fields"]) & (set(changes) | {"person_id"})
    assert _state(e) == before


def test_api_edit_with_an_allowed_and_a_protected_field_changes_nothing(
    world: World, students: dict[str, Enrolment]
) -> None:
    e = students["a1"]
    before = _state(e)
    response = _api(world, "officer_a1").patch(
        f"/api/v1/students/{e.pk}",
        json.dumps(
            {
                "person_version": 1,
                "enrolment_version": 1,
                "changes": {"first_name": "ใหม่", "status": "withdrawn"},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert _state(e) == before


def test_web_edit_ignores_extra_fields(world: World, students: dict[str, Enrolment]) -> None:
    e = students["a1"]
    client = _web(world, "officer_a1")
    form = dict(client.get(f"/students/{e.pk}/").context["form"].initial)
    form = {k: ("" if v is None else str(v)) for k, v in form.items()}
    form.update(
        first_name="ชื่อใหม่",
        status="withdrawn",
        school="3",
        school_id="3",
        version="77",
        grade="09",
        room="2",
        person_id="1234567890121",
        academic_year="2563",
    )
    response = client.post(f"/students/{e.pk}/", form)
    assert response.status_code == 302, response.content[:300]
    after = Enrolment.objects.select_related("person").get(pk=e.pk)
    assert after.person.first_name == "ชื่อใหม่"  # the allowed field was saved ...
    assert (after.status, after.school_id, after.grade, after.room, after.academic_year) == (
        e.status,
        e.school_id,
        e.grade,
        e.room,
        e.academic_year,
    )  # ... and nothing else
    assert after.person.person_id == e.person.person_id
    assert after.person.version == e.person.version + 1  # the server counts versions


def test_web_edit_cannot_set_the_version_forward(
    world: World, students: dict[str, Enrolment]
) -> None:
    """A made-up version is a conflict (409), never a way to skip someone else's change."""
    e = students["a1"]
    client = _web(world, "officer_a1")
    form = dict(client.get(f"/students/{e.pk}/").context["form"].initial)
    form = {k: ("" if v is None else str(v)) for k, v in form.items()}
    form.update(first_name="ข้าม", person_version="5", enrolment_version="5")
    assert client.post(f"/students/{e.pk}/", form).status_code == 409
    assert _state(e)[-1] == "เจ้าของเอง"


def test_api_add_ignores_status_and_version(world: World) -> None:
    body = {
        "school_code": "10010001",
        "person_id": make_citizen_id(6_500_001),
        "title_code": "001",
        "first_name": "เพิ่มใหม่",
        "last_name": "ทดสอบ",
        "sex": "M",
        "birth_date": "01/06/2556",
        "grade": "05",
        "room": 1,
        "student_no": "88881",
        "sat_exam_here": True,
        # not part of the input: ignored
        "status": "withdrawn",
        "version": 42,
        "school": 3,
        "academic_year": 2500,
        "checks": "",
    }
    response = _api(world, "officer_a1").post(
        "/api/v1/students", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    e = Enrolment.objects.get(pk=response.json()["id"])
    assert (e.status, e.version, e.school_id, e.academic_year) == (
        Enrolment.Status.ACTIVE,
        1,
        world.school_a1.pk,
        2564,
    )


def test_api_add_into_another_school_is_refused(world: World) -> None:
    body = {
        "school_code": "10010002",
        "person_id": make_citizen_id(6_500_002),
        "title_code": "001",
        "first_name": "แอบเพิ่ม",
        "last_name": "ทดสอบ",
        "sex": "M",
        "birth_date": "01/06/2556",
        "grade": "05",
        "room": 1,
        "student_no": "88882",
        "sat_exam_here": True,
    }
    response = _api(world, "officer_a1").post(
        "/api/v1/students", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 403
    assert not Enrolment.objects.filter(person__first_name="แอบเพิ่ม").exists()


def test_register_cannot_grant_itself_approval_or_privileges(world: World) -> None:
    response = Client().post(
        "/register/",
        {
            "username": "sneaky_user",
            "password": "a-long-passphrase-2564",
            "first_name": "แอบ",
            "last_name": "อนุมัติ",
            "email": "s@example.go.th",
            "role": "school_officer",
            "scope_code": "10010001",
            "status": "approved",
            "is_staff": "1",
            "is_superuser": "1",
            "decided_by": str(world.users["obec"].pk),
        },
    )
    assert response.status_code == 200
    user = User.objects.get(username="sneaky_user")
    assert not user.is_staff and not user.is_superuser
    assert list(user.assignments.values_list("status", flat=True)) == ["pending"]
    # and it cannot log in until the area approves
    assert Client().post("/login/", {"username": "sneaky_user", "password": "x"}).status_code == 401


def test_register_cannot_ask_for_obec_admin(world: World) -> None:
    response = Client().post(
        "/register/",
        {
            "username": "sneaky_admin",
            "password": "a-long-passphrase-2564",
            "first_name": "แอบ",
            "last_name": "แอดมิน",
            "email": "s@example.go.th",
            "role": "obec_admin",
            "scope_code": "10010001",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="sneaky_admin").exists()


def test_a_school_cannot_approve_roles(world: World) -> None:
    from dmc.accounts.services import user_register

    pending = user_register(
        username="waiting_a1",
        password="a-long-passphrase-2564",
        first_name="รอ",
        last_name="อนุมัติ",
        email="w@example.go.th",
        role="school_officer",
        school=world.school_a1,
    )
    for name in ("officer_a1", "director_a1"):
        response = _web(world, name).post(
            "/approvals/", {"assignment": pending.pk, "decision": "approve"}
        )
        assert response.status_code == 403
    # another area's officer cannot approve it either
    response = _web(world, "area_b").post(
        "/approvals/", {"assignment": pending.pk, "decision": "approve"}
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_token_is_bound_to_the_callers_role(world: World) -> None:
    other = RoleAssignment.objects.get(user=world.users["obec"])
    api = _api(world, "officer_a1")
    response = api.post(
        "/api/v1/tokens",
        json.dumps({"name": "x", "assignment": other.pk, "assignment_id": other.pk}),
        content_type="application/json",
    )
    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.assignment_id == world.actors["officer_a1"].assignment_id
    # and the new token can do no more than the caller
    client = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert client.get("/api/v1/me").json()["role"] == "school_officer"
    from dmc.rounds.models import Round

    round_id = Round.objects.values_list("pk", flat=True).first()
    assert client.post(f"/api/v1/rounds/{round_id}/close").status_code == 403


def test_import_cannot_name_another_school(world: World, students: dict[str, Enrolment]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dmc.exchange import export

    csv = b"".join(
        export.csv_chunks(
            export.students_export(actor=world.actors["officer_a1"], smis_code="10010001")
        )
    )
    before = {k: _state(e) for k, e in students.items()}
    response = _api(world, "officer_a1").post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("l.csv", csv), "school_code": "10010002"},
    )
    assert response.status_code == 403
    assert {k: _state(e) for k, e in students.items()} == before
