"""Cases over the API: list, read, comment, attach evidence, forward and decide."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, File, Path, Query, Router, Schema, UploadedFile

from dmc.accounts.actor import api_actor
from dmc.cases import services
from dmc.cases.models import Case
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.schemas import ERRORS, MAX_ID

router = Router(tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]


class CaseOut(Schema):
    id: int
    kind: str
    status: str
    school_code: str
    other_school_code: str | None
    academic_year: int
    data: dict[str, Any]
    deadline: dt.datetime | None
    opened_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str


class CaseFilter(Schema):
    kind: str = Field("", max_length=20)
    open_only: bool = True
    awaiting_me: bool = False


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class DecisionIn(Schema):
    approve: bool = False
    keeper: str = Field("", max_length=10, description='duplicates: "holder" or "claimant"')
    note: str = Field("", max_length=2000)


class CommentIn(Schema):
    text: str = Field(..., min_length=1, max_length=4000)


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


def case_out(case: Case) -> dict[str, Any]:
    data = dict(case.data)
    for key in ("old_id", "new_id"):  # IDs in lists are masked; the case page shows them
        if key in data:
            from dmc.core.ids import mask_person_id

            data[key] = mask_person_id(str(data[key]))
    return {
        "id": case.pk,
        "kind": case.kind,
        "status": case.status,
        "school_code": case.school.smis_code,
        "other_school_code": case.other_school.smis_code if case.other_school else None,
        "academic_year": case.academic_year,
        "data": data,
        "deadline": case.deadline,
        "opened_at": case.opened_at,
        "decided_at": case.decided_at,
        "decision_note": case.decision_note,
    }


@router.get("", response={200: list[CaseOut], **ERRORS}, summary="Cases I can see")
def case_list(request: HttpRequest, filters: Query[CaseFilter]) -> list[dict[str, Any]]:
    actor = api_actor(request)
    qs = (
        services.awaiting(actor)
        if filters.awaiting_me
        else Case.objects.filter(services.visible_q(actor))
    )
    qs = qs.select_related("school", "other_school")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.open_only:
        qs = qs.filter(status__in=[Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW])
    return [case_out(c) for c in qs[:500]]


@router.get("/{case_id}", response={200: CaseOut, **ERRORS}, summary="One case")
def case_get(request: HttpRequest, case_id: CaseId) -> dict[str, Any]:
    return case_out(services.case_get(actor=api_actor(request), case_id=case_id))


@router.post(
    "/{case_id}/forward",
    response={200: CaseOut, **ERRORS},
    summary="Area office: forward an ID correction to OBEC",
)
def forward(request: HttpRequest, case_id: CaseId, payload: NoteIn) -> dict[str, Any]:
    return case_out(
        services.id_correction_forward(actor=api_actor(request), case_id=case_id, note=payload.note)
    )


@router.post(
    "/{case_id}/decision",
    response={200: CaseOut, **ERRORS},
    summary="Decide a case (ID correction: OBEC; dropout, G-code: the area; duplicate:"
    " the area of the school holding the student, with keeper)",
)
def decide(request: HttpRequest, case_id: CaseId, payload: DecisionIn) -> dict[str, Any]:
    case = services.case_decide(
        actor=api_actor(request),
        case_id=case_id,
        approve=payload.approve,
        keeper=payload.keeper,
        note=payload.note,
    )
    return case_out(case)


@router.post(
    "/{case_id}/comments", response={200: dict[str, int], **ERRORS}, summary="Comment on a case"
)
def comment(request: HttpRequest, case_id: CaseId, payload: CommentIn) -> dict[str, int]:
    c = services.comment_add(actor=api_actor(request), case_id=case_id, text=payload.text)
    return {"id": c.pk}


@router.post(
    "/{case_id}/attachments",
    response={200: AttachmentOut, **ERRORS},
    summary="Attach evidence (PDF, PNG or JPEG, at most 5 MB)",
)
def attach(request: HttpRequest, case_id: CaseId, file: File[UploadedFile]) -> Any:
    from django.conf import settings

    limit = settings.DMC_EVIDENCE_MAX_BYTES
    content = file.read(limit + 1)
    if not isinstance(content, bytes):
        raise DmcError(ErrorCode.VALIDATION, fields={"file": ["unreadable"]})
    return services.attachment_add(
        actor=api_actor(request), case_id=case_id, filename=file.name or "", content=content
    )
