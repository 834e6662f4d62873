"""The reports API: the same numbers as the pages, scoping, masked students, the job, errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dmc.accounts.services import token_create
from dmc.core.ids import mask_person_id
from dmc.reports import jobs
from tests.conftest import YEAR, World
from tests.test_reports import add


def _client(world: World, who: str) -> Client:
    _, secret = token_create(actor=world.actors[who], name="reports")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_area_totals_and_students_over_the_api(world: World) -> None:
    e = add(world, world.school_a1, "05", "F")
    add(world, world.school_a2, "05", "M", age="old")
    area = _client(world, "area_a")
    body = area.get("/api/v1/reports/totals/areas/1001").json()
    assert body["scope"] == "area" and body["source"] == "live" and body["year"] == YEAR
    assert body["total"]["female"] == 1 and body["total"]["excluded"] == 1
    assert [p["key"] for p in body["parts"]] == ["10010001", "10010002"]
    refused = area.get("/api/v1/reports/students/10010001?grade=05&sex=F")
    assert refused.status_code == 400 and refused.json()["code"] == "access_purpose_required"
    students = area.get("/api/v1/reports/students/10010001?grade=05&sex=F&purpose_code=01").json()
    assert students["count"] == 1
    assert students["students"][0]["person_id_masked"] == mask_person_id(e.person.person_id)
    assert e.person.person_id not in str(students)
    excluded = area.get("/api/v1/reports/students/10010002?kind=excluded&purpose_code=01").json()
    assert excluded["count"] == 1


@pytest.mark.parametrize(
    ("who", "url", "status", "code"),
    [
        ("area_b", "/api/v1/reports/totals/areas/1001", 403, "not_in_scope"),
        ("officer_a2", "/api/v1/reports/totals/schools/10010001", 403, "not_in_scope"),
        ("officer_a2", "/api/v1/reports/students/10010001", 403, "not_in_scope"),
        ("officer_a1", "/api/v1/reports/totals/nation", 403, "not_in_scope"),
        ("obec", "/api/v1/reports/totals/areas/9999", 404, "not_found"),
        ("obec", "/api/v1/reports/totals/nation?src=7", 400, "validation"),
        ("obec", "/api/v1/reports/students/10010001?grade=99&purpose_code=01", 400, "validation"),
        ("obec", "/api/v1/reports/progress/999999", 404, "not_found"),
    ],
)
def test_refusals_have_the_one_error_shape(
    world: World, who: str, url: str, status: int, code: str
) -> None:
    r = _client(world, who).get(url)
    assert r.status_code == status, r.content
    assert set(r.json()) == {"code", "message", "fields"} and r.json()["code"] == code


def test_allowed_reads(world: World) -> None:
    add(world, world.school_b1, "05", "M")
    assert (
        _client(world, "officer_b1")
        .get("/api/v1/reports/totals/schools/42010001")
        .json()["total"]["male"]
        == 1
    )
    nation = _client(world, "obec").get("/api/v1/reports/totals/nation").json()
    assert nation["total"]["counted"] == 1 and nation["suppressed_cells"] == 0
    # an area office sees the country with the other areas' small cells hidden
    seen_by_a = _client(world, "area_a").get("/api/v1/reports/totals/nation").json()
    b = next(p for p in seen_by_a["parts"] if p["key"] == "4201")
    assert b["male"] is None and seen_by_a["suppressed_cells"] > 0


def test_job_over_the_api(
    world: World, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    obec = _client(world, "obec")
    r = obec.post("/api/v1/reports/jobs", {"src": "live"}, content_type="application/json")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    job_id = r.json()["id"]
    got = obec.get(f"/api/v1/reports/jobs/{job_id}/file")
    assert got.status_code == 409 and got.json()["code"] == "job_not_done"
    jobs.run(job_id)
    assert obec.get(f"/api/v1/reports/jobs/{job_id}").json()["percent"] == 100
    assert obec.get(f"/api/v1/reports/jobs/{job_id}/file").status_code == 200
    assert _client(world, "area_a").get(f"/api/v1/reports/jobs/{job_id}").status_code == 404
    r = _client(world, "officer_a1").post(
        "/api/v1/reports/jobs", {}, content_type="application/json"
    )
    assert r.status_code == 403
