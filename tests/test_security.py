"""Authentication and web hardening (issue 9): login and token throttling shared through the
database, the password policy, session rotation and invalidation, step-up re-authentication for
certify, CSRF on every state change, security headers and the CSP."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from dmc.accounts import services, throttle
from dmc.accounts.models import AuthThrottle, Role
from dmc.accounts.services import token_create
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.rounds import services as round_services
from dmc.rounds.models import Round
from dmc.schools.models import SchoolGrade
from tests.conftest import IN_ENTRY, PASSWORD, World, login

# --- login throttling ----------------------------------------------------------------------------


def _fail(client: Client, username: str = "officer_a1", ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/login/", {"username": username, "password": "wrong-password"}, REMOTE_ADDR=ip
    )


def _ok(client: Client, username: str = "officer_a1", ip: str = "10.0.0.1") -> Any:
    return client.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_account_even_with_the_right_password(world: World) -> None:
    for _ in range(settings.DMC_AUTH_USER_MAX_FAILURES):
        assert _fail(Client()).status_code == 401
    # a fresh client (another worker, another browser): the count lives in the database
    locked = _ok(Client(), ip="10.9.9.9")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป" in page
    assert "โปรดลองใหม่หลังเวลา 20 เม.ย. 2565 10:01:00" in page  # when, in BE, Bangkok time
    assert "60 วินาที" in page
    # another account is not affected
    assert _ok(Client(), username="director_a1").status_code == 302


def test_the_lock_expires_grows_and_success_resets(world: World) -> None:
    for _ in range(settings.DMC_AUTH_USER_MAX_FAILURES):
        _fail(Client())
    row = AuthThrottle.objects.get(key="user:officer_a1")
    assert row.locked_until == IN_ENTRY + dt.timedelta(seconds=60)
    with clock.frozen(IN_ENTRY + dt.timedelta(seconds=61)):
        # one more failure after the lock: locked again, twice as long
        assert _fail(Client()).status_code == 401
        row.refresh_from_db()
        assert row.locked_until == IN_ENTRY + dt.timedelta(seconds=61 + 120)
    with clock.frozen(IN_ENTRY + dt.timedelta(seconds=61 + 121)):
        assert _ok(Client()).status_code == 302  # the right password after the lock: in
        assert not AuthThrottle.objects.filter(key="user:officer_a1").exists()  # reset
        assert _fail(Client()).status_code == 401  # counting starts again from one
        assert AuthThrottle.objects.get(key="user:officer_a1").failures == 1


def test_a_quiet_window_forgets_old_failures(world: World) -> None:
    for _ in range(settings.DMC_AUTH_USER_MAX_FAILURES - 1):
        _fail(Client())
    later = IN_ENTRY + dt.timedelta(seconds=settings.DMC_AUTH_WINDOW_SECONDS + 1)
    with clock.frozen(later):
        _fail(Client())
        row = AuthThrottle.objects.get(key="user:officer_a1")
        assert row.failures == 1 and row.locked_until is None
        assert _ok(Client()).status_code == 302


def test_one_address_guessing_many_accounts_is_throttled(world: World) -> None:
    for n in range(settings.DMC_AUTH_IP_MAX_FAILURES):
        assert _fail(Client(), username=f"nobody{n}", ip="10.6.6.6").status_code == 401
    assert _ok(Client(), ip="10.6.6.6").status_code == 429  # that address is paused
    assert _ok(Client(), ip="10.7.7.7").status_code == 302  # the account itself is fine


def test_record_failure_creates_one_row_per_key(db: None, frozen_clock: Any) -> None:
    throttle.record_failure("user:x", "ip:1")
    throttle.record_failure("user:x")
    assert dict(AuthThrottle.objects.values_list("key", "failures")) == {"user:x": 2, "ip:1": 1}


def test_invalid_api_tokens_are_throttled_per_address(world: World) -> None:
    _, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    for _ in range(settings.DMC_AUTH_IP_MAX_FAILURES):
        bad = Client(HTTP_AUTHORIZATION="Bearer dmc_guess", REMOTE_ADDR="10.5.5.5")
        assert bad.get("/api/v1/me").status_code == 401
    good_same_ip = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.5.5.5")
    refused = good_same_ip.get("/api/v1/me")
    assert refused.status_code == 429
    assert refused.json()["code"] == "token_throttled"
    assert "โทเคน" in refused.json()["message"]
    good_other_ip = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.5.5.6")
    assert good_other_ip.get("/api/v1/me").status_code == 200


# --- password policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "thai"),
    [
        ("Short-1", "รหัสผ่านสั้นเกินไป ต้องมีอย่างน้อย 10 ตัวอักษร"),
        ("password123", "ใช้กันทั่วไป"),
        ("8472910365", "ต้องไม่เป็นตัวเลขทั้งหมด"),
        ("newteacher1", "คล้ายกับ"),
    ],
)
def test_password_policy_refuses_with_thai_messages(world: World, password: str, thai: str) -> None:
    with pytest.raises(DmcError) as exc:
        services.user_register(
            username="newteacher",
            password=password,
            first_name="ครู",
            last_name="ใหม่",
            email="t@example.org",
            role=Role.SCHOOL_OFFICER,
            school=world.school_a1,
        )
    assert exc.value.code == ErrorCode.VALIDATION
    assert any(thai in m for m in exc.value.fields["password"]), exc.value.fields


def test_password_policy_allows_a_good_password(world: World) -> None:
    assignment = services.user_register(
        username="newteacher",
        password="ฝนตกที่บ้านหนองบัว-2565",
        first_name="ครู",
        last_name="ใหม่",
        email="t@example.org",
        role=Role.SCHOOL_OFFICER,
        school=world.school_a1,
    )
    assert assignment.user.check_password("ฝนตกที่บ้านหนองบัว-2565")


def test_password_change_checks_the_old_one_and_the_policy(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    wrong = client.post(
        "/password/",
        {"old_password": "nope", "new_password": "x", "new_password_again": "x"},
    )
    assert wrong.status_code == 403
    assert "รหัสผ่านปัจจุบันไม่ถูกต้อง" in wrong.content.decode()
    weak = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password": "12345", "new_password_again": "12345"},
    )
    assert weak.status_code == 400
    assert "สั้นเกินไป" in weak.content.decode()
    world.users["officer_a1"].refresh_from_db()
    assert world.users["officer_a1"].check_password(PASSWORD)  # nothing changed


def test_password_change_keeps_this_session_and_ends_the_others(world: World) -> None:
    here, elsewhere = Client(), Client()
    login(here, world.users["officer_a1"])
    login(elsewhere, world.users["officer_a1"])
    key = here.session.session_key
    new = "ทะเลสาบหนองหาน-2565"
    done = here.post(
        "/password/", {"old_password": PASSWORD, "new_password": new, "new_password_again": new}
    )
    assert done.status_code == 200 and "เปลี่ยนรหัสผ่านเรียบร้อย" in done.content.decode()
    assert here.session.session_key != key  # rotated
    assert here.get("/").status_code == 200  # still logged in here
    assert elsewhere.get("/").status_code == 302  # logged out on the other device
    assert Client().post("/login/", {"username": "officer_a1", "password": new}).status_code == 302


# --- sessions ------------------------------------------------------------------------------------


def test_login_rotates_the_session_key(world: World) -> None:
    client = Client()
    client.get("/login/")
    session = client.session
    session["planted"] = "x"  # a session fixed before login (fixation)
    session.save()
    before = session.session_key
    login(client, world.users["officer_a1"])
    assert client.session.session_key != before
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = before
    assert replay.get("/").status_code == 302  # the planted id is not logged in


def test_role_switch_rotates_and_the_old_key_is_dead(world: World) -> None:
    user = world.users["officer_a1"]
    second = services.assignment_create_approved(
        actor=None, user=user, role=Role.SCHOOL_OFFICER, school=world.school_a2
    )
    client = Client()
    login(client, user)
    old = client.session.session_key
    client.post("/role/", {"assignment": second.pk})
    assert client.session.session_key != old
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old
    assert replay.get("/").status_code == 302


def test_logout_kills_the_session_server_side(world: World) -> None:
    client = Client()
    login(client, world.users["officer_a1"])
    stolen = client.session.session_key
    client.post("/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/me").status_code == 401


# --- step-up for certify -------------------------------------------------------------------------


@pytest.fixture
def confirmable(world: World) -> Round:
    """School a1 with two grade-05 students and rooms that match (nothing blocking)."""
    world.add_student(grade="05")
    world.add_student(grade="05")
    SchoolGrade.objects.filter(school=world.school_a1).exclude(grade="05").update(rooms=0)
    return Round.objects.get(academic_year__year=2564, number=3)


def _confirm(world: World, r: Round) -> None:
    with clock.frozen(r.confirm_opens_at + dt.timedelta(hours=1)):
        round_services.round_confirm(
            actor=world.actors["officer_a1"], school=world.school_a1, round_id=r.pk
        )


def test_web_certify_needs_the_password_again(world: World, confirmable: Round) -> None:
    _confirm(world, confirmable)
    at = confirmable.confirm_opens_at + dt.timedelta(hours=2)
    client = Client()
    login(client, world.users["director_a1"])
    url = f"/round/?round={confirmable.pk}"
    with clock.frozen(at):
        page = client.get(url).content.decode()
        assert 'name="password"' in page  # the form asks for it
        missing = client.post(url, {"action": "certify", "round": confirmable.pk})
        assert missing.status_code == 403
        assert "ต้องยืนยันตัวตนซ้ำ" in missing.content.decode()
        wrong = client.post(
            url, {"action": "certify", "round": confirmable.pk, "password": "not-it-at-all"}
        )
        assert wrong.status_code == 403
        assert "รหัสผ่านที่กรอกเพื่อยืนยันตัวตนไม่ถูกต้อง" in wrong.content.decode()
        assert confirmable.schools.get(school=world.school_a1).certified_at is None
        ok = client.post(url, {"action": "certify", "round": confirmable.pk, "password": PASSWORD})
        assert ok.status_code == 302
        assert confirmable.schools.get(school=world.school_a1).certified_at == at


def test_a_recent_step_up_lasts_n_minutes(world: World, confirmable: Round) -> None:
    at = confirmable.confirm_opens_at + dt.timedelta(hours=2)
    client = Client()
    login(client, world.users["director_a1"])
    url = f"/round/?round={confirmable.pk}"
    with clock.frozen(at):
        # stepping up while nothing is confirmed yet: refused for that, but the step-up counts
        early = client.post(
            url, {"action": "certify", "round": confirmable.pk, "password": PASSWORD}
        )
        assert early.status_code == 409
    _confirm(world, confirmable)
    minutes = settings.DMC_STEP_UP_MINUTES
    with clock.frozen(at + dt.timedelta(minutes=minutes, seconds=1)):
        stale = client.post(url, {"action": "certify", "round": confirmable.pk})
        assert stale.status_code == 403  # too old
    with clock.frozen(at + dt.timedelta(minutes=minutes - 1)):
        assert "ยืนยันตัวตนแล้ว" in client.get(url).content.decode()
        fresh = client.post(url, {"action": "certify", "round": confirmable.pk})
        assert fresh.status_code == 302


def test_api_certify_needs_the_password_in_the_body(world: World, confirmable: Round) -> None:
    _confirm(world, confirmable)
    _, secret = token_create(actor=world.actors["director_a1"], name="sis")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/rounds/{confirmable.pk}/schools/10010001/certify"
    with clock.frozen(confirmable.confirm_opens_at + dt.timedelta(hours=2)):
        missing = api.post(url)
        assert missing.status_code == 403 and missing.json()["code"] == "step_up_required"
        assert "password" in missing.json()["fields"]
        wrong = api.post(url, {"password": "nope-nope"}, content_type="application/json")
        assert wrong.status_code == 403 and wrong.json()["code"] == "step_up_failed"
        # a token has no session: the password is needed every time
        again = api.post(url, {}, content_type="application/json")
        assert again.json()["code"] == "step_up_required"
        ok = api.post(url, {"password": PASSWORD}, content_type="application/json")
        assert ok.status_code == 200 and ok.json()["state"] == "certified"


def test_wrong_step_up_passwords_count_as_failed_logins(world: World, confirmable: Round) -> None:
    _, secret = token_create(actor=world.actors["director_a1"], name="sis")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/rounds/{confirmable.pk}/schools/10010001/certify"
    for _ in range(settings.DMC_AUTH_USER_MAX_FAILURES):
        api.post(url, {"password": "guess-guess"}, content_type="application/json")
    locked = api.post(url, {"password": PASSWORD}, content_type="application/json")
    assert locked.status_code == 429 and locked.json()["code"] == "login_throttled"


# --- CSRF on every state change ------------------------------------------------------------------


def _csrf_enforcing_session(world: World, name: str) -> Client:
    """A client logged in (through the login page) that then enforces CSRF like a browser."""
    plain = Client()
    login(plain, world.users[name])
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.SESSION_COOKIE_NAME] = plain.cookies[settings.SESSION_COOKIE_NAME].value
    return client


def _walk(resolvers: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            out += _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            out.append((route, entry.callback))
    return out


def _concrete(route: str, world: World, enrolment_id: int) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"\(\?P<rest>[^)]*\)\)?", "x", route)
    values = {
        "int:enrolment_id": str(enrolment_id),
        "enrolment_id": str(enrolment_id),
        "str:smis_code": "10010001",
        "smis_code": "10010001",
        "str:code": "1001",
        "path:rest": "x",
    }
    route = re.sub(r"<([^>]+)>", lambda m: values.get(m.group(1), "1"), route)
    route = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), route)
    return "/" + route.replace("\\", "")


def test_every_state_change_without_a_csrf_token_is_refused(world: World) -> None:
    """Every URL the site routes (pages and every API operation), with every unsafe method, from
    a logged-in session without the CSRF token: 403 before any view or operation runs.

    Bearer-token API calls are exempt by design: a token is not sent by the browser on its own,
    so a third-party page cannot forge one (tested in test_token_calls_need_no_csrf_token)."""
    enrolment = world.add_student()
    client = _csrf_enforcing_session(world, "obec")
    assert client.get("/api/v1/me").status_code == 200  # really logged in
    routes = _walk(get_resolver().url_patterns)
    assert len(routes) > 60
    checked = 0
    for route, _callback in routes:
        url = _concrete(route, world, enrolment.pk)
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(url, {}, content_type="application/json")
            if response.status_code == 405:
                continue  # the route does not take this method at all
            assert response.status_code in (403, 404), (method, url, response.status_code)
            if response.status_code == 403:
                assert b"CSRF" in response.content, (method, url)  # refused for CSRF, not role
            else:
                # only the API's catch-all for unknown paths answers 404 here
                assert response.json()["code"] == "not_found", (method, url)
            checked += 1
    assert checked > 80, checked
    assert world.users["obec"].is_active  # nothing changed on the way


def test_api_operations_refuse_session_calls_without_csrf(world: World) -> None:
    """Each API operation with an unsafe method, by its own path: 403 "forbidden" (CSRF), never
    the operation's own answer."""
    from config.api import api

    client = _csrf_enforcing_session(world, "obec")
    schema = api.get_openapi_schema()
    count = 0
    for path, item in schema["paths"].items():
        for method in item:
            if method.upper() not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = getattr(client, method)(url, {}, content_type="application/json")
            assert response.status_code == 403, (method, url, response.content[:200])
            assert response.json() == {
                "code": "forbidden",
                "message": "CSRF check Failed",
                "fields": {},
            }
            count += 1
    assert count >= 20, count


def test_the_same_session_call_with_the_token_passes_csrf(world: World) -> None:
    client = _csrf_enforcing_session(world, "officer_a1")
    client.get("/")  # sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    created = client.post(
        "/api/v1/tokens", {"name": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert created.status_code == 201


def test_token_calls_need_no_csrf_token(world: World) -> None:
    _, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    api = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = api.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert created.status_code == 201


# --- headers and the CSP -------------------------------------------------------------------------

TEMPLATES = Path(settings.BASE_DIR) / "dmc" / "templates"


def test_pages_carry_the_csp_and_security_headers(world: World) -> None:
    for response in (Client().get("/login/"), Client().get("/api/v1/me")):
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
    client = Client()
    login(client, world.users["officer_a1"])
    assert client.get("/").headers["Cache-Control"] == "no-store, private"


def test_htmx_runs_without_eval_or_injected_styles(world: World) -> None:
    page = Client().get("/login/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert config is not None
    assert '"allowEval":false' in config.group(1)
    assert '"includeIndicatorStyles":false' in config.group(1)
    assert ".htmx-indicator" in (Path(settings.BASE_DIR) / "dmc/static/dmc/app.css").read_text()


def test_no_template_has_inline_script_style_or_handlers() -> None:
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+=", r"\sstyle=", r"<style"):
            if re.search(pattern, text):
                offenders.append((path.name, pattern))
    assert offenders == []


def test_api_docs_use_local_swagger_and_no_inline_script() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    body = response.content.decode()
    assert "cdn.jsdelivr" not in body
    assert "script-src 'self';" in response["Content-Security-Policy"]


def test_production_settings_harden_cookies_and_transport() -> None:
    import subprocess
    import sys

    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT, s.DEBUG, s.DMC_CLOCK_SETTABLE)"
    )
    env = {
        "DMC_ENV": "prod",
        "DMC_SECRET_KEY": "k" * 60,
        "DMC_ALLOWED_HOSTS": "dmc.example.go.th",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    ).stdout.split()
    assert out == ["True", "True", "31536000", "True", "False", "False"]


def test_api_tokens_are_stored_hashed_and_revocable(world: World) -> None:
    import hashlib

    from dmc.accounts.models import ApiToken

    token, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    row = ApiToken.objects.values().get(pk=token.pk)
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row)  # only the hash and a short prefix are kept
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/me").status_code == 200
    services.token_revoke(actor=world.actors["officer_a1"], token_id=token.pk)
    assert api.get("/api/v1/me").status_code == 401
