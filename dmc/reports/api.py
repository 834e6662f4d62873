"""Reports over the API (``/api/v1/reports/...``): totals with their breakdown, the students behind
a number (masked IDs), confirmation progress, and the background workbook. Same selectors and
scoping as the web pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema, Status

from dmc.accounts.actor import api_actor
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.reports import jobs, selectors
from dmc.reports.models import ReportJob

router = Router(tags=["reports"])
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
SOURCE_DOC = (
    "`src`: `live` (current data, default) or a round number 1-3 (that round's confirmed"
    " snapshots; official once the round is closed). `year`: academic year in BE (default: the"
    " current one)."
)


class ReportLineOut(Schema):
    key: str
    label: str
    male: int | None
    female: int | None
    counted: int | None
    rooms: int | None
    excluded: int | None  # active students outside ages 4-20 (D4), not counted


class TotalsOut(Schema):
    scope: str
    code: str
    name: str
    year: int
    source: str
    official: bool
    grades: list[ReportLineOut]
    total: ReportLineOut
    parts: list[ReportLineOut]
    missing: list[str]
    suppressed_cells: int


class ReportStudentOut(Schema):
    enrolment_id: int
    student_no: str
    person_id_masked: str
    name: str
    grade: str
    room: int
    sex: str
    birth_date: dt.date
    counted: bool


class StudentsOut(Schema):
    school_code: str
    count: int
    students: list[ReportStudentOut]


class ProgressRowOut(Schema):
    code: str
    name: str
    schools: int
    confirmed: int
    certified: int
    acknowledged: int


class ReportProgressOut(Schema):
    round_id: int
    deadline_day: dt.date
    rows: list[ProgressRowOut]
    hours: list[list[int]]  # [hour, confirmed so far, certified so far]


class JobIn(Schema):
    year: int | None = None
    src: str = "live"
    area: str | None = None


class ReportJobOut(Schema):
    id: int
    status: str
    done: int
    total: int
    percent: int
    file_name: str


class SourceQuery(Schema):
    year: int | None = None
    src: str = "live"


def _line(line: selectors.Line) -> dict[str, Any]:
    return {
        "key": line.key,
        "label": line.label,
        "male": line.value("cm"),
        "female": line.value("cf"),
        "counted": line.value("counted"),
        "rooms": line.value("rooms"),
        "excluded": line.value("excluded"),
    }


def _totals(t: selectors.Totals) -> dict[str, Any]:
    return {
        "scope": t.scope,
        "code": t.code,
        "name": t.name,
        "year": t.source.year,
        "source": t.source.param,
        "official": t.source.official,
        "grades": [_line(line) for line in t.lines],
        "total": _line(t.total),
        "parts": [_line(p) for p in t.parts],
        "missing": t.missing,
        "suppressed_cells": t.suppressed,
    }


@router.get(
    "/totals/nation",
    response={200: TotalsOut, **ERRORS},
    summary="National totals",
    description="Totals by grade and per area office. OBEC sees every number; an area office"
    " sees other areas with cells of 1-4 suppressed (null); `public=true` suppresses for"
    " everyone. 403 `not_in_scope` for school roles. " + SOURCE_DOC,
)
def totals_nation(
    request: HttpRequest, q: Query[SourceQuery], public: bool = False
) -> dict[str, Any]:
    source = selectors.source_of(q.year, q.src)
    return _totals(selectors.nation_totals(actor=api_actor(request), source=source, public=public))


@router.get(
    "/totals/areas/{code}",
    response={200: TotalsOut, **ERRORS},
    summary="An area's totals",
    description="Totals by grade and per school, from the maintained roll-up. 403"
    " `not_in_scope` outside the caller's area; 404 `not_found` for an unknown area. " + SOURCE_DOC,
)
def totals_area(request: HttpRequest, code: str, q: Query[SourceQuery]) -> dict[str, Any]:
    source = selectors.source_of(q.year, q.src)
    return _totals(selectors.area_totals(actor=api_actor(request), code=code, source=source))


@router.get(
    "/totals/schools/{smis_code}",
    response={200: TotalsOut, **ERRORS},
    summary="A school's totals",
    description="403 `not_in_scope` for another unit's school; 404 `not_found`. " + SOURCE_DOC,
)
def totals_school(request: HttpRequest, smis_code: str, q: Query[SourceQuery]) -> dict[str, Any]:
    source = selectors.source_of(q.year, q.src)
    return _totals(
        selectors.school_totals(actor=api_actor(request), smis_code=smis_code, source=source)
    )


@router.get(
    "/students/{smis_code}",
    response={200: StudentsOut, **ERRORS},
    summary="The students behind a number",
    description="One cell of a school's totals: `grade` (01-18, empty = all), `sex` (M/F,"
    " empty = both), `kind` (counted / excluded / all). Citizen IDs are masked; area and OBEC"
    " reads state a purpose (`purpose_code`, `purpose_text`; 400 `access_purpose_required` without"
    " one) and are logged. At most 2,000 rows (`count` is the full number). 400 `validation`"
    " for a malformed parameter, 403 `not_in_scope`. " + SOURCE_DOC,
)
def students(
    request: HttpRequest,
    smis_code: str,
    q: Query[SourceQuery],
    grade: str = "",
    sex: str = "",
    kind: Literal["counted", "excluded", "all"] = "counted",
) -> dict[str, Any]:
    from dmc.core.models import AccessEvent
    from dmc.privacy import access

    actor = api_actor(request)
    source = selectors.source_of(q.year, q.src)
    scoped = selectors.require_school(actor, smis_code)
    purpose = access.api_purpose(request, actor, scoped.pk)  # PDPA (issue 9)
    school, rows, n = selectors.drill_students(
        actor=actor,
        smis_code=smis_code,
        source=source,
        grade=grade,
        sex=sex,
        kind=kind,
    )
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.API_LIST,
        school_id=school.pk,
        purpose=purpose,
        academic_year=source.year,
        rows=len(rows),
    )
    return {"school_code": school.smis_code, "count": n, "students": [s.__dict__ for s in rows]}


@router.get(
    "/progress/{round_id}",
    response={200: ReportProgressOut, **ERRORS},
    summary="Confirmation progress",
    description="Per area (OBEC) or per school (an area office, or OBEC with `area`), and the"
    " cumulative confirmations/certifications by hour over the deadline day. 403 `not_in_scope`"
    " for school roles and other areas; 404 `not_found` for an unknown round.",
)
def progress(
    request: HttpRequest, round_id: Annotated[int, Path(ge=1, le=MAX_ID)], area: str | None = None
) -> dict[str, Any]:
    p = selectors.progress(actor=api_actor(request), round_id=round_id, area_code=area)
    return {
        "round_id": p.round.pk,
        "deadline_day": p.day,
        "rows": [
            {
                "code": c,
                "name": n,
                "schools": s,
                "confirmed": co,
                "certified": ce,
                "acknowledged": ak,
            }
            for c, n, s, co, ce, ak in p.rows
        ],
        "hours": [list(h) for h in p.hours],
    }


def _job(job: ReportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "file_name": job.file_name,
    }


@router.post(
    "/jobs",
    response={202: ReportJobOut, **ERRORS},
    summary="Build the per-school workbook",
    description="Starts the per-school totals workbook (the nation for OBEC, the own area for an"
    " area office) in the background; poll `GET /reports/jobs/{id}`. 403 `not_in_scope` for"
    " school roles.",
)
def job_start(request: HttpRequest, payload: JobIn) -> Status:
    source = selectors.source_of(payload.year, payload.src)
    job = jobs.job_start(actor=api_actor(request), source=source, area_code=payload.area)
    return Status(202, _job(job))


@router.get(
    "/jobs/{job_id}",
    response={200: ReportJobOut, **ERRORS},
    summary="A workbook job's progress",
    description="404 `not_found` for another user's job.",
)
def job_status(request: HttpRequest, job_id: JobId) -> dict[str, Any]:
    return _job(jobs.job_get(actor=api_actor(request), job_id=job_id))


@router.get(
    "/jobs/{job_id}/file",
    response={200: None, **ERRORS},
    summary="Download a finished workbook",
    description="409 `job_not_done` while it is still being built; 404 `not_found`.",
)
def job_file(request: HttpRequest, job_id: JobId) -> HttpResponse:
    from dmc.core.errors import DmcError, ErrorCode
    from dmc.reports.views import XLSX

    job = jobs.job_get(actor=api_actor(request), job_id=job_id)
    if job.status != ReportJob.Status.DONE or job.content is None:
        raise DmcError(ErrorCode.JOB_NOT_DONE, http_status=409)
    response = HttpResponse(bytes(job.content), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    return response
