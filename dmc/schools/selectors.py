"""Scoped reads of areas and schools."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from dmc.accounts.actor import Actor
from dmc.core.errors import not_found, not_in_scope
from dmc.schools.models import AreaOffice, School


def school_scope(actor: Actor) -> Q:
    if actor.is_obec:
        return Q()
    if actor.is_area:
        return Q(area_id=actor.area_id)
    return Q(pk=actor.school_id or 0)


def school_list(*, actor: Actor, area_code: str | None = None) -> QuerySet[School]:
    qs = School.objects.filter(school_scope(actor)).select_related("area")
    if area_code:
        qs = qs.filter(area__code=area_code)
    return qs.order_by("area__code", "smis_code")


def school_get(*, actor: Actor, smis_code: str) -> School:
    """Raises NOT_FOUND for an unknown code and NOT_IN_SCOPE (403) for another unit's school:
    school codes are public, so refusing openly leaks nothing."""
    own = actor.own_school
    if own is not None and own.smis_code == smis_code and own.pk == actor.school_id:
        return own  # loaded with the role assignment at the start of the request
    school = School.objects.select_related("area").filter(smis_code=smis_code).first()
    if school is None:
        raise not_found()
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()
    return school


def area_get(*, actor: Actor, code: str) -> AreaOffice:
    """Raises NOT_FOUND for an unknown area code and NOT_IN_SCOPE (403) for an area other than
    the actor's own (OBEC sees every area; area codes are public)."""
    area = AreaOffice.objects.filter(code=code).first()
    if area is None:
        raise not_found()
    if not actor.is_obec and area.pk != actor.area_id:
        raise not_in_scope()
    return area


def own_area(actor: Actor) -> AreaOffice | None:
    """The area office an area officer works for (as loaded with the role when it was), else
    None."""
    if not actor.is_area or actor.area_id is None:
        return None
    own = actor.own_area
    if own is not None and own.pk == actor.area_id:
        return own
    return AreaOffice.objects.filter(pk=actor.area_id).first()


def area_list(*, actor: Actor) -> QuerySet[AreaOffice]:
    qs = AreaOffice.objects.all()
    if not actor.is_obec:
        qs = qs.filter(pk=actor.area_id or 0)
    return qs.annotate(school_count=Count("schools")).order_by("code")
