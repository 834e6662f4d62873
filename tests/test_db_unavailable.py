"""The database unreachable: a fast 503 with Retry-After (Thai page on the web, the JSON error
shape with ``db_unavailable`` on the API) instead of a 500, wherever the error is raised (a view,
a service, the session/role lookup in a middleware). The real outage — a private PostgreSQL
cluster stopped and started again — is in tests/faults/test_db_outage.py."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from dmc.accounts.services import token_create
from tests.conftest import World, login


def _api(world: World) -> Client:
    _, secret = token_create(actor=world.actors["officer_a1"], name="x")
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {secret}")


def _web(world: World) -> Client:
    client = Client(raise_request_exception=False)
    login(client, world.users["officer_a1"])
    return client


def _assert_web_503(response: Any, language: str = "th") -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    if language == "th":
        assert "ระบบฐานข้อมูลไม่พร้อมให้บริการชั่วคราว" in html
    else:
        assert "The database is temporarily unavailable" in html
    assert "db_unavailable" in html


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_web_view_gets_a_thai_503(world: World, error: type[Exception]) -> None:
    client = _web(world)
    with mock.patch(
        "dmc.students.selectors.enrolment_list", side_effect=error("connection refused")
    ):
        response = client.get("/schools/10010001/students/")
    _assert_web_503(response)


def test_web_503_in_english_after_the_switch(world: World) -> None:
    client = _web(world)
    client.cookies["dmc_lang"] = "en"
    with mock.patch("dmc.students.selectors.enrolment_list", side_effect=OperationalError("x")):
        _assert_web_503(client.get("/schools/10010001/students/"), "en")


def test_error_in_a_middleware_is_a_503_too(world: World) -> None:
    """The session/role lookup runs before any view (ActorMiddleware)."""
    client = _web(world)
    with mock.patch(
        "dmc.accounts.middleware.RoleAssignment.objects.select_related",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = client.get("/")
    _assert_web_503(response)


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_gets_the_json_error_shape(world: World, error: type[Exception]) -> None:
    client = _api(world)
    with mock.patch("dmc.schools.selectors.school_list", side_effect=error("refused")):
        response = client.get("/api/v1/schools", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "db_unavailable"
    assert body["message"].startswith("The database is temporarily unavailable")


def test_api_auth_lookup_failing_is_a_503(world: World) -> None:
    client = _api(world)
    with mock.patch(
        "config.api.token_authenticate", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/api/v1/me")
    assert response.status_code == 503
    assert response.json()["code"] == "db_unavailable"


def test_other_errors_are_not_disguised_as_503(world: World) -> None:
    client = _web(world)
    with mock.patch("dmc.students.selectors.enrolment_list", side_effect=RuntimeError("bug")):
        response = client.get("/schools/10010001/students/")
    assert response.status_code == 500


def test_postgres_connections_fail_fast_and_are_health_checked() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("PostgreSQL settings only")
    assert db["OPTIONS"]["connect_timeout"] <= 5
    assert db["CONN_HEALTH_CHECKS"] is True
