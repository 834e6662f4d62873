"""The authorization matrix (SPEC §11, perf-security §7.5 items 1–2, ASVS 5.0 V8): every web URL
pattern and every API operation × every role × ownership of the object it names, against an
explicit table of expected outcomes.

Roles: ``officer`` (school officer of a1), ``director`` (director of a1), ``area`` (area officer
of area A), ``obec``, ``anon`` (no session / no token) and ``pending`` (a logged-in user whose only
role assignment is still waiting for approval; its API token belongs to that assignment).
Ownership: the object the request names belongs to ``own`` (school a1, area A), ``sibling``
(school a2, same area A) or ``other`` (school b1, area B). Endpoints that name no object are
asserted once (column ``-``).

Outcomes: ``ok`` (2xx/3xx not to the login or role page; business refusals with their own status
such as ``400``/``409`` are written as that number), ``403``, ``404``, ``405``, ``login`` (web:
302 to the login page), ``role`` (web: 302 to the role picker), ``401`` (API).

Every request runs with a fresh client inside a rolled-back transaction, so cells do not change
each other's world. Besides the status, every response is checked for leaks: it may not contain
the name or citizen ID of a student of a school outside the caller's scope.

A URL pattern or API operation missing from the table fails ``test_table_lists_every_endpoint``:
a new endpoint must be added here with its decided outcomes.

``DMC_MATRIX_PRINT=1`` prints the observed table (to review a new endpoint's row).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from config.api import api
from dmc.accounts.middleware import SESSION_KEY
from dmc.accounts.models import ApiToken, Role, RoleAssignment, User
from dmc.accounts.services import token_create, user_register
from dmc.cases import services as cases
from dmc.core import clock
from dmc.core.models import AuditEvent
from dmc.exchange import importer
from dmc.rounds import selectors as round_selectors
from dmc.rounds.models import ReopenRequest
from dmc.schools.models import School
from tests.conftest import World, make_citizen_id

ROLES = ("officer", "director", "area", "obec", "anon", "pending")
OWNERSHIP = ("own", "sibling", "other")
SCHOOL_KEY = {"own": "a1", "sibling": "a2", "other": "b1"}
ACTOR_NAME = {"officer": "officer_a1", "director": "director_a1", "area": "area_a", "obec": "obec"}
#: which schools each role may see (the leak check)
SCOPE = {
    "officer": {"a1"},
    "director": {"a1"},
    "area": {"a1", "a2"},
    "obec": {"a1", "a2", "b1"},
    "anon": set(),
    "pending": set(),
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40

# --- the table -----------------------------------------------------------------------------------
# key: "METHOD route" (web: the resolver's route; API: the OpenAPI path). value: (request, outcomes)
# request: (url template, form/JSON body template or None); placeholders {smis} {area} {enrolment}
# {case} {attachment} {upload} {round} {token} {request} {assignment} are filled per ownership.
# outcomes: role -> "x" for every ownership, or "own sibling other".

Cell = dict[str, str]
W: dict[str, tuple[tuple[str, Any], Cell]] = {}  # web
A: dict[str, tuple[tuple[str, Any], Cell]] = {}  # API

ANON_WEB = {"anon": "login", "pending": "role"}
ANON_API = {"anon": "401", "pending": "401"}


def web(key: str, url: str, data: Any = None, **cells: str) -> None:
    W[key] = ((url, data), {**ANON_WEB, **cells})


def api_op(key: str, url: str, data: Any = None, **cells: str) -> None:
    A[key] = ((url, data), {**ANON_API, **cells})


ALL_OK = {"officer": "ok", "director": "ok", "area": "ok", "obec": "ok"}
SCHOOL_READ = {  # a school's own staff, its area, OBEC
    "officer": "ok 404 404",
    "director": "ok 404 404",
    "area": "ok ok 404",
    "obec": "ok",
}
SCHOOL_READ_403 = {
    "officer": "ok 403 403",
    "director": "ok 403 403",
    "area": "ok ok 403",
    "obec": "ok",
}

# web pages
web("GET ", "/", officer="ok", director="ok", area="ok", obec="ok")
web(
    "GET login/",
    "/login/",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
    anon="ok",
    pending="ok",
)
web(
    "POST logout/",
    "/logout/",
    {},
    officer="login",
    director="login",
    area="login",
    obec="login",
    pending="login",
)
web("GET role/", "/role/", officer="ok", director="ok", area="ok", obec="ok", pending="ok")
web(
    "GET register/",
    "/register/",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
    anon="ok",
    pending="ok",
)
web("GET approvals/", "/approvals/", officer="403", director="403", area="ok", obec="ok")
web(
    "POST approvals/",
    "/approvals/",
    {"assignment": "{assignment}", "decision": "reject"},
    officer="403",
    director="403",
    area="ok ok 404",
    obec="404",
)
web(
    "POST lang/",
    "/lang/",
    {"lang": "en"},
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
    anon="ok",
    pending="ok",
)
web(
    "GET areas/<str:code>/schools/",
    "/areas/{area}/schools/",
    officer="ok ok 403",
    director="ok ok 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/students/",
    "/schools/{smis}/students/",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET students/<int:enrolment_id>/",
    "/students/{enrolment}/",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
web(
    "POST students/<int:enrolment_id>/",
    "/students/{enrolment}/",
    {
        "person_version": "1",
        "enrolment_version": "1",
        "first_name": "แก้ชื่อ",
        "last_name": "x",
        "title_code": "001",
        "sex": "M",
        "birth_date": "01/06/2556",
    },
    officer="400 404 404",
    director="403 404 404",
    area="noop noop 404",  # the PDPA purpose page first; nothing is written
    obec="noop",
)
web("GET students/add/", "/students/add/", officer="ok", director="403", area="403", obec="403")
web(
    "POST students/add/",
    "/students/add/",
    {"first_name": "x"},
    officer="400",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET students/transfer-in/",
    "/students/transfer-in/",
    officer="ok",
    director="403",
    area="403",
    obec="403",
)
web(
    "POST students/transfer-in/",
    "/students/transfer-in/",
    {"person_id": "{person_id}"},
    officer="409",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET students/<int:enrolment_id>/action/",
    "/students/{enrolment}/action/",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
web(
    "POST students/<int:enrolment_id>/action/",
    "/students/{enrolment}/action/",
    {"action": "tracked", "tracked": "1", "note": "x"},
    officer="ok 404 404",
    director="noop 404 404",
    area="noop noop 404",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/students/bulk/",
    "/schools/{smis}/students/bulk/",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "POST schools/<str:smis_code>/students/bulk/",
    "/schools/{smis}/students/bulk/",
    {"action": "room", "room": "2", "ids": "{enrolment}"},
    officer="ok 403 403",
    director="noop 403 403",
    area="noop noop 403",
    obec="ok",
)
web("GET cases/", "/cases/", officer="ok", director="ok", area="ok", obec="ok")
web(
    "GET cases/<int:case_id>/",
    "/cases/{case}/",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
web(
    "POST cases/<int:case_id>/",
    "/cases/{case}/",
    {"action": "comment", "note": "ความเห็น"},
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
web(
    "GET cases/<int:case_id>/evidence/<int:attachment_id>/",
    "/cases/{case}/evidence/{attachment}/",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
web("GET demo/clock/", "/demo/clock/", officer="ok", director="ok", area="ok", obec="ok")
web("GET round/", "/round/?school={smis}", officer="ok", director="ok", area="ok ok 403", obec="ok")
web(
    "POST round/",
    "/round/?school={smis}",
    {"action": "confirm"},
    officer="409",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET school/grades/",
    "/school/grades/?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "POST school/grades/",
    "/school/grades/?school={smis}",
    {"rooms_05": "2"},
    officer="ok",
    director="403",
    area="403",
    obec="ok",
)
web(
    "GET students/<int:enrolment_id>/explain/",
    "/students/{enrolment}/explain/",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
)
web(
    "POST students/<int:enrolment_id>/explain/",
    "/students/{enrolment}/explain/",
    {"check": "weight_low", "note": "x"},
    officer="noop",
    director="noop",
    area="noop",
    obec="noop",
)
web(
    "GET area/round/",
    "/area/round/?area={area}",
    officer="403",
    director="403",
    area="ok",
    obec="ok",
)
web(
    "POST area/round/",
    "/area/round/?area={area}",
    {"action": "ack", "school": "{smis}"},
    officer="403",
    director="403",
    area="409 409 404",
    obec="403",
)
web("GET obec/rounds/", "/obec/rounds/", officer="403", director="403", area="403", obec="ok")
web(
    "POST obec/rounds/",
    "/obec/rounds/",
    {"action": "close", "round": "{round}"},
    officer="403",
    director="403",
    area="403",
    obec="409",
)
web(
    "GET obec/rounds/<int:round_id>/",
    "/obec/rounds/{round}/",
    officer="403",
    director="403",
    area="403",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/students.csv",
    "/schools/{smis}/students.csv?purpose=audit",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/students.xlsx",
    "/schools/{smis}/students.xlsx?purpose=audit",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/template.xlsx",
    "/schools/{smis}/template.xlsx",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET schools/<str:smis_code>/totals.xlsx",
    "/schools/{smis}/totals.xlsx",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
web("GET imports/", "/imports/", officer="ok", director="403", area="403", obec="403")
web("POST imports/", "/imports/", {}, officer="400", director="403", area="403", obec="403")
web(
    "GET imports/<str:upload_id>/",
    "/imports/{upload}/",
    officer="ok 404 404",
    director="403",
    area="403",
    obec="403",
)
web(
    "POST imports/<str:upload_id>/commit/",
    "/imports/{upload}/commit/",
    {},
    officer="noop 404 404",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET imports/jobs/<int:job_id>/",
    "/imports/jobs/999999/",
    officer="404",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET imports/<str:upload_id>/result/",
    "/imports/{upload}/result/",
    officer="ok 404 404",
    director="403",
    area="403",
    obec="403",
)
web(
    "GET imports/<str:upload_id>/quarantine.xlsx",
    "/imports/{upload}/quarantine.xlsx",
    officer="ok 404 404",
    director="403",
    area="403",
    obec="403",
)
# issue 5: end of year and rollover
web(
    "GET yearend/",
    "/yearend/?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET yearend/results.xlsx",
    "/yearend/results.xlsx?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET yearend/import/",
    "/yearend/import/?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "POST yearend/import/",
    "/yearend/import/?school={smis}",
    {"mode": "check"},
    officer="400",
    director="403",
    area="403",
    obec="400",
)
web(
    "GET yearend/learning/",
    "/yearend/learning/?area={area}&school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET yearend/rollover/",
    "/yearend/rollover/",
    officer="403",
    director="403",
    area="ok",
    obec="ok",
)
web(
    "POST yearend/rollover/",
    "/yearend/rollover/",
    {"action": "start", "year": "2564"},
    officer="403",
    director="403",
    area="403",
    obec="409",
)
web(
    "GET yearend/<str:menu>/",
    "/yearend/3.2.2/?school={smis}&grade=05",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "POST yearend/<str:menu>/",
    "/yearend/3.2.2/?school={smis}&grade=05",
    {"ids": "{enrolment}", "result_{enrolment}": "pass"},
    officer="noop",
    director="403",
    area="noop noop 403",
    obec="noop",
)
# issue 9 (security): password change, the PDPA purpose form, a student's data access report
# a logged-in user changes their own password even before any role is approved
web("GET password/", "/password/", officer="ok", director="ok", area="ok", obec="ok",
    pending="ok")  # fmt: skip
web("POST password/", "/password/", {"old_password": "x"}, officer="400", director="400",
    area="400", obec="400", pending="400")  # fmt: skip
web("GET privacy/purpose/", "/privacy/purpose/?school={smis}", officer="ok 403 403",
    director="ok 403 403", area="ok ok 403", obec="ok")  # fmt: skip
web("POST privacy/purpose/", "/privacy/purpose/?school={smis}", {"code": "01"},
    officer="noop 403 403", director="noop 403 403", area="noop noop 403", obec="noop")  # fmt: skip
web("GET students/<int:enrolment_id>/access/", "/students/{enrolment}/access/?purpose_code=01",
    officer="ok 404 404", director="ok 404 404", area="ok ok 404", obec="ok")  # fmt: skip
# issue 7: nutrition, per-head budget, the certificate
web(
    "GET nutrition/",
    "/nutrition/?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET nutrition/table.xlsx",
    "/nutrition/table.xlsx?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET budget/",
    "/budget/?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET budget/table.xlsx",
    "/budget/table.xlsx?school={smis}",
    officer="ok",
    director="ok",
    area="ok ok 403",
    obec="ok",
)
web(
    "GET round/certificate.pdf",
    "/round/certificate.pdf?school={smis}",
    officer="409",
    director="409",
    area="409 409 403",
    obec="409",
)
# the API's mount points (the operations themselves are in A)
web(
    "GET api/v1/",
    "/api/v1/openapi.json",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
    anon="ok",
    pending="ok",
)
web(
    "GET api/v1/<path:rest>",
    "/api/v1/no-such",
    officer="404",
    director="404",
    area="404",
    obec="404",
    anon="404",
    pending="404",
)
web(
    "GET ^api/v1/(?P<rest>(?s:.*))\\Z",
    "/api/v1/%0A",
    officer="404",
    director="404",
    area="404",
    obec="404",
    anon="404",
    pending="404",
)

# API operations
api_op("GET /api/v1/me", "/api/v1/me", officer="ok", director="ok", area="ok", obec="ok")
api_op("GET /api/v1/tokens", "/api/v1/tokens", officer="ok", director="ok", area="ok", obec="ok")
api_op(
    "POST /api/v1/tokens",
    "/api/v1/tokens",
    {"name": "x"},
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
)
api_op(
    "DELETE /api/v1/tokens/{token_id}",
    "/api/v1/tokens/{token}",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok 404 404",
    obec="ok 404 404",
)
api_op("GET /api/v1/schools", "/api/v1/schools", officer="ok", director="ok", area="ok", obec="ok")
api_op(
    "GET /api/v1/schools/{smis_code}",
    "/api/v1/schools/{smis}",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/schools/{smis_code}/students",
    "/api/v1/schools/{smis}/students?purpose_code=01",  # PDPA: area/OBEC state a purpose
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/students/{enrolment_id}",
    "/api/v1/students/{enrolment}?purpose_code=01",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
api_op(
    "PATCH /api/v1/students/{enrolment_id}",
    "/api/v1/students/{enrolment}",
    {"person_version": 1, "enrolment_version": 1, "changes": {"weight_kg": "31"}},
    officer="ok 404 404",
    director="403",
    area="403",
    obec="ok",
)
api_op(
    "POST /api/v1/students",
    "/api/v1/students",
    {
        "school_code": "{smis}",
        "person_id": "{new_person_id}",
        "title_code": "001",
        "first_name": "ใหม่",
        "last_name": "มาก",
        "sex": "M",
        "birth_date": "01/06/2556",
        "grade": "05",
        "room": 1,
        "student_no": "77777",
        "sat_exam_here": True,
    },
    officer="ok 403 403",
    director="403",
    area="403",
    obec="ok",
)
api_op(
    "POST /api/v1/students/transfer-in",
    "/api/v1/students/transfer-in",
    {
        "school_code": "{smis}",
        "person_id": "{person_id}",
        "grade": "05",
        "room": 1,
        "student_no": "77778",
        "sat_exam_here": True,
    },
    officer="409 403 403",
    director="403",
    area="403",
    obec="409",
)
api_op(
    "POST /api/v1/students/{enrolment_id}/transfer-out",
    "/api/v1/students/{enrolment}/transfer-out",
    {"left_on": "01/04/2565"},
    officer="409 404 404",
    director="403",
    area="403",
    obec="409",
)
api_op(
    "POST /api/v1/students/{enrolment_id}/withdraw",
    "/api/v1/students/{enrolment}/withdraw",
    {"left_on": "01/04/2565", "reason": "03"},
    officer="409 404 404",
    director="403",
    area="403",
    obec="409",
)
api_op(
    "POST /api/v1/students/{enrolment_id}/tracked",
    "/api/v1/students/{enrolment}/tracked",
    {"tracked": True, "note": "x"},
    officer="ok 404 404",
    director="403",
    area="403",
    obec="ok",
)
api_op(
    "POST /api/v1/students/{enrolment_id}/grade",
    "/api/v1/students/{enrolment}/grade",
    {"grade": "05", "room": 2, "reason": "x"},
    officer="ok 404 404",
    director="403",
    area="403",
    obec="ok",
)
api_op(
    "POST /api/v1/students/{enrolment_id}/cases/{kind}",
    "/api/v1/students/{enrolment}/cases/gcode",
    {"reason": "x"},
    officer="400 404 404",
    director="403",
    area="403",
    obec="403",
)
api_op("GET /api/v1/rounds", "/api/v1/rounds", officer="ok", director="ok", area="ok", obec="ok")
api_op(
    "PUT /api/v1/rounds/{round_id}/windows",
    "/api/v1/rounds/{round}/windows",
    {"version": 1},
    officer="403",
    director="403",
    area="403",
    obec="ok",
)
api_op(
    "POST /api/v1/rounds/{round_id}/close",
    "/api/v1/rounds/{round}/close",
    None,
    officer="403",
    director="403",
    area="403",
    obec="409",
)
api_op(
    "GET /api/v1/rounds/{round_id}/schools/{smis_code}",
    "/api/v1/rounds/{round}/schools/{smis}",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "POST /api/v1/rounds/{round_id}/schools/{smis_code}/confirm",
    "/api/v1/rounds/{round}/schools/{smis}/confirm",
    None,
    officer="409 403 403",
    director="403",
    area="403",
    obec="403",
)
api_op(
    "POST /api/v1/rounds/{round_id}/schools/{smis_code}/certify",
    "/api/v1/rounds/{round}/schools/{smis}/certify",
    None,
    officer="403",
    director="403",  # own school too: step-up re-authentication comes first (issue 9)
    area="403",
    obec="403",
)
api_op(
    "POST /api/v1/rounds/{round_id}/schools/{smis_code}/cancel",
    "/api/v1/rounds/{round}/schools/{smis}/cancel",
    {"reason": "x"},
    officer="409 403 403",
    director="409 403 403",
    area="403",
    obec="409",
)
api_op(
    "POST /api/v1/rounds/{round_id}/schools/{smis_code}/acknowledge",
    "/api/v1/rounds/{round}/schools/{smis}/acknowledge",
    None,
    officer="403",
    director="403",
    area="409 409 403",
    obec="403",
)
api_op(
    "GET /api/v1/rounds/{round_id}/areas/{area_code}",
    "/api/v1/rounds/{round}/areas/{area}",
    officer="ok ok 403",
    director="ok ok 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "POST /api/v1/rounds/{round_id}/acknowledge-clean",
    "/api/v1/rounds/{round}/acknowledge-clean",
    None,
    officer="403",
    director="403",
    area="noop",
    obec="403",
)
api_op(
    "POST /api/v1/rounds/queries/{enrolment_id}",
    "/api/v1/rounds/queries/{enrolment}",
    {"check": "weight_low", "note": "x"},
    officer="400 404 404",
    director="403",
    area="403",
    obec="403",
)
api_op(
    "POST /api/v1/rounds/{round_id}/schools/{smis_code}/reopen-requests",
    "/api/v1/rounds/{round}/schools/{smis}/reopen-requests",
    {"reason": "x"},
    officer="409 403 403",
    director="409 403 403",
    area="403",
    obec="403",
)
api_op(
    "POST /api/v1/rounds/reopen-requests/{request_id}/decision",
    "/api/v1/rounds/reopen-requests/{request}/decision",
    {"approve": False, "note": "x"},
    officer="403",
    director="403",
    area="ok ok 404",
    obec="403",
)
api_op("GET /api/v1/cases", "/api/v1/cases", officer="ok", director="ok", area="ok", obec="ok")
api_op(
    "GET /api/v1/cases/{case_id}",
    "/api/v1/cases/{case}",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
api_op(
    "POST /api/v1/cases/{case_id}/forward",
    "/api/v1/cases/{case}/forward",
    {"note": "x"},
    officer="403",
    director="403",
    area="ok ok 404",
    obec="403",
)
api_op(
    "POST /api/v1/cases/{case_id}/decision",
    "/api/v1/cases/{case}/decision",
    {"approve": False, "note": "x"},
    officer="403 404 404",
    director="403 404 404",
    area="403 403 404",
    obec="409",
)
api_op(
    "POST /api/v1/cases/{case_id}/comments",
    "/api/v1/cases/{case}/comments",
    {"text": "ความเห็น"},
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
api_op(
    "POST /api/v1/cases/{case_id}/attachments",
    "/api/v1/cases/{case}/attachments",
    "FILE",
    officer="ok 404 404",
    director="ok 404 404",
    area="ok ok 404",
    obec="ok",
)
api_op(
    "GET /api/v1/schools/{smis_code}/students.csv",
    "/api/v1/schools/{smis}/students.csv?purpose=audit",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/schools/{smis_code}/students.xlsx",
    "/api/v1/schools/{smis}/students.xlsx?purpose=audit",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/schools/{smis_code}/template.xlsx",
    "/api/v1/schools/{smis}/template.xlsx",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/public/stats",
    "/api/v1/public/stats?area={area}&year=2564&round=3",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
    anon="ok",
    pending="ok",
)
api_op(
    "POST /api/v1/imports",
    "/api/v1/imports?school={smis}",
    "IMPORT",
    officer="noop 403 403",
    director="403",
    area="403",
    obec="noop",
)
api_op("GET /api/v1/imports/{job_id}", "/api/v1/imports/999999",
       officer="404", director="404", area="404", obec="404")  # fmt: skip
api_op(
    "GET /api/v1/imports/{import_id}/quarantine.xlsx",
    "/api/v1/imports/{upload}/quarantine.xlsx",
    officer="ok 404 404",
    director="404",
    area="404",
    obec="404",
)


# issue 5: end of year and rollover
api_op(
    "GET /api/v1/yearend/schools/{smis_code}/steps",
    "/api/v1/yearend/schools/{smis}/steps",
    **SCHOOL_READ_403,
)
api_op(
    "GET /api/v1/yearend/schools/{smis_code}/students",
    "/api/v1/yearend/schools/{smis}/students?menu=3.2.2&grade=05",
    **SCHOOL_READ_403,
)
api_op(
    "POST /api/v1/yearend/schools/{smis_code}/steps/{menu}",
    "/api/v1/yearend/schools/{smis}/steps/3.2.2",
    {"entries": [{"id": "{enrolment}", "result": "pass", "years_studied": 1}]},
    officer="noop 403 403",
    director="403",
    area="403",
    obec="noop",
)
api_op(
    "GET /api/v1/yearend/learning",
    "/api/v1/yearend/learning?year=2564&area={area}&school={smis}",
    officer="ok 403 404",
    director="ok 403 404",
    area="ok ok 404",
    obec="ok",
)
api_op("GET /api/v1/rollover/{year}/plan", "/api/v1/rollover/2564/plan", **ALL_OK)
api_op(
    "GET /api/v1/rollover/{year}",
    "/api/v1/rollover/2564",
    officer="404",
    director="404",
    area="404",
    obec="404",
)
api_op(
    "POST /api/v1/rollover/{year}",
    "/api/v1/rollover/2564",
    officer="403",
    director="403",
    area="403",
    obec="409",
)

# issue 9 (security): what we hold on a student and who saw it
api_op("GET /api/v1/students/{enrolment_id}/access-report",
       "/api/v1/students/{enrolment}/access-report?purpose_code=01", **SCHOOL_READ)  # fmt: skip

# issue 7: nutrition, per-head budget
api_op(
    "GET /api/v1/budget/rounds/{round_id}/areas/{area_code}",
    "/api/v1/budget/rounds/{round}/areas/{area}",
    officer="403",
    director="403",
    area="409 409 403",
    obec="409",
)
api_op(
    "GET /api/v1/budget/rounds/{round_id}/nation",
    "/api/v1/budget/rounds/{round}/nation",
    officer="403",
    director="403",
    area="403",
    obec="409",
)
api_op(
    "GET /api/v1/budget/rounds/{round_id}/schools/{smis_code}",
    "/api/v1/budget/rounds/{round}/schools/{smis}",
    officer="409 403 403",
    director="409 403 403",
    area="409 409 403",
    obec="409",
)
api_op(
    "GET /api/v1/nutrition/references",
    "/api/v1/nutrition/references",
    officer="ok",
    director="ok",
    area="ok",
    obec="ok",
)
api_op(
    "GET /api/v1/nutrition/rounds/{round_id}/areas/{area_code}",
    "/api/v1/nutrition/rounds/{round}/areas/{area}",
    officer="403",
    director="403",
    area="ok ok 403",
    obec="ok",
)
api_op(
    "GET /api/v1/nutrition/rounds/{round_id}/schools/{smis_code}",
    "/api/v1/nutrition/rounds/{round}/schools/{smis}",
    officer="ok 403 403",
    director="ok 403 403",
    area="ok ok 403",
    obec="ok",
)

#: the one deliberate disclosure across schools: transfer-in by citizen ID shows the person found
#: (name, school) so the officer can check it is the right child; the caller already holds the
#: 13-digit ID, and nothing else of the record is shown (SPEC §8 ย้ายเข้า)
DISCLOSES = {"POST students/transfer-in/"}

#: writes that are not audited (they change no record): session, language, tokens
NO_AUDIT = {"POST logout/", "POST lang/"}

# issue 7: reports (totals, drill-down, progress, summary, background jobs). Areas see the national
# table (other areas' small cells suppressed) but drill only into their own schools.
STAFF_403 = {"officer": "403", "director": "403", "area": "ok", "obec": "ok"}
AREA_ONLY = {"officer": "403", "director": "403", "area": "ok ok 403", "obec": "ok"}
NO_JOB = {"officer": "404", "director": "404", "area": "404", "obec": "404"}
web("GET reports/", "/reports/", **ALL_OK)
web("GET reports/nation/", "/reports/nation/", **STAFF_403)
web("GET reports/nation/cell/", "/reports/nation/cell/?grade=05&sex=M",
    officer="403", director="403", area="403", obec="ok")  # fmt: skip
web("GET reports/areas/<str:code>/", "/reports/areas/{area}/", **AREA_ONLY)
web("GET reports/areas/<str:code>/cell/", "/reports/areas/{area}/cell/?grade=05&sex=M", **AREA_ONLY)
web("GET reports/schools/<str:smis_code>/", "/reports/schools/{smis}/", **SCHOOL_READ_403)
web("GET reports/schools/<str:smis_code>/students/",
    "/reports/schools/{smis}/students/?grade=05&sex=M&purpose_code=01",
    **SCHOOL_READ_403)  # fmt: skip
web("GET reports/progress/", "/reports/progress/?round={round}", **STAFF_403)
web("GET reports/summary/", "/reports/summary/", **ALL_OK)
web("POST reports/jobs/", "/reports/jobs/", {"year": "2564"}, **STAFF_403)
web("GET reports/jobs/<int:job_id>/", "/reports/jobs/999999/", **NO_JOB)
web("GET reports/jobs/<int:job_id>/download/", "/reports/jobs/999999/download/", **NO_JOB)
api_op("GET /api/v1/reports/totals/nation", "/api/v1/reports/totals/nation", **STAFF_403)
api_op("GET /api/v1/reports/totals/areas/{code}",
       "/api/v1/reports/totals/areas/{area}", **AREA_ONLY)  # fmt: skip
api_op("GET /api/v1/reports/totals/schools/{smis_code}",
       "/api/v1/reports/totals/schools/{smis}", **SCHOOL_READ_403)  # fmt: skip
api_op("GET /api/v1/reports/students/{smis_code}",
       "/api/v1/reports/students/{smis}?grade=05&sex=M&purpose_code=01",
       **SCHOOL_READ_403)  # fmt: skip
api_op("GET /api/v1/reports/progress/{round_id}", "/api/v1/reports/progress/{round}", **STAFF_403)
api_op("POST /api/v1/reports/jobs", "/api/v1/reports/jobs", {"year": 2564}, **STAFF_403)
api_op("GET /api/v1/reports/jobs/{job_id}", "/api/v1/reports/jobs/999999", **NO_JOB)
api_op("GET /api/v1/reports/jobs/{job_id}/file", "/api/v1/reports/jobs/999999/file", **NO_JOB)

# --- enumerating the endpoints -------------------------------------------------------------------


def web_routes() -> set[str]:
    """Every URL pattern of the site (the API's operations come from its schema)."""
    out: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                if route == "api/v1/":
                    out.add(prefix + route)
                    continue
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                out.add(prefix + route)

    walk(get_resolver().url_patterns, "")
    return out


def api_operations() -> set[str]:
    doc = api.get_openapi_schema(path_prefix="/api/v1/")
    return {f"{m.upper()} {path}" for path, ops in doc["paths"].items() for m in ops}


def test_table_lists_every_endpoint() -> None:
    table_routes = {key.split(" ", 1)[1] for key in W}
    assert web_routes() - table_routes == set(), "web URL patterns missing from the matrix"
    assert table_routes - web_routes() == set(), "matrix lists web routes that no longer exist"
    assert api_operations() - set(A) == set(), "API operations missing from the matrix"
    assert set(A) - api_operations() == set(), "matrix lists API operations that no longer exist"


def test_every_cell_is_decided() -> None:
    for key, (_, cells) in {**W, **A}.items():
        assert set(cells) == set(ROLES), key
        for role, spec in cells.items():
            assert len(spec.split()) in (1, 3), (key, role, spec)


# --- the world -----------------------------------------------------------------------------------


@dataclass
class Objects:
    world: World
    values: dict[str, dict[str, str]]  # ownership -> placeholder -> value
    secrets: dict[str, str]  # role -> API token secret
    tokens: dict[str, int]  # role -> own token id
    pending: User
    pending_assignment: RoleAssignment
    leaks: dict[str, list[str]]  # school key -> strings that must not leak
    files: dict[str, bytes]  # ownership -> the school's student list as CSV


@pytest.fixture
def objects(world: World, settings: Any, tmp_path: Any) -> Objects:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    schools = {"a1": world.school_a1, "a2": world.school_a2, "b1": world.school_b1}
    officers = {"a1": "officer_a1", "a2": "officer_a2", "b1": "officer_b1"}
    names = {"a1": "ลับเฉพาะเอหนึ่ง", "a2": "ลับเฉพาะเอสอง", "b1": "ลับเฉพาะบีหนึ่ง"}
    now_year = round_selectors.current_year(clock.now())
    r = round_selectors.current_round(now_year or 0, clock.now())
    assert r is not None
    values: dict[str, dict[str, str]] = {}
    leaks: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for n, (key, school) in enumerate(schools.items()):
        person_id = make_citizen_id(6_100_000 + n)
        e = world.add_student(
            school, first_name=names[key], last_name="นามสกุลลับ" + key, person_id=person_id
        )
        officer = world.actors[officers[key]]
        case = cases.id_correction_open(
            actor=officer, enrolment_id=e.pk, new_id=make_citizen_id(6_200_000 + n), reason="x"
        )
        attachment = cases.attachment_add(
            actor=officer, case_id=case.pk, filename="scan.png", content=PNG
        )
        from dmc.exchange import export

        csv = b"".join(
            export.csv_chunks(export.students_export(actor=officer, smis_code=school.smis_code))
        )
        files[{"a1": "own", "a2": "sibling", "b1": "other"}[key]] = csv
        upload = importer.upload_store(
            actor=officer,
            school=school,
            year=2564,
            chunks=[csv],
            filename="list.csv",
            options=importer.Options(dry_run=True),
        )
        upload.save("preview", _empty_result(officer, school, upload))
        request = ReopenRequest.objects.create(
            school=school, round=r, reason="x", requested_by=officer.user, requested_at=clock.now()
        )
        assignment = user_register(
            username=f"pending_{key}",
            password="a-long-passphrase-2564",
            first_name="รอ",
            last_name="อนุมัติ",
            email=f"p{key}@example.go.th",
            role=Role.SCHOOL_OFFICER,
            school=school,
        )
        _, token_secret = token_create(actor=officer, name="other")
        token_id = ApiToken.objects.get(key_hash=_hash(token_secret)).pk
        values[{"a1": "own", "a2": "sibling", "b1": "other"}[key]] = {
            "smis": school.smis_code,
            "area": school.area.code,
            "enrolment": str(e.pk),
            "case": str(case.pk),
            "attachment": str(attachment.pk),
            "upload": upload.id,
            "round": str(r.pk),
            "request": str(request.pk),
            "assignment": str(assignment.pk),
            "token": str(token_id),
            "person_id": person_id,
            "new_person_id": make_citizen_id(6_300_000 + n),
        }
        leaks[key] = [names[key], "นามสกุลลับ" + key, person_id]
    secrets: dict[str, str] = {}
    tokens: dict[str, int] = {}
    for role, name in ACTOR_NAME.items():
        token, secret = token_create(actor=world.actors[name], name="matrix")
        secrets[role], tokens[role] = secret, token.pk
    pending_assignment = RoleAssignment.objects.get(user__username="pending_a1")
    # a pending assignment's token: made while approved, then the approval is withdrawn
    RoleAssignment.objects.filter(pk=pending_assignment.pk).update(status="approved")
    from dmc.accounts.actor import Actor

    _, secrets["pending"] = token_create(
        actor=Actor.from_assignment(RoleAssignment.objects.get(pk=pending_assignment.pk)),
        name="pending",
    )
    RoleAssignment.objects.filter(pk=pending_assignment.pk).update(status="pending")
    return Objects(
        world, values, secrets, tokens, pending_assignment.user, pending_assignment, leaks, files
    )


def _hash(secret: str) -> str:
    from dmc.accounts.services import _hash as h

    return h(secret)


def _empty_result(actor: Any, school: School, upload: Any) -> Any:
    return importer.import_file(
        actor=actor,
        school=school,
        year=2564,
        path=upload.path,
        filename=upload.filename,
        options=importer.Options(dry_run=True),
    )


def web_client(objs: Objects, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role == "anon":
        return client
    if role == "pending":
        client.force_login(objs.pending)
        session = client.session
        session[SESSION_KEY] = objs.pending_assignment.pk  # the role was never approved
        session.save()
        return client
    actor = objs.world.actors[ACTOR_NAME[role]]
    client.force_login(actor.user)
    session = client.session
    session[SESSION_KEY] = actor.assignment_id
    session.save()
    return client


def api_client(objs: Objects, role: str) -> Client:
    if role == "anon":
        return Client(raise_request_exception=False)
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {objs.secrets[role]}")


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def classify(response: Any, is_api: bool) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        location = response["Location"]
        if location.startswith("/login/"):
            return "login"
        if location.startswith("/role/"):
            return "role"
        return "ok"
    if 200 <= status < 300:
        return "ok"
    return str(status)


def send(
    objs: Objects, role: str, owner: str, method: str, url: str, data: Any, is_api: bool
) -> Any:
    client = api_client(objs, role) if is_api else web_client(objs, role)
    from django.core.files.uploadedfile import SimpleUploadedFile

    if data == "FILE":
        return client.post(url, {"file": SimpleUploadedFile("scan.png", PNG)})
    if data == "IMPORT":
        smis = objs.values[owner]["smis"]
        upload = SimpleUploadedFile("list.csv", objs.files[owner])
        return client.post(url, {"file": upload, "school_code": smis, "dry_run": "true"})
    if is_api:
        if data is None:
            return client.generic(method, url)
        return client.generic(method, url, json.dumps(data), content_type="application/json")
    if method == "GET":
        return client.get(url)
    return client.post(url, data or {})


def run_row(
    objs: Objects, key: str, spec: tuple[str, Any], cells: Cell, is_api: bool
) -> tuple[dict[str, list[str]], list[str]]:
    method = key.split(" ", 1)[0]
    url_t, data_t = spec
    has_owner = "{" in url_t or "{" in json.dumps(data_t)
    owners = OWNERSHIP if has_owner else ("own",)
    observed: dict[str, list[str]] = {}
    problems: list[str] = []
    for role in ROLES:
        for owner in owners:
            values = dict(objs.values[owner])
            if owner == "own" and role in objs.tokens:
                values["token"] = str(objs.tokens[role])  # "own" token: the caller's
            url, data = fill(url_t, values), fill(data_t, values)
            with transaction.atomic():
                events = AuditEvent.objects.count()
                response = send(objs, role, owner, method, url, data, is_api)
                wrote = AuditEvent.objects.count() > events
                transaction.set_rollback(True)
            got = classify(response, is_api)
            if got == "ok" and method != "GET" and not wrote and key not in NO_AUDIT:
                got = "noop"  # accepted but nothing changed (a refusal shown on the next page)
            observed.setdefault(role, []).append(got)
            body = b"".join(response) if response.streaming else response.content
            text = body.decode("utf-8", "replace")
            for school, strings in objs.leaks.items():
                if school in SCOPE[role] or key in DISCLOSES:
                    continue
                for s in strings:
                    if s in text:
                        problems.append(f"{key} as {role} ({owner}): leaks {school}'s {s!r}")
            if response.status_code >= 500:
                problems.append(f"{key} as {role} ({owner}): {response.status_code}")
    return observed, problems


def check_row(objs: Objects, key: str, is_api: bool) -> None:
    spec, cells = (A if is_api else W)[key]
    observed, problems = run_row(objs, key, spec, cells, is_api)
    for role in ROLES:
        got = observed[role]
        want = cells[role].split()
        if len(want) == 1:
            want = want * len(got)
        if len(got) == 1 and len(want) == 3:
            want = want[:1]
        if got != want:
            problems.append(f"{key} as {role}: expected {' '.join(want)}, got {' '.join(got)}")
    if os.environ.get("DMC_MATRIX_PRINT"):
        row = ", ".join(
            f'{r}="{" ".join(v) if len(set(v)) > 1 else v[0]}"' for r, v in observed.items()
        )
        print(f"\n{key}: {row}")  # noqa: T201
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("key", sorted(W))
def test_web_matrix(objects: Objects, key: str) -> None:
    check_row(objects, key, is_api=False)


@pytest.mark.parametrize("key", sorted(A))
def test_api_matrix(objects: Objects, key: str) -> None:
    check_row(objects, key, is_api=True)
