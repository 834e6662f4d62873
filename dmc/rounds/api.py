"""The round over the API: calendar, a school's checklist and state, confirm/certify/cancel,
acknowledge, close, query notes and reopen requests. Same services as the web pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from dmc.accounts import stepup
from dmc.accounts.actor import api_actor
from dmc.accounts.models import Role
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.rounds import selectors, services
from dmc.rounds.models import ReopenRequest, Round
from dmc.schools import selectors as school_selectors

router = Router(tags=["rounds"])
RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]


class RoundOut(Schema):
    id: int
    academic_year: int
    number: int
    state: str
    version: int
    as_of_date: dt.date | None
    entry_opens_at: dt.datetime
    entry_closes_at: dt.datetime
    id_correction_deadline: dt.datetime
    confirm_opens_at: dt.datetime
    confirm_closes_at: dt.datetime
    self_cancel_deadline: dt.datetime
    area_ack_closes_at: dt.datetime
    closed_at: dt.datetime | None


class CertifyIn(Schema):
    """Step-up re-authentication (issue 9): the director's password, again."""

    password: str | None = Field(None, max_length=128)


class WindowsIn(Schema):
    version: int = Field(..., ge=1, le=MAX_ID)
    entry_opens_at: dt.datetime | None = None
    entry_closes_at: dt.datetime | None = None
    id_correction_deadline: dt.datetime | None = None
    confirm_opens_at: dt.datetime | None = None
    confirm_closes_at: dt.datetime | None = None
    self_cancel_deadline: dt.datetime | None = None
    area_ack_closes_at: dt.datetime | None = None


class ChecklistItemOut(Schema):
    key: str
    rule: str
    severity: str
    title: str
    fix: str
    count: int
    explained: int


class RoomProblemOut(Schema):
    grade: str
    students: int
    rooms: int


class ProgressOut(Schema):
    school_code: str
    round_id: int
    state: str
    students: int
    counted: int
    blocking: int
    readiness: int
    confirmed_at: dt.datetime | None
    certified_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    locked_reason: str
    snapshot_sha256: str | None
    checklist: list[ChecklistItemOut]
    rooms: list[RoomProblemOut]


class CancelIn(Schema):
    reason: str = Field("", max_length=300)
    lock: bool = False


class SnapshotOut(Schema):
    sha256: str
    rows: int
    counted_rows: int
    taken_at: dt.datetime


class ExplainIn(Schema):
    check: str = Field(..., max_length=40)
    note: str = Field(..., min_length=1, max_length=2000)


class ReopenIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class ReopenDecisionIn(Schema):
    approve: bool
    until: dt.datetime | None = None
    note: str = Field("", max_length=2000)


class ReopenOut(Schema):
    id: int
    school_code: str
    status: str
    reason: str
    extends_until: dt.datetime | None


def _round(round_id: int) -> Round:
    return selectors.round_get(round_id)


def _round_out(r: Round) -> dict[str, Any]:
    return {
        "id": r.pk,
        "academic_year": r.academic_year.year,
        "number": r.number,
        "state": selectors.state_of(r, clock.now()),
        "version": r.version,
        "as_of_date": r.as_of_date,
        "closed_at": r.closed_at,
        **{f: getattr(r, f) for f in services.WINDOW_FIELDS},
    }


def progress_out(p: selectors.SchoolProgress, r: Round) -> dict[str, Any]:
    sr = p.sr
    return {
        "school_code": p.school.smis_code,
        "round_id": r.pk,
        "state": p.state,
        "students": p.students,
        "counted": p.counted,
        "blocking": p.blocking_total,
        "readiness": p.readiness,
        "confirmed_at": sr.confirmed_at if sr else None,
        "certified_at": sr.certified_at if sr else None,
        "acknowledged_at": sr.acknowledged_at if sr else None,
        "locked_reason": sr.locked_reason if sr else "",
        "snapshot_sha256": sr.snapshot.sha256 if sr and sr.snapshot else None,
        "checklist": [
            {
                "key": i.key,
                "rule": i.check.rule,
                "severity": i.check.severity,
                "title": i.check.title,
                "fix": i.check.fix,
                "count": i.count,
                "explained": i.explained,
            }
            for i in p.items
        ],
        "rooms": [{"grade": g, "students": s, "rooms": n} for g, s, n in p.rooms],
    }


@router.get("", response={200: list[RoundOut], **ERRORS}, summary="All rounds and their state")
def round_list(request: HttpRequest) -> list[dict[str, Any]]:
    api_actor(request)
    return [_round_out(r) for r in Round.objects.select_related("academic_year")]


@router.put(
    "/{round_id}/windows",
    response={200: RoundOut, **ERRORS},
    summary="OBEC: edit a round's calendar (send the version you read)",
)
def round_windows(request: HttpRequest, round_id: RoundId, payload: WindowsIn) -> dict[str, Any]:
    windows = {
        f: getattr(payload, f) for f in services.WINDOW_FIELDS if getattr(payload, f) is not None
    }
    r = services.round_update_windows(
        actor=api_actor(request), round_id=round_id, version=payload.version, windows=windows
    )
    return _round_out(_round(r.pk))


@router.post(
    "/{round_id}/close",
    response={200: SnapshotOut, **ERRORS},
    summary="OBEC: close the round after the confirm window and seal the count",
)
def round_close(request: HttpRequest, round_id: RoundId) -> Any:
    _round(round_id)
    return services.round_close(actor=api_actor(request), round_id=round_id)


@router.get(
    "/{round_id}/schools/{smis_code}",
    response={200: ProgressOut, **ERRORS},
    summary="A school's state and pre-confirmation checklist in a round",
)
def school_progress(request: HttpRequest, round_id: RoundId, smis_code: str) -> dict[str, Any]:
    school = school_selectors.school_get(actor=api_actor(request), smis_code=smis_code)
    r = _round(round_id)
    return progress_out(selectors.school_progress(school, r), r)


def _school_action(
    request: HttpRequest, round_id: int, smis_code: str, action: Callable[..., Any], **kwargs: Any
) -> dict[str, Any]:
    actor = api_actor(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    r = _round(round_id)
    action(actor=actor, school=school, round_id=r.pk, **kwargs)
    return progress_out(selectors.school_progress(school, r), r)


@router.post(
    "/{round_id}/schools/{smis_code}/confirm",
    response={200: ProgressOut, **ERRORS},
    summary="School officer: confirm (in the confirm window, nothing blocking)",
)
def confirm(request: HttpRequest, round_id: RoundId, smis_code: str) -> dict[str, Any]:
    return _school_action(request, round_id, smis_code, services.round_confirm)


@router.post(
    "/{round_id}/schools/{smis_code}/certify",
    response={200: ProgressOut, **ERRORS},
    summary="Director: certify a confirmed school (not the confirmer); step-up: send"
    ' {"password": "…"} (a web session may instead have re-entered it in the last minutes)',
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": CertifyIn.model_json_schema()}},
        }
    },
)
def certify(request: HttpRequest, round_id: RoundId, smis_code: str) -> dict[str, Any]:
    actor = api_actor(request)
    if actor.role == Role.SCHOOL_DIRECTOR:  # others are refused by the service
        stepup.require(request, actor, _step_up_password(request))
    return _school_action(request, round_id, smis_code, services.round_certify)


def _step_up_password(request: HttpRequest) -> str | None:
    """The optional body of certify: ``{"password": "…"}`` (JSON) or a form field; no body is
    fine when the web session stepped up in the last minutes."""
    if request.content_type == "application/json" and request.body:
        try:
            data = CertifyIn.model_validate_json(request.body)
        except ValueError as exc:
            raise DmcError(ErrorCode.VALIDATION, fields={"password": ["invalid"]}) from exc
        return data.password
    return request.POST.get("password") or None


@router.post(
    "/{round_id}/schools/{smis_code}/cancel",
    response={200: ProgressOut, **ERRORS},
    summary="Cancel a confirmation (school until its deadline, then the area; OBEC"
    " revokes, optionally suspending the button)",
)
def cancel(
    request: HttpRequest, round_id: RoundId, smis_code: str, payload: CancelIn
) -> dict[str, Any]:
    return _school_action(
        request,
        round_id,
        smis_code,
        services.round_cancel,
        reason=payload.reason,
        lock=payload.lock,
    )


@router.post(
    "/{round_id}/schools/{smis_code}/acknowledge",
    response={200: ProgressOut, **ERRORS},
    summary="Area office: acknowledge a certified school",
)
def acknowledge(request: HttpRequest, round_id: RoundId, smis_code: str) -> dict[str, Any]:
    return _school_action(request, round_id, smis_code, services.round_acknowledge)


# the school states of the dashboards, as an enum for the ``state`` filter's OpenAPI
SchoolState = Enum("SchoolState", {k: k for k in selectors.SCHOOL_STATES}, type=str)  # type: ignore[misc]


@router.get(
    "/{round_id}/areas/{area_code}",
    response={200: list[ProgressOut], **ERRORS},
    summary="Area dashboard: every school of the area with state and checklist counts"
    " (optionally only the schools in one state, e.g. ?state=ready: still to confirm)",
)
def area_dashboard(
    request: HttpRequest,
    round_id: RoundId,
    area_code: str,
    state: Annotated[SchoolState | None, Query(description="only schools in this state")] = None,
) -> list[Any]:
    actor = api_actor(request)
    r = _round(round_id)
    area = school_selectors.area_get(actor=actor, code=area_code)  # another area's: 403
    schools = list(school_selectors.school_list(actor=actor, area_code=area.code))
    rows = selectors.area_progress(schools, r)
    wanted = state.value if state is not None else None
    return [progress_out(p, r) for p in rows if wanted is None or p.state == wanted]


@router.post(
    "/{round_id}/acknowledge-clean",
    response={200: list[str], **ERRORS},
    summary="Area office: acknowledge every clean certified school in one call",
)
def acknowledge_clean(request: HttpRequest, round_id: RoundId) -> list[str]:
    _round(round_id)
    done = services.round_acknowledge_clean(actor=api_actor(request), round_id=round_id)
    return [sr.school.smis_code for sr in done]


@router.post(
    "/queries/{enrolment_id}",
    response={200: dict[str, str], **ERRORS},
    summary="Explain a query-severity checklist item for one student",
)
def explain(
    request: HttpRequest, enrolment_id: Annotated[int, Path(ge=1, le=MAX_ID)], payload: ExplainIn
) -> dict[str, str]:
    note = services.query_explain(
        actor=api_actor(request),
        enrolment_id=enrolment_id,
        check_key=payload.check,
        note=payload.note,
    )
    return {"check": note.check_key, "note": note.note}


def _reopen_out(req: ReopenRequest) -> dict[str, Any]:
    return {
        "id": req.pk,
        "school_code": req.school.smis_code,
        "status": req.status,
        "reason": req.reason,
        "extends_until": req.extends_until,
    }


@router.post(
    "/{round_id}/schools/{smis_code}/reopen-requests",
    response={200: ReopenOut, **ERRORS},
    summary="School: ask the area office for late entry / reopening",
)
def reopen(
    request: HttpRequest, round_id: RoundId, smis_code: str, payload: ReopenIn
) -> dict[str, Any]:
    actor = api_actor(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    _round(round_id)
    return _reopen_out(
        services.reopen_request(
            actor=actor, school=school, round_id=round_id, reason=payload.reason
        )
    )


@router.post(
    "/reopen-requests/{request_id}/decision",
    response={200: ReopenOut, **ERRORS},
    summary="Area office: approve (until a time) or reject a reopen request",
)
def reopen_decision(
    request: HttpRequest,
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    payload: ReopenDecisionIn,
) -> dict[str, Any]:
    req = services.reopen_decide(
        actor=api_actor(request),
        request_id=request_id,
        approve=payload.approve,
        until=payload.until,
        note=payload.note,
    )
    return _reopen_out(req)
