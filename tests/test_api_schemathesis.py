"""schemathesis over /api/v1/openapi.json (SPEC §11: "schemathesis finds no 5xx"), through its
pytest integration, in process against the Django WSGI app.

Every operation gets generated requests (schema-valid ones and, for the negative phase, invalid
ones) authenticated in turn as a school officer, a director, an area officer and OBEC; the
checks: no 5xx, every status code and response body the one documented in the schema, and
content types as documented. Each operation's examples run inside the test's transaction (rolled
back afterwards). Bounded: DMC_SCHEMATHESIS_EXAMPLES (default 12) per operation, derandomised.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from config.wsgi import application
from dmc.accounts.services import token_create
from tests.conftest import World

EXAMPLES = int(os.environ.get("DMC_SCHEMATHESIS_EXAMPLES", "12"))
ROLES = ("officer_a1", "director_a1", "area_a", "obec")

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def _checks(*names: str) -> list[Any]:
    wanted = {c.__name__: c for c in CHECKS.get_all()}
    return [wanted[n] for n in names]


#: what must hold for every response (the business refusals — 400/403/404/409 — of a request that
#: is valid by the schema are legitimate, so "positive data acceptance" is not one of them)
CHECKED = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture
def tokens(world: World) -> Iterator[dict[str, str]]:
    for school in (world.school_a1, world.school_a1, world.school_a2, world.school_b1):
        world.add_student(school)
    # the WSGI app is called directly: keep the request signals from closing the test's
    # connection (what django.test.Client does around each request)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {name: token_create(actor=world.actors[name], name="st")[1] for name in ROLES}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


_turn = {"n": 0}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, tokens: dict[str, str]) -> None:
    _turn["n"] += 1
    role = ROLES[_turn["n"] % len(ROLES)]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {tokens[role]}"}, checks=_checks(*CHECKED)
    )
