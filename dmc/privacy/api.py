"""The student's data access report over the API (issue 9)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.core.models import AccessEvent
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.privacy import access, report
from dmc.students import selectors as student_selectors

router = Router(tags=["privacy"])


class HeldFieldOut(Schema):
    name: str
    label: str
    filled: bool
    sensitive: bool


class LineOut(Schema):
    at: dt.datetime
    who: str
    role: str
    what: str
    detail: str


class EnrolmentLineOut(Schema):
    id: int
    school_code: str
    academic_year: int
    grade: str
    status: str


class AccessReportOut(Schema):
    enrolment_id: int
    citizen_id_masked: str
    fields: list[HeldFieldOut]
    enrolments: list[EnrolmentLineOut]
    changes: list[LineOut]
    reads: list[LineOut]


@router.get(
    "/students/{int:enrolment_id}/access-report",
    response={200: AccessReportOut, **ERRORS},
    summary="PDPA: what we hold about a student and who saw or changed it (area/OBEC: send"
    " purpose_code, and purpose_text for 99)",
)
def access_report(
    request: HttpRequest, enrolment_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> dict[str, Any]:
    actor = api_actor(request)
    enrolment = student_selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    purpose = access.api_purpose(request, actor, enrolment.school_id)
    rep = report.build(actor=actor, enrolment_id=enrolment_id)
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.REPORT,
        school_id=enrolment.school_id,
        purpose=purpose,
        enrolment_id=enrolment.pk,
        person_pk=enrolment.person_id,
        academic_year=enrolment.academic_year,
    )
    return rep.as_dict()
