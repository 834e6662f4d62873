"""Cases: open, forward, decide, apply; comments and evidence. Every step is audited.

Who acts next (the queue):
- ID correction: submitted -> the school's area forwards (under_review) -> OBEC applies
  (applied: the person's ID changes everywhere at once, the audit shows old -> new) or rejects.
  Requests close at the round's ID-correction deadline (L1).
- Dropout consultation: submitted -> the school's area approves (the dropout is applied then,
  L7) or rejects.
- Duplicate: opened when a school pulls a person still active at another school. Both schools
  are parties; the area office of the school holding the student decides who keeps the student
  (the other side's area sees the case too); the decision is applied at once.
- G-code certification: submitted -> the school's area certifies or rejects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.cases.models import Case, CaseAttachment, CaseComment
from dmc.core import audit, clock
from dmc.core.codes import CODES
from dmc.core.errors import DmcError, ErrorCode, conflict, not_found
from dmc.core.ids import normalize_person_id
from dmc.core.normalize import clean_text
from dmc.rounds.rules import check_id_correction_open
from dmc.rounds.selectors import current_round, require_entry_round
from dmc.schools.models import School
from dmc.students import rules as student_rules
from dmc.students.models import Enrolment, Person

DUPLICATE_DAYS = 7  # a duplicate case's deadline for the parties and the area
_CASE_FIELDS = ("status", "decided_by", "decided_at", "decision_note")
_EVIDENCE_TYPES = {
    b"%PDF": (".pdf", "application/pdf"),
    b"\x89PNG": (".png", "image/png"),
    b"\xff\xd8\xff": (".jpg", "image/jpeg"),
}


def _record(
    actor: Actor | None,
    action: str,
    case: Case,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    audit.record(
        actor=actor,
        action=action,
        target=case,
        before=before,
        after=after if after is not None else audit.snapshot(case, _CASE_FIELDS),
        reason=reason,
        school_id=case.school_id,
        area_id=case.school.area_id,
    )


def visible_q(actor: Actor) -> Q:
    """The cases an actor may see: a school its own (either party); an area its schools'."""
    if actor.is_obec:
        return Q()
    if actor.is_area:
        return Q(school__area_id=actor.area_id) | Q(other_school__area_id=actor.area_id)
    return Q(school_id=actor.school_id) | Q(other_school_id=actor.school_id)


def case_get(*, actor: Actor, case_id: int, lock: bool = False) -> Case:
    qs = Case.objects.filter(visible_q(actor)).select_related(
        "school", "school__area", "other_school", "other_school__area", "person", "enrolment"
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    case = qs.filter(pk=case_id).first()
    if case is None:
        raise not_found()
    return case


def _school_enrolment(actor: Actor, enrolment_id: int) -> Enrolment:
    actor.require_role(Role.SCHOOL_OFFICER)
    e = Enrolment.objects.select_related("school", "person").filter(pk=enrolment_id).first()
    if e is None or not actor.covers_school(e.school_id, e.school.area_id):
        raise not_found()
    return e


def _open(
    actor: Actor | None,
    kind: str,
    school: School,
    *,
    academic_year: int,
    person: Person | None = None,
    enrolment: Enrolment | None = None,
    other_school: School | None = None,
    data: dict[str, Any] | None = None,
    deadline: dt.datetime | None = None,
    note: str = "",
) -> Case:
    case = Case.objects.create(
        kind=kind,
        school=school,
        other_school=other_school,
        person=person,
        enrolment=enrolment,
        academic_year=academic_year,
        data=data or {},
        deadline=deadline,
        opened_by=actor.user if actor else None,
        opened_at=clock.now(),
    )
    if note and actor is not None:
        CaseComment.objects.create(
            case=case,
            author=actor.user,
            author_role=actor.role,
            at=case.opened_at,
            text=note,
        )
    _record(actor, f"case.open.{kind}", case, after={"kind": kind, **case.data})
    return case


def _area_case(actor: Actor, case_id: int, kind: str) -> Case:
    """A case of ``kind`` from the actor's own area, locked, still waiting for a decision."""
    actor.require_role(Role.AREA_OFFICER)
    case = case_get(actor=actor, case_id=case_id, lock=True)
    if case.kind != kind or case.school.area_id != actor.area_id:
        raise not_found()
    _pending(case, Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW)
    return case


def _pending(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise conflict(ErrorCode.ALREADY_DECIDED)


def _decide(actor: Actor, case: Case, status: str, note: str) -> dict[str, Any]:
    before = audit.snapshot(case, _CASE_FIELDS)
    case.status = status
    case.decided_by, case.decided_at = actor.user, clock.now()
    case.decision_note = clean_text(note)[:2000]
    case.version += 1
    case.save()
    return before


# --- ID correction (L1) --------------------------------------------------------------------------


@transaction.atomic
def id_correction_open(*, actor: Actor, enrolment_id: int, new_id: str, reason: str) -> Case:
    """The school asks to correct a student's citizen ID (never a direct edit, L1), before the
    round's ID-correction deadline."""
    e = _school_enrolment(actor, enrolment_id)
    now = clock.now()
    # L1 first: the deadline usually coincides with the end of entry, whose own refusal
    # (WINDOW_CLOSED) would otherwise hide that ID corrections are closed
    current = current_round(e.academic_year, now)
    if current is not None:
        check_id_correction_open(current.id_correction_deadline, now)
    r = require_entry_round(e.academic_year, now, e.school_id)
    check_id_correction_open(r.id_correction_deadline, now)
    pid, kind = normalize_person_id(new_id)
    if pid == e.person.person_id:
        raise DmcError(ErrorCode.VALIDATION, fields={"new_id": ["unchanged"]})
    if not clean_text(reason):
        raise DmcError(ErrorCode.NOTE_REQUIRED, fields={"reason": ["required"]})
    return _open(
        actor,
        Case.Kind.ID_CORRECTION,
        e.school,
        academic_year=e.academic_year,
        person=e.person,
        enrolment=e,
        deadline=r.id_correction_deadline,
        data={"old_id": e.person.person_id, "new_id": pid, "new_kind": kind},
        note=clean_text(reason),
    )


@transaction.atomic
def id_correction_forward(*, actor: Actor, case_id: int, note: str = "") -> Case:
    """The school's area checks the evidence and forwards the request to OBEC."""
    actor.require_role(Role.AREA_OFFICER)
    case = case_get(actor=actor, case_id=case_id, lock=True)
    if case.kind != Case.Kind.ID_CORRECTION or case.school.area_id != actor.area_id:
        raise not_found()
    _pending(case, Case.Status.SUBMITTED)
    before = _decide(actor, case, Case.Status.UNDER_REVIEW, note)
    _record(actor, "case.forward", case, before=before)
    return case


@transaction.atomic
def id_correction_decide(*, actor: Actor, case_id: int, approve: bool, note: str = "") -> Case:
    """OBEC applies the corrected ID (one row: every enrolment, snapshot row and case refers to
    the person, so it changes everywhere at once) or rejects."""
    actor.require_role(Role.OBEC_ADMIN)
    case = case_get(actor=actor, case_id=case_id, lock=True)
    if case.kind != Case.Kind.ID_CORRECTION:
        raise not_found()
    if case.status == Case.Status.SUBMITTED:
        raise conflict(ErrorCode.CASE_NOT_FORWARDED)
    _pending(case, Case.Status.UNDER_REVIEW)
    if not approve or case.person_id is None:
        before = _decide(actor, case, Case.Status.REJECTED, note)
        _record(actor, "case.reject", case, before=before, reason=note)
        return case
    person = Person.objects.select_for_update().get(pk=case.person_id)
    new_id = case.data["new_id"]
    if Person.objects.filter(person_id=new_id).exclude(pk=person.pk).exists():
        raise conflict(ErrorCode.PERSON_EXISTS)
    old = {"person_id": person.person_id, "id_kind": person.id_kind}
    person.person_id, person.id_kind = new_id, case.data["new_kind"]
    person.version += 1
    person.save(update_fields=["person_id", "id_kind", "version", "updated_at"])
    before = _decide(actor, case, Case.Status.APPLIED, note)
    audit.record(
        actor=actor,
        action="person.id_corrected",
        target=person,
        before=old,
        after={"person_id": person.person_id, "id_kind": person.id_kind},
        reason=f"case {case.pk}",
        school_id=case.school_id,
        area_id=case.school.area_id,
    )
    _record(actor, "case.apply", case, before=before)
    return case


# --- dropout consultation (L7) -------------------------------------------------------------------


@transaction.atomic
def dropout_open(
    *, actor: Actor, enrolment_id: int, reason: str, left_on: dt.date, note: str
) -> Case:
    """The school consults its area office before a dropout (ออกกลางคัน)."""
    e = _school_enrolment(actor, enrolment_id)
    r = require_entry_round(e.academic_year, clock.now(), e.school_id)
    if reason not in CODES["dropout_reason"]:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=reason,
            list_th="สาเหตุการออกกลางคัน",
            list_en="dropout reason",
            fields={"reason": ["code_unknown"]},
        )
    if e.status != Enrolment.Status.ACTIVE:
        raise conflict(ErrorCode.ALREADY_DECIDED)
    # what the approval will check (L9, D3, L6): refuse now, not after the area has agreed
    student_rules.check_withdrawable(tracked_318=e.tracked_318, graduated=False)
    ay = r.academic_year
    student_rules.check_year_end_leave(
        round_number=r.number, left_on=left_on, exam_starts_on=ay.final_exam_on or ay.ends_on
    )
    existing = Case.objects.filter(
        kind=Case.Kind.DROPOUT,
        enrolment=e,
        status__in=[Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW],
    ).first()
    if existing is not None:
        raise conflict(ErrorCode.CASE_ALREADY_OPEN, case_id=existing.pk)
    return _open(
        actor,
        Case.Kind.DROPOUT,
        e.school,
        academic_year=e.academic_year,
        person=e.person,
        enrolment=e,
        data={"reason": reason, "left_on": left_on.isoformat()},
        note=clean_text(note),
    )


@transaction.atomic
def dropout_decide(*, actor: Actor, case_id: int, approve: bool, note: str = "") -> Case:
    """The school's area approves (the dropout takes effect now, L7) or rejects."""
    from dmc.students import movements

    case = _area_case(actor, case_id, Case.Kind.DROPOUT)
    if not approve:
        before = _decide(actor, case, Case.Status.REJECTED, note)
        _record(actor, "case.reject", case, before=before, reason=note)
        return case
    assert case.enrolment_id is not None
    movements.withdraw(
        actor=actor,
        enrolment_id=case.enrolment_id,
        version=None,
        reason=movements.WITHDRAW_DROPOUT,
        left_on=dt.date.fromisoformat(case.data["left_on"]),
        note=f"case {case.pk}",
        dropout_case_approved=True,
        dropout_reason=case.data["reason"],
    )
    before = _decide(actor, case, Case.Status.APPLIED, note)
    _record(actor, "case.apply", case, before=before)
    return case


# --- duplicates (D1) -----------------------------------------------------------------------------


def duplicate_open(
    *, actor: Actor, claimant: School, holder: Enrolment, claim: dict[str, Any]
) -> Case:
    """A school pulled a person still active at another school: open (or return the open) case
    with both schools as parties. Called inside the transfer's transaction."""
    existing = Case.objects.filter(
        kind=Case.Kind.DUPLICATE,
        person_id=holder.person_id,
        school=claimant,
        academic_year=holder.academic_year,
        status__in=[Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW],
    ).first()
    if existing is not None:
        return existing
    return _open(
        actor,
        Case.Kind.DUPLICATE,
        claimant,
        academic_year=holder.academic_year,
        person=holder.person,
        enrolment=holder,
        other_school=holder.school,
        deadline=clock.now() + dt.timedelta(days=DUPLICATE_DAYS),
        data={"claim": claim, "holder_enrolment": holder.pk},
    )


@transaction.atomic
def duplicate_decide(*, actor: Actor, case_id: int, keeper: str, note: str = "") -> Case:
    """The area of the school holding the student decides who keeps the student and the count:
    ``keeper`` is "holder" (nothing moves) or "claimant" (the holder's enrolment ends as a
    transfer out and the claimant's enrolment starts). Both schools must still be open for
    entry (not confirmed)."""
    from dmc.students import movements
    from dmc.students.services import enrolment_create

    actor.require_role(Role.AREA_OFFICER, Role.OBEC_ADMIN)
    case = case_get(actor=actor, case_id=case_id, lock=True)
    if case.kind != Case.Kind.DUPLICATE:
        raise not_found()
    holder_school = case.other_school
    assert holder_school is not None
    if actor.is_area and holder_school.area_id != actor.area_id:
        raise DmcError(
            ErrorCode.ROLE_NOT_ALLOWED,
            http_status=403,
            role_th="เขตพื้นที่ของโรงเรียนฝ่ายผู้ขอย้าย",
            role_en="The claimant school's area office",
        )
    _pending(case, Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW)
    if keeper not in ("holder", "claimant"):
        raise DmcError(ErrorCode.VALIDATION, fields={"keeper": ["holder or claimant"]})
    now = clock.now()
    if keeper == "claimant":
        holder = Enrolment.objects.filter(
            pk=case.data["holder_enrolment"], status=Enrolment.Status.ACTIVE
        ).first()
        if holder is not None:
            movements.transfer_out(
                actor=actor,
                enrolment_id=holder.pk,
                version=None,
                left_on=clock.local(now).date(),
                destination=f"{case.school.name} (case {case.pk})",
                by_case=True,
            )
        claim = case.data["claim"]
        require_entry_round(case.academic_year, now, case.school_id)
        assert case.person is not None
        created = enrolment_create(
            actor=None,
            person=case.person,
            school=case.school,
            academic_year=case.academic_year,
            grade=claim["grade"],
            room=int(claim["room"]),
            student_no=claim["student_no"],
            admitted_on=dt.date.fromisoformat(claim["admitted_on"]),
        )
        if claim.get("sat_exam_here"):  # as the claim stated (L5), like a direct transfer in
            Enrolment.objects.filter(pk=created.pk).update(sat_exam=True)
    before = _decide(actor, case, Case.Status.APPLIED, note)
    case.data = {**case.data, "keeper": keeper}
    case.save(update_fields=["data"])
    _record(
        actor,
        "case.decide_duplicate",
        case,
        before=before,
        after={**audit.snapshot(case, _CASE_FIELDS), "keeper": keeper},
        reason=note,
    )
    return case


# --- G-code certification ------------------------------------------------------------------------


@transaction.atomic
def gcode_open(*, actor: Actor, enrolment_id: int, note: str = "") -> Case:
    """The school asks its area to certify a student's G-code."""
    e = _school_enrolment(actor, enrolment_id)
    if e.person.id_kind != Person.IdKind.GCODE:
        raise DmcError(ErrorCode.GCODE_FORMAT, fields={"person_id": ["not a G-code"]})
    if e.person.gcode_certified_at is not None:
        raise conflict(ErrorCode.ALREADY_DECIDED)
    return _open(
        actor,
        Case.Kind.GCODE,
        e.school,
        academic_year=e.academic_year,
        person=e.person,
        enrolment=e,
        data={"gcode": e.person.person_id},
        note=clean_text(note),
    )


@transaction.atomic
def gcode_decide(*, actor: Actor, case_id: int, approve: bool, note: str = "") -> Case:
    case = _area_case(actor, case_id, Case.Kind.GCODE)
    status = Case.Status.APPLIED if approve else Case.Status.REJECTED
    if approve and case.person_id is not None:
        Person.objects.filter(pk=case.person_id).update(gcode_certified_at=clock.now())
    before = _decide(actor, case, status, note)
    _record(actor, "case.apply" if approve else "case.reject", case, before=before, reason=note)
    return case


# --- comments and evidence -----------------------------------------------------------------------


@transaction.atomic
def comment_add(*, actor: Actor, case_id: int, text: str) -> CaseComment:
    case = case_get(actor=actor, case_id=case_id)
    text = clean_text(text)
    if not text:
        raise DmcError(ErrorCode.NOTE_REQUIRED, fields={"text": ["required"]})
    comment = CaseComment.objects.create(
        case=case, author=actor.user, author_role=actor.role, at=clock.now(), text=text[:4000]
    )
    _record(actor, "case.comment", case, after={"comment": comment.pk})
    return comment


def evidence_type(head: bytes) -> tuple[str, str] | None:
    """(extension, content type) judged by the file's own first bytes, not its name."""
    for magic, kind in _EVIDENCE_TYPES.items():
        if head.startswith(magic):
            return kind
    return None


@transaction.atomic
def attachment_add(*, actor: Actor, case_id: int, filename: str, content: bytes) -> CaseAttachment:
    """Evidence for a case: PDF, PNG or JPEG (by content), at most DMC_EVIDENCE_MAX_BYTES."""
    case = case_get(actor=actor, case_id=case_id)
    limit = settings.DMC_EVIDENCE_MAX_BYTES
    if len(content) > limit:
        raise DmcError(
            ErrorCode.VALUE_RANGE,
            field_th="ขนาดไฟล์ (ไบต์)",
            field_en="File size (bytes)",
            value=len(content),
            low=1,
            high=limit,
            fields={"file": ["too large"]},
        )
    kind = evidence_type(content[:8]) if content else None
    if kind is None:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=clean_text(filename)[:60] or "-",
            list_th="ชนิดไฟล์ที่รับ (PDF, PNG, JPEG)",
            list_en="accepted file types (PDF, PNG, JPEG)",
            fields={"file": ["type"]},
        )
    digest = hashlib.sha256(content).hexdigest()
    attachment = CaseAttachment(
        case=case,
        uploaded_by=actor.user,
        at=clock.now(),
        filename=clean_text(filename)[:200] or "evidence",
        content_type=kind[1],
        extension=kind[0],
        size=len(content),
        sha256=digest,
    )
    attachment.file.save(f"{digest}{kind[0]}", ContentFile(content), save=False)
    attachment.save()
    _record(
        actor,
        "case.attach",
        case,
        after={"attachment": attachment.pk, "sha256": digest, "size": len(content)},
    )
    return attachment


# --- queues --------------------------------------------------------------------------------------


def awaiting(actor: Actor) -> QuerySet[Case]:
    """The cases waiting for this actor to act."""
    open_ = [Case.Status.SUBMITTED, Case.Status.UNDER_REVIEW]
    qs = Case.objects.select_related("school", "other_school", "person")
    if actor.is_obec:
        return qs.filter(kind=Case.Kind.ID_CORRECTION, status=Case.Status.UNDER_REVIEW)
    if actor.is_area:
        return qs.filter(
            Q(
                kind=Case.Kind.ID_CORRECTION,
                status=Case.Status.SUBMITTED,
                school__area_id=actor.area_id,
            )
            | Q(
                kind__in=[Case.Kind.DROPOUT, Case.Kind.GCODE],
                status__in=open_,
                school__area_id=actor.area_id,
            )
            | Q(kind=Case.Kind.DUPLICATE, status__in=open_, other_school__area_id=actor.area_id)
        )
    # a school is waiting on nobody's action but may comment on duplicates about it
    return qs.filter(kind=Case.Kind.DUPLICATE, status__in=open_).filter(
        Q(school_id=actor.school_id) | Q(other_school_id=actor.school_id)
    )


def queue_counts(actor: Actor) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in awaiting(actor).values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def case_decide(
    *, actor: Actor, case_id: int, approve: bool = False, keeper: str = "", note: str = ""
) -> Case:
    """Decide a case of any kind (the web page and the API share this dispatch)."""
    case = case_get(actor=actor, case_id=case_id)
    if case.kind == Case.Kind.DUPLICATE:
        return duplicate_decide(actor=actor, case_id=case.pk, keeper=keeper, note=note)
    decide = {
        Case.Kind.ID_CORRECTION: id_correction_decide,
        Case.Kind.DROPOUT: dropout_decide,
        Case.Kind.GCODE: gcode_decide,
    }[Case.Kind(case.kind)]
    return decide(actor=actor, case_id=case.pk, approve=approve, note=note)
