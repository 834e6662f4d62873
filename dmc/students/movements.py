"""Student movements: transfer in (pull by ID), transfer out, withdraw, the 3.1.8 flag, grade
and room corrections, and their bulk forms. Each is atomic, scoped, window-checked (D8 too),
runs the seed letter's rules for the end-of-year round, keeps the school stats current and is
audited. Dropouts go through a consultation case (L7, dmc.cases)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.codes import CODES
from dmc.core.errors import DmcError, ErrorCode, conflict, not_found
from dmc.core.ids import normalize_person_id
from dmc.core.normalize import clean_text
from dmc.rounds import stats
from dmc.rounds.models import AcademicYear, Round
from dmc.rounds.rules import inside, window_closed
from dmc.rounds.selectors import menu_window, require_entry_round
from dmc.schools.models import School
from dmc.students import rules
from dmc.students.models import Enrolment, Person
from dmc.students.services import (
    PERSON_FIELDS,
    _require_school_write,
    enrolment_create,
    student_update,
)
from dmc.yearend.rules import is_graduate

_MOVE_FIELDS = (
    "status",
    "left_on",
    "leave_reason",
    "dropout_reason",
    "leave_note",
    "tracked_318",
    "grade",
    "room",
)
WITHDRAW_TRANSFER = "01"  # withdrawal_reason: moved to another school
WITHDRAW_TOP_GRADE = "02"  # "completed the top grade": never (D3)
WITHDRAW_DROPOUT = "04"  # only through an approved consultation case (L7)


@dataclass(frozen=True)
class TransferLookup:
    """What the receiving school learns when it pulls an ID (scoped: another school is named
    only when the actor may see it)."""

    person: Person | None
    active_here: Enrolment | None
    active_elsewhere: bool
    elsewhere_name: str


def _year_round(year: int, now: dt.datetime, school_id: int) -> tuple[AcademicYear, Round]:
    r = require_entry_round(year, now, school_id)
    return AcademicYear.objects.get(year=year), r


def _locked_enrolment(actor: Actor, enrolment_id: int, version: int | None) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("school", "person")
        .filter(pk=enrolment_id)
        .first()
    )
    if enrolment is None or not actor.covers_school(enrolment.school_id, enrolment.school.area_id):
        raise not_found()
    if version is not None and enrolment.version != version:
        raise conflict(ErrorCode.STALE_VERSION, changed_at="-")
    return enrolment


def _save_move(
    actor: Actor | None,
    action: str,
    enrolment: Enrolment,
    before_fields: dict[str, Any],
    before_contribution: stats.Contribution | None,
    reason: str = "",
) -> Enrolment:
    enrolment.version += 1
    enrolment.save()
    stats.enrolment_changed(enrolment, enrolment.person, before=before_contribution)
    b, a = audit.diff(before_fields, audit.snapshot(enrolment, _MOVE_FIELDS))
    audit.record(
        actor=actor,
        action=action,
        target=enrolment,
        before=b,
        after=a,
        reason=reason,
        school_id=enrolment.school_id,
        area_id=enrolment.school.area_id,
    )
    return enrolment


def transfer_lookup(*, actor: Actor, school: School, year: int, raw_id: str) -> TransferLookup:
    """Step 1 of a transfer in: find the person by citizen ID or G-code."""
    _require_school_write(actor, school)
    pid, _ = normalize_person_id(raw_id)
    person = Person.objects.filter(person_id=pid).first()
    if person is None:
        return TransferLookup(None, None, False, "")
    active = (
        Enrolment.objects.filter(person=person, academic_year=year, status=Enrolment.Status.ACTIVE)
        .select_related("school")
        .first()
    )
    if active is not None and active.school_id == school.pk:
        return TransferLookup(person, active, False, "")
    name = ""
    if active is not None:
        visible = actor.covers_school(active.school_id, active.school.area_id)
        name = active.school.name if visible else "โรงเรียนอื่น"
    return TransferLookup(person, None, active is not None, name)


@transaction.atomic
def transfer_in(
    *,
    actor: Actor,
    school: School,
    year: int,
    person_id: str,
    grade: str,
    room: int,
    student_no: str,
    admitted_on: dt.date | None = None,
    sat_exam_here: bool = False,
    person_changes: dict[str, Any] | None = None,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
) -> tuple[Enrolment | None, Any]:
    """The receiving school pulls a known person by ID (DMC's ย้ายเข้า).

    Returns (enrolment, None) when the person is not active anywhere this year; when the person
    is still active at another school, no second enrolment is made (D1): a duplicate case opens
    with both schools as parties and (None, case) is returned. A concurrent transfer that wins
    the race turns this one into a case too. Round 3: L4 (no next-year applicant) and L5 (only
    a student who sat this year's final exam here). Raises PERSON not found as NOT_FOUND.
    """
    from dmc.cases import services as cases

    _require_school_write(actor, school)
    now = clock.now()
    ay, r = _year_round(year, now, school.pk)
    pid, _ = normalize_person_id(person_id)
    person = Person.objects.filter(person_id=pid).first()
    if person is None:
        raise DmcError(ErrorCode.NOT_FOUND, http_status=404, fields={"person_id": ["not_found"]})
    admitted = admitted_on or clock.local(now).date()
    rules.check_year_end_add(round_number=r.number, sat_exam_here=sat_exam_here)
    if admitted_on is not None:  # an admission after the year ends: a next-year applicant (L4)
        rules.check_not_next_year_applicant(
            round_number=r.number, admitted_on=admitted_on, year_ends_on=ay.ends_on
        )
    claim = {
        "grade": grade,
        "room": room,
        "student_no": clean_text(student_no),
        "admitted_on": admitted.isoformat(),
        "sat_exam_here": sat_exam_here,
    }
    holder = Enrolment.objects.filter(
        person=person, academic_year=year, status=Enrolment.Status.ACTIVE
    ).first()
    if holder is not None:
        if holder.school_id == school.pk:
            raise conflict(
                ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE,
                school_th="โรงเรียนนี้",
                school_en="this school",
                year=year,
            )
        return None, cases.duplicate_open(actor=actor, claimant=school, holder=holder, claim=claim)
    try:
        with transaction.atomic():
            enrolment = enrolment_create(
                actor=actor,
                person=person,
                school=school,
                academic_year=year,
                grade=grade,
                room=room,
                student_no=student_no,
                weight_kg=weight_kg,
                height_cm=height_cm,
                admitted_on=admitted,
            )
    except DmcError as exc:
        if exc.code != ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE:
            raise
        # another school won the race (D1): this claim becomes a duplicate case
        holder = Enrolment.objects.get(
            person=person, academic_year=year, status=Enrolment.Status.ACTIVE
        )
        return None, cases.duplicate_open(actor=actor, claimant=school, holder=holder, claim=claim)
    if sat_exam_here:
        Enrolment.objects.filter(pk=enrolment.pk).update(sat_exam=True)
        enrolment.sat_exam = True
    audit.record(
        actor=actor,
        action="enrolment.transfer_in",
        target=enrolment,
        after=claim,
        school_id=school.pk,
        area_id=school.area_id,
    )
    if person_changes:
        student_update(
            actor=actor,
            enrolment_id=enrolment.pk,
            person_version=person.version,
            enrolment_version=enrolment.version,
            changes={k: v for k, v in person_changes.items() if k in PERSON_FIELDS},
        )
        enrolment.refresh_from_db()
    return enrolment, None


def _leave_checks(
    enrolment: Enrolment, r: Round, ay: AcademicYear, left_on: dt.date, exam_rule: bool = True
) -> None:
    rules.check_withdrawable(
        tracked_318=enrolment.tracked_318,
        graduated=enrolment.status == Enrolment.Status.GRADUATED
        or is_graduate(year_result=enrolment.year_result, grade=enrolment.grade),
    )
    if enrolment.status != Enrolment.Status.ACTIVE:
        raise conflict(ErrorCode.ALREADY_DECIDED)
    if exam_rule:
        exam = ay.final_exam_on or ay.ends_on
        rules.check_year_end_leave(round_number=r.number, left_on=left_on, exam_starts_on=exam)


@transaction.atomic
def transfer_out(
    *,
    actor: Actor,
    enrolment_id: int,
    version: int | None,
    left_on: dt.date,
    destination: str = "",
    by_case: bool = False,
) -> Enrolment:
    """The school records that a student moved to another school (ย้ายออก). Round 3: only a
    student who left before the final exam (L6); never a 3.1.8 student (L9) or graduate (D3).
    ``by_case``: the area office applies its duplicate-case decision."""
    if by_case:
        actor.require_role(Role.AREA_OFFICER, Role.OBEC_ADMIN)
    else:
        actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    enrolment = _locked_enrolment(actor, enrolment_id, version)
    ay, r = _year_round(enrolment.academic_year, clock.now(), enrolment.school_id)
    # L6 guards a school's own withdrawal; an area's duplicate decision rests on the case's
    # evidence of where the student sat the exam, so it is not second-guessed here
    _leave_checks(enrolment, r, ay, left_on, exam_rule=not by_case)
    before = audit.snapshot(enrolment, _MOVE_FIELDS)
    contribution = stats.contribution(enrolment, enrolment.person.sex)
    enrolment.status = Enrolment.Status.TRANSFERRED_OUT
    enrolment.left_on, enrolment.leave_reason = left_on, WITHDRAW_TRANSFER
    enrolment.leave_note = clean_text(destination)[:300]
    return _save_move(actor, "enrolment.transfer_out", enrolment, before, contribution)


@transaction.atomic
def withdraw(
    *,
    actor: Actor,
    enrolment_id: int,
    version: int | None,
    reason: str,
    left_on: dt.date,
    note: str = "",
    dropout_case_approved: bool = False,
    dropout_reason: str = "",
) -> Enrolment:
    """จำหน่าย with a reason from the code list. A dropout (reason 04) only through an approved
    consultation case (L7); "completed the top grade" is never a withdrawal (D3)."""
    actor.require_role(Role.SCHOOL_OFFICER, Role.AREA_OFFICER, Role.OBEC_ADMIN)
    if reason not in CODES["withdrawal_reason"]:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            value=reason,
            list_th="เหตุผลการจำหน่าย",
            list_en="withdrawal reason",
            fields={"reason": ["code_unknown"]},
        )
    if reason == WITHDRAW_TOP_GRADE:
        raise conflict(ErrorCode.GRADUATE_NOT_WITHDRAWN)
    if reason == WITHDRAW_DROPOUT:
        rules.check_dropout(consultation_approved=dropout_case_approved)
    elif actor.is_area:  # an area office applies approved dropouts only
        raise DmcError(
            ErrorCode.ROLE_NOT_ALLOWED,
            http_status=403,
            role_th=Role.AREA_OFFICER.label,
            role_en="Area office officer",
        )
    enrolment = _locked_enrolment(actor, enrolment_id, version)
    ay, r = _year_round(enrolment.academic_year, clock.now(), enrolment.school_id)
    _leave_checks(enrolment, r, ay, left_on)
    before = audit.snapshot(enrolment, _MOVE_FIELDS)
    contribution = stats.contribution(enrolment, enrolment.person.sex)
    enrolment.status = (
        Enrolment.Status.DROPOUT if reason == WITHDRAW_DROPOUT else Enrolment.Status.WITHDRAWN
    )
    enrolment.left_on, enrolment.leave_reason = left_on, reason
    enrolment.leave_note = clean_text(note)[:300]
    if reason == WITHDRAW_DROPOUT:
        enrolment.dropout_reason = dropout_reason
    action = "enrolment.dropout" if reason == WITHDRAW_DROPOUT else "enrolment.withdraw"
    return _save_move(actor, action, enrolment, before, contribution, reason=note)


def _menu_open(r: Round, menu: str, now: dt.datetime) -> None:
    window = menu_window(r, menu, now)
    if not inside(window.opens_at, window.closes_at, now):
        raise window_closed(
            now=now,
            opens=window.opens_at,
            closes=window.closes_at,
            window_th=f"เมนู {menu}",
            window_en=f"menu {menu}",
        )


@transaction.atomic
def set_tracked(
    *, actor: Actor, enrolment_id: int, version: int | None, tracked: bool, note: str = ""
) -> Enrolment:
    """Menu 3.1.8: flag (or unflag) a student who did not sit the final exam but is still being
    followed up; only while the round's 3.1.8 menu is open (1 March in the seed letter)."""
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    enrolment = _locked_enrolment(actor, enrolment_id, version)
    now = clock.now()
    _, r = _year_round(enrolment.academic_year, now, enrolment.school_id)
    _menu_open(r, "3.1.8", now)
    if enrolment.status != Enrolment.Status.ACTIVE:
        raise conflict(ErrorCode.ALREADY_DECIDED)
    if enrolment.tracked_318 == tracked:
        return enrolment
    before = audit.snapshot(enrolment, _MOVE_FIELDS)
    contribution = stats.contribution(enrolment, enrolment.person.sex)
    enrolment.tracked_318 = tracked
    return _save_move(actor, "enrolment.tracked_318", enrolment, before, contribution, reason=note)


@transaction.atomic
def correct_grade(
    *, actor: Actor, enrolment_id: int, version: int | None, grade: str, room: int, reason: str
) -> Enrolment:
    """D2: a grade or room change is a correction with a reason (promotion is rollover's)."""
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    enrolment = _locked_enrolment(actor, enrolment_id, version)
    _year_round(enrolment.academic_year, clock.now(), enrolment.school_id)
    rules.check_grade_change(
        old=(enrolment.grade, enrolment.room), new=(grade, room), reason=reason
    )
    if (grade, room) == (enrolment.grade, enrolment.room):
        return enrolment
    from dmc.schools.models import SchoolGrade

    rooms = dict(
        SchoolGrade.objects.filter(
            school_id=enrolment.school_id, academic_year=enrolment.academic_year
        ).values_list("grade", "rooms")
    )
    rules.check_grade_room(grade, room, rooms)
    before = audit.snapshot(enrolment, _MOVE_FIELDS)
    contribution = stats.contribution(enrolment, enrolment.person.sex)
    enrolment.grade, enrolment.room = grade, room
    return _save_move(
        actor, "enrolment.correct_grade", enrolment, before, contribution, reason=clean_text(reason)
    )


@dataclass(frozen=True)
class BulkResult:
    done: list[int]
    refused: list[tuple[int, str, str]]  # enrolment id, code, message


def bulk(actor: Actor, ids: list[int], fn: Any, **kwargs: Any) -> BulkResult:
    """Apply one movement to many students; each student succeeds or is refused on its own
    (its own transaction), and every refusal is reported with its reason."""
    done: list[int] = []
    refused: list[tuple[int, str, str]] = []
    for enrolment_id in dict.fromkeys(ids):
        try:
            fn(actor=actor, enrolment_id=enrolment_id, version=None, **kwargs)
        except DmcError as exc:
            refused.append((enrolment_id, exc.code.value, exc.message))
        else:
            done.append(enrolment_id)
    return BulkResult(done, refused)


def withdraw_many(
    *, actor: Actor, ids: list[int], reason: str, left_on: dt.date, note: str = ""
) -> BulkResult:
    return bulk(actor, ids, withdraw, reason=reason, left_on=left_on, note=note)


def assign_room_many(*, actor: Actor, ids: list[int], room: int, reason: str) -> BulkResult:
    def one(*, actor: Actor, enrolment_id: int, version: int | None, **_: Any) -> Enrolment:
        grade = Enrolment.objects.filter(pk=enrolment_id).values_list("grade", flat=True).first()
        if grade is None:
            raise not_found()
        return correct_grade(
            actor=actor,
            enrolment_id=enrolment_id,
            version=version,
            grade=grade,
            room=room,
            reason=reason,
        )

    return bulk(actor, ids, one)
