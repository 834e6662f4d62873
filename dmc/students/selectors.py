"""Scoped reads of students. Every query is filtered by the actor's unit first."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Collate

from dmc.accounts.actor import Actor
from dmc.core.errors import DmcError, not_found
from dmc.core.ids import normalize_person_id
from dmc.core.models import AuditEvent
from dmc.core.normalize import clean_text
from dmc.core.thai import to_arabic_digits
from dmc.schools.models import School
from dmc.students.models import Enrolment


def enrolment_scope(actor: Actor) -> Q:
    if actor.is_obec:
        return Q()
    if actor.is_area:
        return Q(school__area_id=actor.area_id)
    return Q(school_id=actor.school_id)


def _binary(field: str) -> Collate | F:
    # name_key is ASCII built for byte order; make every database compare it bytewise.
    return Collate(field, "C") if connection.vendor == "postgresql" else F(field)


def enrolment_queryset(*, actor: Actor) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(enrolment_scope(actor)).select_related("person", "school")


def enrolment_list(
    *,
    actor: Actor,
    school: School,
    academic_year: int,
    search: str = "",
    grade: str = "",
    check: str = "",
    statuses: tuple[str, ...] = (Enrolment.Status.ACTIVE,),
) -> QuerySet[Enrolment]:
    """A school's students of one year in Thai name order; ``search`` matches a name part, a
    student number or a full citizen ID / G-code."""
    qs = enrolment_queryset(actor=actor).filter(school=school, academic_year=academic_year)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if grade:
        qs = qs.filter(grade=grade)
    if check:
        # the maintained checklist keys; "key" matches explained queries ("key!") too
        qs = qs.filter(Q(checks__contains=f" {check} ") | Q(checks__contains=f" {check}! "))
    term = clean_text(to_arabic_digits(search))
    if term:
        try:
            pid, _ = normalize_person_id(term)
        except DmcError:
            pid = None
        if pid:
            qs = qs.filter(person__person_id=pid)
        else:
            cond = Q(student_no=term)
            for part in term.split(" ")[:3]:
                cond |= Q(person__first_name__icontains=part) | Q(person__last_name__icontains=part)
            qs = qs.filter(cond)
    return qs.order_by(_binary("person__name_key"), "pk")


def enrolment_page(qs: QuerySet[Enrolment], page: int | str | None) -> Page[Enrolment]:
    return Paginator(qs, settings.DMC_STUDENT_PAGE_SIZE).get_page(page)


def enrolment_get(*, actor: Actor, enrolment_id: int) -> Enrolment:
    """Raises NOT_FOUND for a missing id and for one outside the actor's scope alike."""
    enrolment = enrolment_queryset(actor=actor).filter(pk=enrolment_id).first()
    if enrolment is None:
        raise not_found()
    return enrolment


@dataclass(frozen=True)
class GradeCount:
    grade: str
    male: int
    female: int

    @property
    def total(self) -> int:
        return self.male + self.female


def grade_counts(*, actor: Actor, school: School, academic_year: int) -> list[GradeCount]:
    rows = (
        enrolment_queryset(actor=actor)
        .filter(school=school, academic_year=academic_year, status=Enrolment.Status.ACTIVE)
        .values("grade")
        .annotate(
            male=Count("pk", filter=Q(person__sex="M")),
            female=Count("pk", filter=Q(person__sex="F")),
        )
        .order_by("grade")
    )
    return [GradeCount(r["grade"], r["male"], r["female"]) for r in rows]


def student_history(*, actor: Actor, enrolment: Enrolment, limit: int = 50) -> list[AuditEvent]:
    """Audit events about this student (the person and this enrolment), newest first, limited
    to events recorded inside the actor's unit."""
    targets = Q(target_type="students.person", target_id=str(enrolment.person_id)) | Q(
        target_type="students.enrolment", target_id=str(enrolment.pk)
    )
    qs = AuditEvent.objects.filter(targets).select_related("actor")
    if actor.is_area:
        qs = qs.filter(area_id=actor.area_id)
    elif not actor.is_obec:
        qs = qs.filter(school_id=actor.school_id)
    return list(qs.order_by("-at", "-id")[:limit])
