"""The per-student data access report (PDPA s.30, issue 9): what we hold about one student and
who saw or changed it.

Built for one enrolment the actor can see (a school its own, an area its schools', OBEC any):
the fields we hold (which are filled, which are sensitive under PDPA s.26 — values are not
repeated here), every enrolment of the person, every audited change of the person or of one of
their enrolments (who, role, when, what, which fields — not the values), and every logged read:
reads of this student's record, and list reads and exports of a school and year the student was
enrolled in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from dmc.accounts.actor import Actor
from dmc.accounts.models import ROLE_EN, Role
from dmc.core.audit import action_label
from dmc.core.i18n import lang, tr
from dmc.core.ids import mask_person_id
from dmc.core.models import AccessEvent, AuditEvent
from dmc.privacy.access import Purpose
from dmc.schools.models import School
from dmc.students import selectors
from dmc.students.forms import SPECS
from dmc.students.models import Enrolment, Person

#: PDPA s.26 sensitive data among the fields we hold
SENSITIVE = frozenset({"religion", "race", "disability", "disadvantaged", "blood"})


@dataclass
class HeldField:
    name: str
    label: str
    filled: bool
    sensitive: bool


@dataclass
class Line:
    at: dt.datetime
    who: str
    role: str
    what: str
    detail: str = ""


@dataclass
class AccessReport:
    enrolment: Enrolment
    person: Person
    masked_id: str
    fields: list[HeldField] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    changes: list[Line] = field(default_factory=list)
    reads: list[Line] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enrolment_id": self.enrolment.pk,
            "citizen_id_masked": self.masked_id,
            "fields": [vars(f) for f in self.fields],
            "enrolments": [
                {
                    "id": e.pk,
                    "school_code": e.school.smis_code,
                    "academic_year": e.academic_year,
                    "grade": e.grade,
                    "status": e.status,
                }
                for e in self.enrolments
            ],
            "changes": [vars(c) for c in self.changes],
            "reads": [vars(r) for r in self.reads],
        }


def _role(role: str) -> str:
    if role in Role.values:
        return ROLE_EN[Role(role)] if lang() == "en" else str(Role(role).label)
    return tr("ระบบ", "System") if role in ("system", "") else role


def _who(user: Any) -> str:
    if user is None:
        return tr("ระบบ", "System")
    return f"{user.first_name} {user.last_name}".strip() or user.username


def build(*, actor: Actor, enrolment_id: int, limit: int = 500) -> AccessReport:
    enrolment = selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    person = enrolment.person
    report = AccessReport(
        enrolment=enrolment, person=person, masked_id=mask_person_id(person.person_id)
    )
    for spec in SPECS:
        obj = person if hasattr(person, spec.name) else enrolment
        value = getattr(obj, spec.name, None)
        report.fields.append(
            HeldField(spec.name, spec.label(), value not in (None, ""), spec.name in SENSITIVE)
        )
    report.enrolments = list(
        Enrolment.objects.filter(person=person)
        .select_related("school")
        .order_by("-academic_year", "-id")
    )
    enrolment_ids = [str(e.pk) for e in report.enrolments]
    targets = Q(target_type="students.person", target_id=str(person.pk)) | Q(
        target_type="students.enrolment", target_id__in=enrolment_ids
    )
    language = lang()
    for event in AuditEvent.objects.filter(targets).select_related("actor")[:limit]:
        report.changes.append(
            Line(
                at=event.at,
                who=_who(event.actor),
                role=_role(event.actor_role),
                what=action_label(event.action, language),
                detail=", ".join(sorted(event.after)),
            )
        )
    school_years = Q()
    for e in report.enrolments:
        school_years |= Q(school_id=e.school_id, academic_year=e.academic_year)
    reads = Q(person_pk=person.pk) | Q(enrolment_id__in=[e.pk for e in report.enrolments])
    reads |= Q(kind__in=["list", "api_list", "export"]) & school_years
    schools = {
        s.pk: s for s in School.objects.filter(pk__in={e.school_id for e in report.enrolments})
    }
    for access in AccessEvent.objects.filter(reads).select_related("actor")[:limit]:
        school = schools.get(access.school_id)
        what = tr(*_KIND.get(access.kind, (access.kind, access.kind)))
        if school is not None and access.kind in ("list", "api_list", "export"):
            what += f" ({school.smis_code})"
        purpose = (
            Purpose(access.purpose_code, access.purpose_text).label()
            if access.purpose_code
            else access.purpose_text
        )
        report.reads.append(
            Line(
                at=access.at,
                who=_who(access.actor),
                role=_role(access.actor_role),
                what=what,
                detail=purpose,
            )
        )
    return report


_KIND = {
    "detail": ("ดูข้อมูลนักเรียนรายคน", "Viewed the student's record"),
    "api_detail": ("อ่านข้อมูลนักเรียนรายคนผ่าน API", "Read the student's record (API)"),
    "list": ("ดูรายชื่อนักเรียนของโรงเรียน", "Viewed the school's student list"),
    "api_list": ("อ่านรายชื่อนักเรียนผ่าน API", "Read the school's student list (API)"),
    "export": ("ดาวน์โหลดรายชื่อนักเรียนของโรงเรียน", "Downloaded the school's student list"),
    "report": ("ดูรายงานการเข้าถึงข้อมูลนี้", "Viewed this access report"),
}
