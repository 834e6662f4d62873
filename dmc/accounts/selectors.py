"""Scoped reads of users and role assignments."""

from __future__ import annotations

from django.db.models import QuerySet

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role, RoleAssignment, User


def approved_assignments(user: User) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.filter(user=user, status=RoleAssignment.Status.APPROVED)
        .select_related("school", "school__area", "area")
        .order_by("role", "id")
    )


def pending_approvals(*, actor: Actor) -> QuerySet[RoleAssignment]:
    """Assignments this actor may approve: area -> its schools' users; OBEC -> area users."""
    qs = RoleAssignment.objects.filter(status=RoleAssignment.Status.PENDING).select_related(
        "user", "school", "area"
    )
    if actor.is_area:
        return qs.filter(
            role__in=[Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR], school__area_id=actor.area_id
        ).order_by("requested_at")
    if actor.is_obec:
        return qs.filter(role__in=[Role.AREA_OFFICER, Role.OBEC_ADMIN]).order_by("requested_at")
    return qs.none()
