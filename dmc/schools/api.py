from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.core import clock
from dmc.core.models import AccessEvent
from dmc.core.schemas import ERRORS
from dmc.privacy import access
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors
from dmc.schools.models import School
from dmc.students import selectors as student_selectors
from dmc.students.models import Enrolment

router = Router(tags=["schools"])


class SchoolOut(Schema):
    smis_code: str
    moe_code: str
    obec_code: str
    name: str
    area_code: str = Field(..., alias="area.code")
    status: str
    boarding: bool


class StudentRow(Schema):
    id: int
    student_no: str
    citizen_id_masked: str
    title_code: str
    first_name: str
    last_name: str
    sex: str
    grade: str
    room: int
    status: str


class StudentPage(Schema):
    count: int
    page: int
    pages: int
    items: list[StudentRow]


class StudentQuery(Schema):
    year: int | None = Field(None, ge=2400, le=2700)
    q: str = Field("", max_length=100)
    grade: str = Field("", max_length=2)
    page: int = Field(1, ge=1, le=1_000_000)


@router.get("", response={200: list[SchoolOut], **ERRORS}, summary="Schools in my scope")
def school_list(request: HttpRequest, area_code: str | None = None) -> list[School]:
    return list(selectors.school_list(actor=api_actor(request), area_code=area_code)[:5000])


@router.get("/{smis_code}", response={200: SchoolOut, **ERRORS}, summary="One school")
def school_get(request: HttpRequest, smis_code: str) -> School:
    return selectors.school_get(actor=api_actor(request), smis_code=smis_code)


def student_row(e: Enrolment) -> dict[str, object]:
    from dmc.core.ids import mask_person_id

    p = e.person
    return {
        "id": e.pk,
        "student_no": e.student_no,
        "citizen_id_masked": mask_person_id(p.person_id),
        "title_code": p.title_code,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "sex": p.sex,
        "grade": e.grade,
        "room": e.room,
        "status": e.status,
    }


@router.get(
    "/{smis_code}/students",
    response={200: StudentPage, **ERRORS},
    summary="A school's students (Thai name order, masked citizen IDs, paged; area/OBEC: send"
    " purpose_code, and purpose_text for 99; logged)",
)
def school_students(
    request: HttpRequest, smis_code: str, filters: Query[StudentQuery]
) -> dict[str, object]:
    actor = api_actor(request)
    school = selectors.school_get(actor=actor, smis_code=smis_code)
    purpose = access.api_purpose(request, actor, school.pk)  # PDPA (issue 9)
    year = filters.year or round_selectors.current_year(clock.now()) or 0
    qs = student_selectors.enrolment_list(
        actor=actor,
        school=school,
        academic_year=year,
        search=filters.q,
        grade=filters.grade,
    )
    page = student_selectors.enrolment_page(qs, filters.page)
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.API_LIST,
        school_id=school.pk,
        purpose=purpose,
        academic_year=year,
        rows=len(page.object_list),
    )
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "items": [student_row(e) for e in page],
    }
