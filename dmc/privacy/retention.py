"""Retention (PDPA s.37(3), issue 9): anonymise students of past academic years.

A person is anonymised when none of their enrolments is active, every enrolment is of an
academic year before ``before_year``, and no case about them is still open (a legal hold).
Their name, citizen ID, address, parents' and guardian's data and free-text notes are replaced
with placeholders; sex, grade, status, year, school and the birth year stay, so every count
and summary stays the same (the birth date is coarsened to 1 July of its year). The run is
one audit entry (counts only: no names, no IDs); running it again changes nothing (already
anonymised persons carry the ``X`` citizen-ID placeholder and are skipped).

Not anonymised here: the append-only audit log, whose change entries may hold old values — its
own retention is a decision for the data controller (see docs/security.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from dmc.core import clock
from dmc.core.models import AuditEvent
from dmc.core.thai import collation_key
from dmc.students.models import Enrolment, Person

PREFIX = "X"  # never a citizen ID (digits) or a G-code (G…)
PLACEHOLDER = "ไม่ระบุ"
BATCH = 500

#: person fields blanked (addresses, family, guardian)
BLANKED = (
    "house_no",
    "moo",
    "street",
    "subdistrict",
    "district",
    "province",
    "guardian_first_name",
    "guardian_last_name",
    "guardian_occupation",
    "guardian_relation",
    "father_first_name",
    "father_last_name",
    "father_occupation",
    "mother_first_name",
    "mother_last_name",
    "mother_occupation",
)


@dataclass(frozen=True)
class RetentionResult:
    before_year: int
    persons: int
    enrolments: int
    dry_run: bool


def candidates(before_year: int) -> list[int]:
    """Ids of persons due for anonymisation (ordered)."""
    from dmc.cases.models import Case

    recent_or_active = Enrolment.objects.filter(person=OuterRef("pk")).filter(
        Q(status=Enrolment.Status.ACTIVE) | Q(academic_year__gte=before_year)
    )
    open_case = Case.objects.filter(person=OuterRef("pk")).filter(
        status__in=[Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW, Case.Status.APPROVED]
    )
    any_enrolment = Enrolment.objects.filter(person=OuterRef("pk"))
    qs = (
        Person.objects.filter(Exists(any_enrolment))
        .exclude(Exists(recent_or_active))
        .exclude(Exists(open_case))
        .exclude(person_id__startswith=PREFIX)
        .order_by("pk")
    )
    return list(qs.values_list("pk", flat=True))


def anonymise(*, before_year: int, dry_run: bool = False) -> RetentionResult:
    ids = candidates(before_year)
    enrolments = Enrolment.objects.filter(person_id__in=ids).count() if ids else 0
    if dry_run:
        return RetentionResult(before_year, len(ids), enrolments, True)
    with transaction.atomic():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            for person in Person.objects.filter(pk__in=chunk).only("pk", "birth_date"):
                Person.objects.filter(pk=person.pk).update(
                    person_id=f"{PREFIX}{person.pk:012d}",
                    first_name=PLACEHOLDER,
                    last_name=PLACEHOLDER,
                    name_key=collation_key(f"{PLACEHOLDER} {PLACEHOLDER}"),
                    birth_date=dt.date(person.birth_date.year, 7, 1),
                    **dict.fromkeys(BLANKED, ""),
                )
            Enrolment.objects.filter(person_id__in=chunk).update(leave_note="")
        AuditEvent(
            at=clock.now(),
            actor=None,
            actor_role="system",
            action="retention.anonymise",
            target_type="retention",
            target_id=str(before_year),
            after={"persons": len(ids), "enrolments": enrolments, "before_year": before_year},
            reason="PDPA retention",
        ).save(force_insert=True)
    return RetentionResult(before_year, len(ids), enrolments, False)
