from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from dmc.accounts.actor import api_actor
from dmc.core.errors import Collector
from dmc.core.models import AccessEvent
from dmc.core.normalize import parse_date, parse_decimal
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.privacy import access
from dmc.students import selectors, services
from dmc.students.models import Enrolment

router = Router(tags=["students"])
EnrolmentId = Annotated[int, Path(ge=1, le=MAX_ID)]


class StudentOut(Schema):
    id: int
    school_code: str
    academic_year: int
    student_no: str
    grade: str
    room: int
    status: str
    tracked_318: bool
    weight_kg: Decimal | None
    height_cm: Decimal | None
    enrolment_version: int
    person_version: int
    citizen_id: str
    id_kind: str
    document_type: str
    title_code: str
    first_name: str
    last_name: str
    sex: str
    birth_date: dt.date
    person: dict[str, str]


class StudentChanges(Schema):
    """Any subset of the editable fields; dates as dd/mm/yyyy (BE) or yyyy-mm-dd."""

    person_version: int = Field(..., ge=1, le=MAX_ID)
    enrolment_version: int = Field(..., ge=1, le=MAX_ID)
    changes: dict[str, str | float | int | None] = Field(..., max_length=60)


def student_out(e: Enrolment) -> dict[str, Any]:
    p = e.person
    return {
        "id": e.pk,
        "school_code": e.school.smis_code,
        "academic_year": e.academic_year,
        "student_no": e.student_no,
        "grade": e.grade,
        "room": e.room,
        "status": e.status,
        "tracked_318": e.tracked_318,
        "weight_kg": e.weight_kg,
        "height_cm": e.height_cm,
        "enrolment_version": e.version,
        "person_version": p.version,
        "citizen_id": p.person_id,
        "id_kind": p.id_kind,
        "document_type": p.document_type,
        "title_code": p.title_code,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "sex": p.sex,
        "birth_date": p.birth_date,
        "person": {
            k: str(getattr(p, k)) for k in services.PERSON_FIELDS if k not in ("birth_date",)
        },
    }


@router.get(
    "/{int:enrolment_id}",
    response={200: StudentOut, **ERRORS},
    summary="One student (area/OBEC: send purpose_code, and purpose_text for 99; logged)",
)
def student_get(request: HttpRequest, enrolment_id: EnrolmentId) -> dict[str, Any]:
    actor = api_actor(request)
    enrolment = selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    # PDPA (issue 9): area/OBEC send purpose_code (+ purpose_text for 99); the read is logged
    purpose = access.api_purpose(request, actor, enrolment.school_id)
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.API_DETAIL,
        school_id=enrolment.school_id,
        purpose=purpose,
        enrolment_id=enrolment.pk,
        person_pk=enrolment.person_id,
        academic_year=enrolment.academic_year,
    )
    return student_out(enrolment)


@router.patch(
    "/{int:enrolment_id}",
    response={200: StudentOut, **ERRORS},
    summary="Edit a student (optimistic locking: send the versions you read; 409 if"
    " someone changed the record since)",
)
def student_patch(
    request: HttpRequest, enrolment_id: EnrolmentId, payload: StudentChanges
) -> dict[str, Any]:
    c = Collector()
    changes: dict[str, Any] = {}
    for name, value in payload.changes.items():
        if name == "birth_date":
            changes[name] = c.check(parse_date, value, field=name)
        elif name in ("weight_kg", "height_cm"):
            changes[name] = c.check(parse_decimal, value, field=name)
        else:
            changes[name] = "" if value is None else str(value)
    c.raise_if_any()
    services.student_update(
        actor=api_actor(request),
        enrolment_id=enrolment_id,
        person_version=payload.person_version,
        enrolment_version=payload.enrolment_version,
        changes=changes,
    )
    return student_out(selectors.enrolment_get(actor=api_actor(request), enrolment_id=enrolment_id))


# --- movements --------------------------------------------------------------------------------


class EnrolmentIn(Schema):
    grade: str = Field(..., min_length=2, max_length=2)
    room: int = Field(..., ge=1, le=99)
    student_no: str = Field(..., min_length=1, max_length=20)
    admitted_on: str | None = Field(None, max_length=20, description="dd/mm/yyyy (BE)")
    sat_exam_here: bool = Field(False, description="End-of-year round: sat the final exam here")
    weight_kg: str | float | None = None
    height_cm: str | float | None = None


class AddIn(EnrolmentIn):
    school_code: str = Field(..., max_length=8)
    person_id: str = Field(..., max_length=30, description="13-digit citizen ID or G-code")
    document_type: str = Field("I", max_length=1)
    title_code: str = Field(..., max_length=3)
    first_name: str = Field(..., max_length=100)
    last_name: str = Field(..., max_length=100)
    sex: str = Field(..., max_length=1)
    birth_date: str = Field(..., max_length=20, description="dd/mm/yyyy (BE) or yyyy-mm-dd")


class TransferInIn(EnrolmentIn):
    school_code: str = Field(..., max_length=8)
    person_id: str = Field(..., max_length=30)


class TransferInOut(Schema):
    student: StudentOut | None
    case_id: int | None


class LeaveIn(Schema):
    version: int | None = Field(None, ge=1, le=MAX_ID)
    left_on: str = Field(..., max_length=20, description="dd/mm/yyyy (BE)")
    reason: str = Field("01", max_length=2, description="withdrawal_reason code")
    note: str = Field("", max_length=300)


class TrackedIn(Schema):
    version: int | None = Field(None, ge=1, le=MAX_ID)
    tracked: bool
    note: str = Field("", max_length=300)


class GradeIn(Schema):
    version: int | None = Field(None, ge=1, le=MAX_ID)
    grade: str = Field(..., min_length=2, max_length=2)
    room: int = Field(..., ge=1, le=99)
    reason: str = Field(..., max_length=300)


class CaseOpenIn(Schema):
    new_id: str = Field("", max_length=30, description="ID correction: the correct ID")
    reason: str = Field("", max_length=2000)
    left_on: str = Field("", max_length=20, description="dropout: dd/mm/yyyy (BE)")
    dropout_reason: str = Field("", max_length=2)


def _enrolment_kwargs(payload: EnrolmentIn) -> dict[str, Any]:
    c = Collector()
    out = {
        "grade": payload.grade,
        "room": payload.room,
        "student_no": payload.student_no,
        "sat_exam_here": payload.sat_exam_here,
        "admitted_on": (
            c.check(parse_date, payload.admitted_on, field="admitted_on")
            if payload.admitted_on
            else None
        ),
        "weight_kg": c.check(parse_decimal, payload.weight_kg, field="weight_kg"),
        "height_cm": c.check(parse_decimal, payload.height_cm, field="height_cm"),
    }
    c.raise_if_any()
    return out


def _current_year() -> int:
    from dmc.core import clock
    from dmc.rounds.selectors import current_year

    return current_year(clock.now()) or 0


@router.post(
    "",
    response={200: StudentOut, **ERRORS},
    summary="Add a new student (a person not yet known nationally)",
)
def student_add(request: HttpRequest, payload: AddIn) -> dict[str, Any]:
    from dmc.schools.selectors import school_get

    actor = api_actor(request)
    school = school_get(actor=actor, smis_code=payload.school_code)
    c = Collector()
    birth = c.check(parse_date, payload.birth_date, field="birth_date")
    c.raise_if_any()
    e = services.student_add(
        actor=actor,
        school=school,
        academic_year=_current_year(),
        person_id=payload.person_id,
        document_type=payload.document_type,
        person={
            "title_code": payload.title_code,
            "first_name": payload.first_name,
            "last_name": payload.last_name,
            "sex": payload.sex,
            "birth_date": birth,
        },
        **_enrolment_kwargs(payload),
    )
    return student_out(selectors.enrolment_get(actor=actor, enrolment_id=e.pk))


@router.post(
    "/transfer-in",
    response={200: TransferInOut, **ERRORS},
    summary="Transfer in: pull a known person by ID; when still active elsewhere a"
    " duplicate case opens instead (case_id), never a second enrolment",
)
def transfer_in(request: HttpRequest, payload: TransferInIn) -> dict[str, Any]:
    from dmc.schools.selectors import school_get
    from dmc.students import movements

    actor = api_actor(request)
    school = school_get(actor=actor, smis_code=payload.school_code)
    e, case = movements.transfer_in(
        actor=actor,
        school=school,
        year=_current_year(),
        person_id=payload.person_id,
        **_enrolment_kwargs(payload),
    )
    return {
        "student": student_out(selectors.enrolment_get(actor=actor, enrolment_id=e.pk))
        if e
        else None,
        "case_id": case.pk if case else None,
    }


def _move(request: HttpRequest, enrolment_id: int, fn: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one movement service as the API's actor and return the student as it now is."""
    actor = api_actor(request)
    fn(actor=actor, enrolment_id=enrolment_id, **kwargs)
    return student_out(selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id))


def _left_on(payload: LeaveIn) -> Any:
    return parse_date(payload.left_on, field="left_on")


@router.post(
    "/{int:enrolment_id}/transfer-out",
    response={200: StudentOut, **ERRORS},
    summary="Transfer out (round 3: only a student who left before the final exam)",
)
def transfer_out(
    request: HttpRequest, enrolment_id: EnrolmentId, payload: LeaveIn
) -> dict[str, Any]:
    from dmc.students import movements

    return _move(
        request,
        enrolment_id,
        movements.transfer_out,
        version=payload.version,
        left_on=_left_on(payload),
        destination=payload.note,
    )


@router.post(
    "/{int:enrolment_id}/withdraw",
    response={200: StudentOut, **ERRORS},
    summary="Withdraw (จำหน่าย) with a withdrawal_reason code (dropouts need a case)",
)
def withdraw(request: HttpRequest, enrolment_id: EnrolmentId, payload: LeaveIn) -> dict[str, Any]:
    from dmc.students import movements

    return _move(
        request,
        enrolment_id,
        movements.withdraw,
        version=payload.version,
        reason=payload.reason,
        left_on=_left_on(payload),
        note=payload.note,
    )


@router.post(
    "/{int:enrolment_id}/tracked",
    response={200: StudentOut, **ERRORS},
    summary="Menu 3.1.8: flag or clear a student who is followed but not withdrawable",
)
def tracked(request: HttpRequest, enrolment_id: EnrolmentId, payload: TrackedIn) -> dict[str, Any]:
    from dmc.students import movements

    return _move(
        request,
        enrolment_id,
        movements.set_tracked,
        version=payload.version,
        tracked=payload.tracked,
        note=payload.note,
    )


@router.post(
    "/{int:enrolment_id}/grade",
    response={200: StudentOut, **ERRORS},
    summary="Correct a grade/room (D2: a correction with a reason)",
)
def grade(request: HttpRequest, enrolment_id: EnrolmentId, payload: GradeIn) -> dict[str, Any]:
    from dmc.students import movements

    return _move(
        request,
        enrolment_id,
        movements.correct_grade,
        version=payload.version,
        grade=payload.grade,
        room=payload.room,
        reason=payload.reason,
    )


@router.post(
    "/{int:enrolment_id}/cases/{kind}",
    response={200: dict[str, int], **ERRORS},
    summary="Open a case for this student: id-correction, dropout or gcode",
)
def open_case(
    request: HttpRequest,
    enrolment_id: EnrolmentId,
    kind: Annotated[str, Path(pattern="^(id-correction|dropout|gcode)$")],
    payload: CaseOpenIn,
) -> dict[str, int]:
    from dmc.cases import services as cases

    actor = api_actor(request)
    if kind == "id-correction":
        case = cases.id_correction_open(
            actor=actor, enrolment_id=enrolment_id, new_id=payload.new_id, reason=payload.reason
        )
    elif kind == "dropout":
        case = cases.dropout_open(
            actor=actor,
            enrolment_id=enrolment_id,
            reason=payload.dropout_reason,
            left_on=parse_date(payload.left_on, field="left_on"),
            note=payload.reason,
        )
    else:
        case = cases.gcode_open(actor=actor, enrolment_id=enrolment_id, note=payload.reason)
    return {"case_id": case.pk}
