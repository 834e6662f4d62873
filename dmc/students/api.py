from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from dmc.accounts.actor import api_actor
from dmc.core.errors import Collector
from dmc.core.normalize import parse_date, parse_decimal
from dmc.core.schemas import ERRORS, MAX_ID
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


@router.get("/{enrolment_id}", response={200: StudentOut, **ERRORS}, summary="One student")
def student_get(request: HttpRequest, enrolment_id: EnrolmentId) -> dict[str, Any]:
    return student_out(selectors.enrolment_get(actor=api_actor(request), enrolment_id=enrolment_id))


@router.patch(
    "/{enrolment_id}",
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
