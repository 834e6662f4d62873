"""End of year and rollover over the API: the steps' state, a class's students with their
results, recording a step for many students, learning results, and the rollover (dry run,
start, progress). Same services and rules as the web pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.core import clock
from dmc.core.errors import not_found
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice
from dmc.yearend import rollover, selectors, services
from dmc.yearend.models import RolloverJob

router = Router(tags=["end of year"])
Menu = Literal["3.2.2", "3.2.2.1", "3.2.2.2"]
Year = Annotated[int, Path(ge=2400, le=2700)]


class StepOut(Schema):
    menu: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    is_open: bool
    pending: int
    waiting_for: str | None = Field(None, description="An earlier menu still pending (L8)")


class StudentResultOut(Schema):
    id: int
    student_no: str
    grade: str
    room: int
    tracked_318: bool
    year_result: str = Field(..., description='"pass", "fail" or "" (pending)')
    years_studied: int | None
    failed_evaluations: list[str]
    destination: str
    version: int


class EntryIn(Schema):
    id: int = Field(..., ge=1, le=MAX_ID, description="The enrolment id")
    result: str | None = Field(None, max_length=20, description="3.2.2: pass | fail")
    years_studied: int | None = Field(None, ge=0, le=100, description="3.2.2: 1-15")
    failed_evaluations: list[Annotated[str, Field(max_length=60)]] | None = Field(
        None, max_length=10, description="3.2.2.1: codes of the failed_evaluation list"
    )
    destination: str | None = Field(
        None, max_length=60, description="3.2.2.2: a graduate_destination code"
    )
    version: int | None = Field(None, ge=1, le=MAX_ID, description="Optimistic lock")


class StepIn(Schema):
    entries: list[EntryIn] = Field(..., max_length=2000)
    strict: bool = Field(True, description="One refusal refuses the batch (nothing saved)")


class RefusalOut(Schema):
    id: int
    code: str
    message: str


class StepResultOut(Schema):
    menu: str
    saved: list[int]
    unchanged: list[int]
    refused: list[RefusalOut]


class LearningRowOut(Schema):
    grade: str
    passed: int
    failed: int
    graduated: int
    pending: int
    tracked: int


class LearningOut(Schema):
    year: int
    rows: list[LearningRowOut]
    destinations: dict[str, int]
    evaluations: dict[str, int]


class PlanOut(Schema):
    year: int
    to_year: int
    schools: int
    counts: dict[str, Any] = Field(
        ...,
        description="promoted, repeating, graduated, tracked, pending, no_next_grade, left,"
        " conflict, destinations",
    )


class JobOut(Schema):
    from_year: int
    to_year: int
    state: str
    schools_total: int
    schools_done: int
    counts: dict[str, Any]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str


def _year() -> int:
    return round_selectors.current_year(clock.now()) or 0


@router.get(
    "/yearend/schools/{smis_code}/steps",
    response={200: list[StepOut], **ERRORS},
    summary="The three year-end steps of a school: window, pending students, order (L8)",
)
def steps(request: HttpRequest, smis_code: str) -> list[Any]:
    school = school_selectors.school_get(actor=api_actor(request), smis_code=smis_code)
    return list(selectors.steps(school, _year(), clock.now()))


@router.get(
    "/yearend/schools/{smis_code}/students",
    response={200: list[StudentResultOut], **ERRORS},
    summary="The students a step asks about in a grade (and room), with their results",
)
def students(
    request: HttpRequest,
    smis_code: str,
    menu: Menu = Query("3.2.2"),  # noqa: B008
    grade: str = Query(..., pattern=r"^(0[1-9]|1[0-8])$"),
    room: int | None = Query(None, ge=1, le=99),
) -> list[dict[str, Any]]:
    school = school_selectors.school_get(actor=api_actor(request), smis_code=smis_code)
    return [
        {
            "id": e.pk,
            "student_no": e.student_no,
            "grade": e.grade,
            "room": e.room,
            "tracked_318": e.tracked_318,
            "year_result": e.year_result,
            "years_studied": e.years_studied,
            "failed_evaluations": [c for c in e.failed_evaluations.split(",") if c],
            "destination": e.destination,
            "version": e.version,
        }
        for e in selectors.class_students(school, _year(), menu, grade, room)
    ]


@router.post(
    "/yearend/schools/{smis_code}/steps/{menu}",
    response={200: StepResultOut, **ERRORS},
    summary="School officer: record a year-end step for many students",
    description=(
        "Menus in order (L8): 3.2.2 needs `result` and `years_studied` for every student who"
        " sat the exam; 3.2.2.1 `failed_evaluations` (never empty) for repeaters; 3.2.2.2"
        " `destination` (never blank) for graduates of ป.6/ม.3/ม.6/ปวช.3. Each menu works from"
        " its opening date and only when the earlier ones have no student pending (409"
        " year_end_order). With `strict` (default) one refusal refuses the batch: 400 validation,"
        " `fields` keyed by enrolment id. Otherwise good entries are saved and refusals listed."
    ),
)
def record(request: HttpRequest, smis_code: str, menu: Menu, payload: StepIn) -> dict[str, Any]:
    actor = api_actor(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    entries = [
        services.Entry(
            e.id,
            result=e.result,
            years_studied=e.years_studied,
            failed_evaluations=e.failed_evaluations,
            destination=e.destination,
            version=e.version,
        )
        for e in payload.entries
    ]
    outcome = services.record_step(
        actor=actor, school=school, year=_year(), menu=menu, entries=entries, strict=payload.strict
    )
    return {
        "menu": outcome.menu,
        "saved": outcome.saved,
        "unchanged": outcome.unchanged,
        "refused": [
            {"id": r.enrolment_id, "code": r.code, "message": r.message} for r in outcome.refused
        ],
    }


@router.get(
    "/yearend/learning",
    response={200: LearningOut, **ERRORS},
    summary="Learning results per grade (pass, fail/repeat, graduate, pending) in your scope",
)
def learning(
    request: HttpRequest,
    year: int | None = Query(None, ge=2400, le=2700),
    area: str | None = Query(None, max_length=20),
    school: str | None = Query(None, max_length=20),
) -> dict[str, Any]:
    actor = api_actor(request)
    area_id = school_id = None
    if area:
        a = AreaOffice.objects.filter(code=area).first()
        if a is None or not (actor.is_obec or a.pk == actor.area_id):
            raise not_found()
        area_id = a.pk
    if school:
        school_id = school_selectors.school_get(actor=actor, smis_code=school).pk
    y = year or _year()
    res = selectors.learning_results(actor, y, area_id=area_id, school_id=school_id)
    return {
        "year": y,
        "rows": [r.__dict__ for r in res.rows],
        "destinations": res.destinations,
        "evaluations": res.evaluations,
    }


@router.get(
    "/rollover/{year}/plan",
    response={200: PlanOut, **ERRORS},
    summary="Dry run of the rollover of a year, for your scope (nothing written)",
)
def rollover_plan(request: HttpRequest, year: Year) -> dict[str, Any]:
    actor = api_actor(request)
    plans = rollover.plan(actor=actor, year=year)
    return {
        "year": year,
        "to_year": year + 1,
        "schools": len(plans),
        "counts": rollover.summarise(p.as_dict() for p in plans.values()),
    }


def _job(year: int) -> RolloverJob:
    job = RolloverJob.objects.filter(from_year=year).first()
    if job is None:
        raise not_found()
    return job


@router.get(
    "/rollover/{year}",
    response={200: JobOut, **ERRORS},
    summary="The rollover job of a year and its progress",
)
def rollover_status(request: HttpRequest, year: Year) -> RolloverJob:
    api_actor(request)
    return _job(year)


@router.post(
    "/rollover/{year}",
    response={202: JobOut, 200: JobOut, **ERRORS},
    summary="OBEC: start (or resume) the rollover after round 3 is closed; runs in the background",
)
def rollover_start(request: HttpRequest, year: Year) -> tuple[int, RolloverJob]:
    actor = api_actor(request)
    job = rollover.start(actor=actor, year=year)
    if job.state == RolloverJob.State.DONE:
        return 200, job
    rollover.run_in_background(job.pk, actor)
    return 202, job
