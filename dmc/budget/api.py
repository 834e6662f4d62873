"""The per-head budget over the API (same selectors as the page)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.budget import selectors
from dmc.core.errors import not_found
from dmc.core.schemas import ERRORS, MAX_ID
from dmc.rounds import selectors as round_selectors
from dmc.rounds.models import Round
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice

router = Router(tags=["budget"])
RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]


class RatesQuery(Schema):
    rates: str | None = None


def _round(round_id: int) -> Round:
    return round_selectors.round_get(round_id)


@router.get(
    "/rounds/{round_id}/schools/{smis_code}",
    response={200: dict[str, Any], **ERRORS},
    summary="A school's per-head subsidy estimate from its sealed counts",
)
def school_budget(
    request: HttpRequest, round_id: RoundId, smis_code: str, q: Query[RatesQuery]
) -> dict[str, Any]:
    actor = api_actor(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    report = selectors.school_budget(
        actor=actor, school=school, r=_round(round_id), version=q.rates
    )
    return selectors.report_dict(report)


@router.get(
    "/rounds/{round_id}/areas/{area_code}",
    response={200: dict[str, Any], **ERRORS},
    summary="An area's per-head subsidy estimate, per school",
)
def area_budget(
    request: HttpRequest, round_id: RoundId, area_code: str, q: Query[RatesQuery]
) -> dict[str, Any]:
    actor = api_actor(request)
    area = AreaOffice.objects.filter(code=area_code).first()
    if area is None:
        raise not_found()
    report = selectors.area_budget(actor=actor, area=area, r=_round(round_id), version=q.rates)
    return selectors.report_dict(report)


@router.get(
    "/rounds/{round_id}/nation",
    response={200: dict[str, Any], **ERRORS},
    summary="OBEC: the national per-head subsidy estimate, per area",
)
def nation_budget(request: HttpRequest, round_id: RoundId, q: Query[RatesQuery]) -> dict[str, Any]:
    report = selectors.nation_budget(actor=api_actor(request), r=_round(round_id), version=q.rates)
    return selectors.report_dict(report)
