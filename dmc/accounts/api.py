from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from dmc.accounts import services
from dmc.accounts.actor import Actor, api_actor
from dmc.accounts.models import ApiToken
from dmc.core.schemas import ERRORS, MAX_ID

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    role: str
    school_code: str | None
    area_id: int | None


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str


def _actor(request: HttpRequest) -> Actor:
    return api_actor(request)


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who am I (user and active role)")
def me(request: HttpRequest) -> MeOut:
    actor = _actor(request)
    school_code = None
    if actor.school_id:
        from dmc.schools.models import School

        school_code = School.objects.values_list("smis_code", flat=True).get(pk=actor.school_id)
    return MeOut(
        username=actor.user.username,
        role=actor.role,
        school_code=school_code,
        area_id=actor.area_id,
    )


@router.get("/tokens", response={200: list[TokenOut], **ERRORS}, summary="My API tokens")
def token_list(request: HttpRequest) -> list[ApiToken]:
    return list(ApiToken.objects.filter(assignment__user=_actor(request).user))


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, **ERRORS},
    summary="Create an API token for the current role (the secret is shown once)",
)
def token_create(request: HttpRequest, payload: TokenIn) -> Status:
    token, secret = services.token_create(actor=_actor(request), name=payload.name)
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "revoked_at": None,
            "token": secret,
        },
    )


@router.delete(
    "/tokens/{token_id}", response={200: TokenOut, **ERRORS}, summary="Revoke one of my API tokens"
)
def token_revoke(request: HttpRequest, token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> ApiToken:
    return services.token_revoke(actor=_actor(request), token_id=token_id)
