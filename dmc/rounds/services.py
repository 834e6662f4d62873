"""Setting up academic years and rounds (OBEC)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit
from dmc.rounds.models import AcademicYear, MenuWindow, Round

_ROUND_FIELDS = (
    "number", "as_of_date", "entry_opens_at", "entry_closes_at", "id_correction_deadline",
    "confirm_opens_at", "confirm_closes_at", "self_cancel_deadline", "area_ack_closes_at",
    "closed_at", "published_at",
)  # fmt: skip


@transaction.atomic
def academic_year_get_or_create(
    *, actor: Actor | None, year: int, starts_on: dt.date, ends_on: dt.date
) -> AcademicYear:
    if actor is not None:
        actor.require_role(Role.OBEC_ADMIN)
    ay, created = AcademicYear.objects.get_or_create(
        year=year, defaults={"starts_on": starts_on, "ends_on": ends_on}
    )
    if created:
        audit.record(
            actor=actor,
            action="year.create",
            target=ay,
            after={"year": year, "starts_on": starts_on, "ends_on": ends_on},
        )
    return ay


@transaction.atomic
def round_create(
    *,
    actor: Actor | None,
    academic_year: AcademicYear,
    number: int,
    menus: dict[str, tuple[dt.datetime, dt.datetime]] | None = None,
    **windows: object,
) -> Round:
    """Create a round with its windows (validated by the round_windows_ordered constraint)."""
    if actor is not None:
        actor.require_role(Role.OBEC_ADMIN)
    r = Round.objects.create(academic_year=academic_year, number=number, **windows)
    for menu, (opens, closes) in (menus or {}).items():
        MenuWindow.objects.create(round=r, menu=menu, opens_at=opens, closes_at=closes)
    audit.record(
        actor=actor,
        action="round.create",
        target=r,
        after={
            **audit.snapshot(r, _ROUND_FIELDS),
            "menus": {m: [o, c] for m, (o, c) in (menus or {}).items()},
        },
    )
    return r
