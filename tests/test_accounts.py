"""Registration, approval (area approves school users, OBEC approves area users), login,
the role picker and session rotation."""

from __future__ import annotations

import pytest
from django.test import Client

from dmc.accounts import services
from dmc.accounts.models import Role, RoleAssignment
from dmc.core.errors import DmcError, ErrorCode
from tests.conftest import PASSWORD, World, login

NEW_PASSWORD = "ครูใหม่-password-2564"


def _register(world: World, role: str = Role.SCHOOL_OFFICER, **scope: object) -> RoleAssignment:
    if not scope:
        scope = {"school": world.school_a1}
    return services.user_register(
        username="newteacher",
        password=NEW_PASSWORD,
        first_name="ครู",
        last_name="ใหม่",
        email="t@example.org",
        role=role,
        **scope,
    )  # type: ignore[arg-type]


def test_registration_is_pending_and_cannot_log_in(world: World) -> None:
    assignment = _register(world)
    assert assignment.status == RoleAssignment.Status.PENDING
    response = Client().post("/login/", {"username": "newteacher", "password": NEW_PASSWORD})
    assert response.status_code == 401
    assert "ยังไม่ได้รับการอนุมัติ" in response.content.decode()
    assert "เขตพื้นที่" in response.content.decode()  # says who approves


def test_the_schools_area_approves_then_login_works(world: World) -> None:
    assignment = _register(world)
    services.assignment_decide(
        actor=world.actors["area_a"], assignment_id=assignment.pk, approve=True
    )
    client = Client()
    response = client.post("/login/", {"username": "newteacher", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/role/").status_code == 302  # one role: picked automatically
    assert "โรงเรียนบ้านหนึ่ง" in client.get("/").content.decode()


@pytest.mark.parametrize("approver", ["area_b", "officer_a1", "director_a1"])
def test_others_cannot_approve_a_school_user(world: World, approver: str) -> None:
    assignment = _register(world)
    with pytest.raises(DmcError) as exc:
        services.assignment_decide(
            actor=world.actors[approver], assignment_id=assignment.pk, approve=True
        )
    assert exc.value.code in (ErrorCode.NOT_FOUND, ErrorCode.ROLE_NOT_ALLOWED)
    assignment.refresh_from_db()
    assert assignment.status == RoleAssignment.Status.PENDING


def test_obec_approves_area_users_and_areas_cannot(world: World) -> None:
    assignment = _register(world, role=Role.AREA_OFFICER, area=world.area_a)
    with pytest.raises(DmcError):
        services.assignment_decide(
            actor=world.actors["area_a"], assignment_id=assignment.pk, approve=True
        )
    services.assignment_decide(
        actor=world.actors["obec"], assignment_id=assignment.pk, approve=False, note="ไม่ใช่เจ้าหน้าที่"
    )
    assignment.refresh_from_db()
    assert assignment.status == RoleAssignment.Status.REJECTED
    with pytest.raises(DmcError) as exc:
        services.assignment_decide(
            actor=world.actors["obec"], assignment_id=assignment.pk, approve=True
        )
    assert exc.value.code == ErrorCode.ALREADY_DECIDED


def test_nobody_registers_as_obec(world: World) -> None:
    with pytest.raises(DmcError) as exc:
        _register(world, role=Role.OBEC_ADMIN, school=None)
    assert exc.value.code == ErrorCode.ROLE_NOT_ALLOWED


def test_registration_refusals(world: World) -> None:
    _register(world)
    with pytest.raises(DmcError) as exc:
        _register(world)
    assert exc.value.code == ErrorCode.USERNAME_TAKEN
    with pytest.raises(DmcError) as exc:
        services.user_register(
            username="weakpass",
            password="12345",
            first_name="a",
            last_name="b",
            email="x@example.org",
            role=Role.SCHOOL_OFFICER,
            school=world.school_a1,
        )
    assert exc.value.code == ErrorCode.VALIDATION
    assert "password" in (exc.value.fields or {})


def test_register_page_flow(world: World) -> None:
    client = Client()
    assert "ลงทะเบียนผู้ใช้ใหม่" in client.get("/register/").content.decode()
    bad = client.post(
        "/register/",
        {
            "username": "x",
            "password": "p",
            "first_name": "a",
            "last_name": "b",
            "email": "bad",
            "role": "school_officer",
            "scope_code": "99999999",
        },
    )
    assert bad.status_code == 200 and not RoleAssignment.objects.filter(user__username="x").exists()
    ok = client.post(
        "/register/",
        {
            "username": "teacher01",
            "password": NEW_PASSWORD,
            "first_name": "ครู",
            "last_name": "หนึ่ง",
            "email": "t1@example.org",
            "role": "school_officer",
            "scope_code": "10010001",
        },
    )
    assert "รออนุมัติ" in ok.content.decode()
    assert RoleAssignment.objects.get(user__username="teacher01").status == "pending"


def test_approvals_page_lists_only_the_areas_requests(world: World) -> None:
    _register(world)
    area_a, area_b = Client(), Client()
    login(area_a, world.users["area_a"])
    login(area_b, world.users["area_b"])
    assert "newteacher" in area_a.get("/approvals/").content.decode()
    assert "newteacher" not in area_b.get("/approvals/").content.decode()
    assignment = RoleAssignment.objects.get(user__username="newteacher")
    assert (
        area_b.post("/approvals/", {"assignment": assignment.pk, "decision": "approve"}).status_code
        == 404
    )
    area_a.post("/approvals/", {"assignment": assignment.pk, "decision": "approve"})
    assignment.refresh_from_db()
    assert assignment.status == "approved"
    officer = Client()
    login(officer, world.users["officer_a1"])
    assert officer.get("/approvals/").status_code == 403


def test_wrong_password_is_refused_in_thai(world: World) -> None:
    response = Client().post("/login/", {"username": "officer_a1", "password": "nope"})
    assert response.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in response.content.decode()


def test_several_roles_pick_one_and_the_session_rotates(world: World) -> None:
    user = world.users["officer_a1"]
    second = services.assignment_create_approved(
        actor=None, user=user, role=Role.SCHOOL_OFFICER, school=world.school_a2
    )
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    before = client.session.session_key
    picker = client.get("/role/")
    assert picker.status_code == 200
    assert "โรงเรียนบ้านสอง" in picker.content.decode()
    client.post("/role/", {"assignment": second.pk})
    assert client.session.session_key != before
    home = client.get("/").content.decode()
    assert "โรงเรียนบ้านสอง" in home
    # the chosen role scopes everything: school a1's list is now out of reach
    assert client.get("/schools/10010001/students/").status_code == 403


def test_picking_someone_elses_assignment_is_ignored(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    other = world.actors["obec"].assignment_id
    client.post("/role/", {"assignment": other})
    assert client.get("/api/v1/me").json()["role"] == "school_officer"


def test_logout_invalidates_the_session(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


# --- issue 8: the user arrives with the role assignment (accounts/backends.py) -----------------


def test_login_stores_the_preloading_backend(world: World) -> None:
    from dmc.accounts.backends import PATH

    client = Client()
    login(client, world.users["officer_a1"])
    assert client.session["_auth_user_backend"] == PATH


def test_a_changed_password_ends_the_other_sessions_even_when_the_user_is_preloaded(
    world: World,
) -> None:
    user = world.users["officer_a1"]
    client = Client()
    login(client, user)
    assert client.get("/").status_code == 200
    user.set_password(NEW_PASSWORD)
    user.save(update_fields=["password"])  # elsewhere: the session hash no longer matches
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_a_deactivated_user_is_logged_out_even_when_preloaded(world: World) -> None:
    user = world.users["officer_a1"]
    client = Client()
    login(client, user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/").status_code == 302


def test_a_revoked_role_leaves_the_user_logged_in_without_a_role(world: World) -> None:
    user = world.users["officer_a1"]
    client = Client()
    login(client, user)
    RoleAssignment.objects.filter(user=user).update(status=RoleAssignment.Status.REVOKED)
    response = client.get("/")
    assert response.status_code in (200, 302)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/schools/10010001/students/").status_code in (302, 403)


def test_a_session_made_by_djangos_own_backend_still_works(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    session = client.session
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    assert client.get("/api/v1/me").json()["role"] == "school_officer"


# --- issue 8: passwords are stored with Argon2id at OWASP's minimum ---------------------------


def _production_hashers() -> list[str]:
    from django.conf import settings

    return [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]


def test_new_passwords_are_argon2id_at_owasps_minimum() -> None:
    from django.contrib.auth.hashers import check_password, make_password
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=_production_hashers()):
        encoded = make_password(NEW_PASSWORD)
        assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        assert check_password(NEW_PASSWORD, encoded)
        assert not check_password(NEW_PASSWORD + "x", encoded)


def test_an_old_pbkdf2_password_still_logs_in_and_is_rewritten_as_argon2id(world: World) -> None:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.test import override_settings

    user = world.users["officer_a1"]
    with override_settings(PASSWORD_HASHERS=_production_hashers()):
        hasher = PBKDF2PasswordHasher()
        user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
        user.save(update_fields=["password"])
        refused = Client().post("/login/", {"username": user.username, "password": "nope"})
        assert refused.status_code == 401
        user.refresh_from_db()
        assert user.password.startswith("pbkdf2_sha256$")  # a failed login rewrites nothing
        response = Client().post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
