"""Nutrition over the API: the references, a school's and an area's tables (same selectors as
the pages). A school's own staff also get its children at risk, with masked IDs."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.core.errors import not_found
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.nutrition import selectors
from dmc.nutrition.references import describe, schemes
from dmc.rounds import selectors as round_selectors
from dmc.rounds.models import Round
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice

router = Router(tags=["nutrition"])
RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]


class RefQuery(Schema):
    ref: str | None = None


def _round(round_id: int) -> Round:
    return round_selectors.round_get(round_id)


@router.get(
    "/references", response={200: list[dict[str, Any]], **ERRORS}, summary="Growth references"
)
def reference_list(request: HttpRequest) -> list[dict[str, Any]]:
    api_actor(request)
    return [
        {
            "key": s.key,
            "label_th": s.label_th,
            "label_en": s.label_en,
            "example": s.example,
            "references": [describe(r) for r in s.references],
        }
        for s in schemes().values()
    ]


@router.get(
    "/rounds/{round_id}/schools/{smis_code}",
    response={200: dict[str, Any], **ERRORS},
    summary="A school's nutritional status by grade (and, for its own staff, children at risk)",
)
def school_nutrition(
    request: HttpRequest, round_id: RoundId, smis_code: str, q: Query[RefQuery]
) -> dict[str, Any]:
    actor = api_actor(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    table, kids = selectors.school_table(
        actor=actor, school=school, r=_round(round_id), scheme_key=q.ref
    )
    out = selectors.table_dict(table)
    if actor.is_school:
        out["at_risk"] = [
            {
                "enrolment_id": k.enrolment_id,
                "masked_id": k.masked_id,
                "grade": k.grade,
                "room": k.room,
                "weight_band": k.result.weight.band.key,
                "weight_z": str(k.result.weight.z) if k.result.weight.z is not None else None,
                "height_band": k.result.height.band.key,
                "height_z": str(k.result.height.z) if k.result.height.z is not None else None,
                "reference": k.result.reference,
            }
            for k in selectors.at_risk(kids)
        ]
    return out


@router.get(
    "/rounds/{round_id}/areas/{area_code}",
    response={200: dict[str, Any], **ERRORS},
    summary="An area's nutritional status by school",
)
def area_nutrition(
    request: HttpRequest, round_id: RoundId, area_code: str, q: Query[RefQuery]
) -> dict[str, Any]:
    actor = api_actor(request)
    area = AreaOffice.objects.filter(code=area_code).first()
    if area is None:
        raise not_found()
    table = selectors.area_table(actor=actor, area=area, r=_round(round_id), scheme_key=q.ref)
    return selectors.table_dict(table)
