"""Rounds: OBEC's calendar (years, rounds, windows) and each school's progress through a round:
confirm -> certify -> acknowledge, cancel, revoke, close, sealed snapshots, query notes and
reopen requests.

Every service locks what it changes, decides against ``clock.now()`` inside the transaction,
writes an audit event, and raises ``DmcError`` with the rule's code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode, conflict, not_found, not_in_scope
from dmc.core.rulebook import CHECKS, Severity
from dmc.core.thai import format_datetime_be
from dmc.rounds import checks, stats
from dmc.rounds.models import (
    AcademicYear,
    MenuWindow,
    QueryNote,
    ReopenRequest,
    Round,
    SchoolRound,
    Snapshot,
    SnapshotRow,
)
from dmc.rounds.rules import RoundState, check_confirm_window, inside, window_closed
from dmc.rounds.selectors import state_of
from dmc.rounds.selectors import windows as round_windows
from dmc.schools.models import School, SchoolGrade
from dmc.students.models import Enrolment

_SR_FIELDS = (
    "confirmed_at",
    "confirmed_by",
    "snapshot",
    "certified_at",
    "certified_by",
    "acknowledged_at",
    "acknowledged_by",
    "locked_reason",
    "entry_extended_until",
)
SNAPSHOT_FORMAT = "dmc-snapshot-v1"


def _when(value: dt.datetime) -> str:
    return format_datetime_be(clock.local(value))


def _require_scope(actor: Actor, school: School) -> None:
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()


def _locked(school: School, r: Round) -> SchoolRound:
    locked = SchoolRound.objects.select_for_update(of=("self",))
    sr = locked.filter(school=school, round=r).first()
    if sr is None:  # first action of the school in this round
        # one INSERT … ON CONFLICT DO NOTHING: a concurrent first action creates it only once
        SchoolRound.objects.bulk_create(
            [SchoolRound(school=school, round=r)], ignore_conflicts=True
        )
        sr = locked.get(school=school, round=r)
    sr.school = school  # the caller's row: no second fetch for the audit's area
    return sr


def _school_round(
    actor: Actor, school: School, round_id: int
) -> tuple[Round, SchoolRound, dt.datetime]:
    """Scope check, the round, the school's progress row locked for update, and the time."""
    _require_scope(actor, school)
    r = Round.objects.select_related("academic_year").get(pk=round_id)
    return r, _locked(school, r), clock.now()


def _clear_confirmation(sr: SchoolRound, now: dt.datetime) -> None:
    """Undo confirm, certify and acknowledge; the sealed snapshot stays, marked cancelled."""
    if sr.snapshot_id is not None:
        Snapshot.objects.filter(pk=sr.snapshot_id).update(cancelled_at=now)
    sr.confirmed_at = sr.confirmed_by = sr.snapshot = None
    sr.certified_at = sr.certified_by = None
    sr.acknowledged_at = sr.acknowledged_by = None


def _confirm_window(r: Round, now: dt.datetime, sr: SchoolRound | None = None) -> None:
    """L10 on the round's windows; a school its area reopened may also confirm and certify
    until the end of its extension (never after close)."""
    extended = (
        sr is not None
        and sr.entry_extended_until is not None
        and now < sr.entry_extended_until
        and (r.closed_at is None or now < r.closed_at)
    )
    if not extended:
        check_confirm_window(round_windows(r), now)


def _save(
    actor: Actor | None, action: str, sr: SchoolRound, before: dict[str, Any], reason: str = ""
) -> SchoolRound:
    sr.version += 1
    sr.save()
    b, a = audit.diff(before, audit.snapshot(sr, _SR_FIELDS))
    audit.record(
        actor=actor,
        action=action,
        target=sr,
        before=b,
        after=a,
        reason=reason,
        school_id=sr.school_id,
        area_id=sr.school.area_id,
    )
    return sr


# --- the checklist -----------------------------------------------------------------------------


def rooms_by_grade(school: School, year: int) -> dict[str, int]:
    return dict(
        SchoolGrade.objects.filter(school=school, academic_year=year).values_list("grade", "rooms")
    )


def blocking_items(
    school: School, year: int, rooms: dict[str, int] | None = None
) -> tuple[int, list[tuple[str, int, int]]]:
    """(blocking student items, D6 room problems) from the maintained stats: no rescan."""
    s = stats.locked_stats(school.pk, year)
    problems = checks.rooms_problems(
        stats.students_by_grade(s.totals),
        rooms if rooms is not None else rooms_by_grade(school, year),
    )
    return stats.blocking_count(s.checks), problems


# --- snapshots ---------------------------------------------------------------------------------


def _row_line(row: SnapshotRow) -> str:
    return (
        f"{row.enrolment_id}|{row.person_id}|{row.school_id}|{row.grade}|{row.room}|"
        f"{row.sex}|{row.birth_date.isoformat()}|{int(row.tracked_318)}|{int(row.counted)}"
    )


def snapshot_hash(header: str, lines: list[str]) -> str:
    digest = hashlib.sha256(header.encode())
    for line in lines:
        digest.update(b"\n" + line.encode())
    return digest.hexdigest()


def _confirm_header(r: Round, school: School) -> str:
    return f"{SNAPSHOT_FORMAT}|confirm|{r.academic_year.year}/{r.number}|{school.smis_code}"


def _totals(rows: list[SnapshotRow], rooms: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        cell = out.setdefault(
            row.grade,
            {"M": 0, "F": 0, "cM": 0, "cF": 0, "tracked": 0, "rooms": rooms.get(row.grade, 0)},
        )
        cell[row.sex] += 1
        if row.counted:
            cell["c" + row.sex] += 1
        if row.tracked_318:
            cell["tracked"] += 1
    return out


def seal_school(
    actor: Actor | None, school: School, r: Round, rooms: dict[str, int] | None = None
) -> Snapshot:
    """Copy the school's active rows of the round's year into a confirm snapshot with a hash."""
    year = r.academic_year.year
    if rooms is None:
        rooms = rooms_by_grade(school, year)
    rows = [
        SnapshotRow(
            enrolment_id=e["pk"],
            person_id=e["person_id"],
            school_id=school.pk,
            grade=e["grade"],
            room=e["room"],
            sex=e["person__sex"],
            birth_date=e["person__birth_date"],
            tracked_318=e["tracked_318"],
            counted=e["counted"],
        )
        for e in Enrolment.objects.filter(
            school=school, academic_year=year, status=Enrolment.Status.ACTIVE
        )
        .order_by("pk")
        .values(
            "pk",
            "person_id",
            "grade",
            "room",
            "person__sex",
            "person__birth_date",
            "tracked_318",
            "counted",
        )
    ]
    snapshot = Snapshot.objects.create(
        round=r,
        school=school,
        kind=Snapshot.Kind.CONFIRM,
        taken_at=clock.now(),
        taken_by=actor.user if actor else None,
        rows=len(rows),
        counted_rows=sum(1 for row in rows if row.counted),
        totals=_totals(rows, rooms),
        sha256=snapshot_hash(_confirm_header(r, school), [_row_line(row) for row in rows]),
    )
    for row in rows:
        row.snapshot = snapshot
    SnapshotRow.objects.bulk_create(rows, batch_size=1000)
    return snapshot


def snapshot_recompute(snapshot: Snapshot) -> str:
    """The hash recomputed from the stored rows (equal to ``sha256`` unless tampered with)."""
    if snapshot.kind == Snapshot.Kind.CLOSE:
        return _close_hash(snapshot.round, snapshot.totals["schools"])
    rows = list(SnapshotRow.objects.filter(snapshot=snapshot).order_by("enrolment_id"))
    assert snapshot.school is not None
    return snapshot_hash(
        _confirm_header(snapshot.round, snapshot.school), [_row_line(row) for row in rows]
    )


def _close_hash(r: Round, schools: list[list[Any]]) -> str:
    header = f"{SNAPSHOT_FORMAT}|close|{r.academic_year.year}/{r.number}"
    return snapshot_hash(header, [f"{code}|{digest}" for code, digest, *_ in schools])


# --- confirm, certify, cancel, acknowledge -----------------------------------------------------


@transaction.atomic
def round_confirm(*, actor: Actor, school: School, round_id: int) -> SchoolRound:
    """The school officer confirms the school's data for the round (D7, L10, D8).

    Refuses outside the confirm window (CONFIRM_WINDOW_CLOSED), when OBEC suspended the button
    (CONFIRM_LOCKED), twice (ALREADY_CONFIRMED, 409), and while the checklist has blocking items
    (CHECKLIST_BLOCKING, read from the maintained stats). Seals a snapshot.
    """
    actor.require_role(Role.SCHOOL_OFFICER)
    r, sr, now = _school_round(actor, school, round_id)
    _confirm_window(r, now, sr)
    if sr.locked_reason:
        raise DmcError(ErrorCode.CONFIRM_LOCKED, http_status=409, reason=sr.locked_reason)
    if sr.confirmed_at is not None:
        raise conflict(ErrorCode.ALREADY_CONFIRMED, at=_when(sr.confirmed_at))
    rooms = rooms_by_grade(school, r.academic_year.year)
    blocking, problems = blocking_items(school, r.academic_year.year, rooms)
    if blocking or problems:
        raise DmcError(
            ErrorCode.CHECKLIST_BLOCKING, http_status=409, count=blocking + len(problems)
        )
    before = audit.snapshot(sr, _SR_FIELDS)
    sr.snapshot = seal_school(actor, school, r, rooms)
    sr.confirmed_at, sr.confirmed_by = now, actor.user
    return _save(actor, "round.confirm", sr, before)


@transaction.atomic
def round_certify(*, actor: Actor, school: School, round_id: int) -> SchoolRound:
    """The director certifies a confirmed school, inside the window, not as the confirmer."""
    actor.require_role(Role.SCHOOL_DIRECTOR)
    r, sr, now = _school_round(actor, school, round_id)
    _confirm_window(r, now, sr)
    if sr.confirmed_at is None:
        raise conflict(ErrorCode.NOT_CONFIRMED)
    if sr.certified_at is not None:
        raise conflict(ErrorCode.ALREADY_CERTIFIED, at=_when(sr.certified_at))
    if sr.confirmed_by_id == actor.user.pk:
        raise DmcError(ErrorCode.CERTIFIER_SAME_PERSON, http_status=409)
    before = audit.snapshot(sr, _SR_FIELDS)
    sr.certified_at, sr.certified_by = now, actor.user
    return _save(actor, "round.certify", sr, before)


@transaction.atomic
def round_cancel(
    *, actor: Actor, school: School, round_id: int, reason: str = "", lock: bool = False
) -> SchoolRound:
    """Cancel a school's confirmation (and its certification and acknowledgement).

    The school (officer or director) until the self-cancel deadline; after it, the area office
    until the round closes; OBEC at any time before close (a revocation, optionally suspending
    the confirm button with ``lock``). Raises NOT_CONFIRMED, SELF_CANCEL_PASSED, ROUND_CLOSED.
    """
    actor.require_role(
        Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR, Role.AREA_OFFICER, Role.OBEC_ADMIN
    )
    r, sr, now = _school_round(actor, school, round_id)
    if r.closed_at is not None and now >= r.closed_at:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    if actor.is_school and now >= r.self_cancel_deadline:
        raise conflict(ErrorCode.SELF_CANCEL_PASSED, deadline=_when(r.self_cancel_deadline))
    if actor.is_area and now < r.self_cancel_deadline:
        # before the deadline the school cancels its own confirmation
        raise DmcError(
            ErrorCode.ROLE_NOT_ALLOWED,
            http_status=403,
            role_th=Role(actor.role).label,
            role_en="Area office officer",
        )
    if sr.confirmed_at is None and not (actor.is_obec and lock):
        raise conflict(ErrorCode.NOT_CONFIRMED)
    before = audit.snapshot(sr, _SR_FIELDS)
    _clear_confirmation(sr, now)
    if actor.is_obec and lock:
        sr.locked_reason = reason[:300] or "-"
    action = "round.revoke" if actor.is_obec else "round.cancel"
    return _save(actor, action, sr, before, reason=reason)


@transaction.atomic
def round_unlock(*, actor: Actor, school: School, round_id: int) -> SchoolRound:
    """OBEC gives a school its confirm button back."""
    actor.require_role(Role.OBEC_ADMIN)
    r = Round.objects.get(pk=round_id)
    if r.closed_at is not None and clock.now() >= r.closed_at:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    sr = _locked(school, r)
    before = audit.snapshot(sr, _SR_FIELDS)
    sr.locked_reason = ""
    return _save(actor, "round.unlock", sr, before)


@transaction.atomic
def round_acknowledge(*, actor: Actor, school: School, round_id: int) -> SchoolRound:
    """The area office acknowledges a certified school, until the acknowledgement deadline."""
    actor.require_role(Role.AREA_OFFICER)
    r, sr, now = _school_round(actor, school, round_id)
    if r.closed_at is not None and now >= r.closed_at:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    if not inside(r.confirm_opens_at, r.area_ack_closes_at, now):
        raise window_closed(
            now=now,
            opens=r.confirm_opens_at,
            closes=r.area_ack_closes_at,
            window_th="รับทราบข้อมูลของเขตพื้นที่",
            window_en="area acknowledgement",
        )
    if sr.certified_at is None:
        raise conflict(ErrorCode.NOT_CERTIFIED)
    if sr.acknowledged_at is not None:
        return sr  # idempotent: acknowledging twice changes nothing
    before = audit.snapshot(sr, _SR_FIELDS)
    sr.acknowledged_at, sr.acknowledged_by = now, actor.user
    return _save(actor, "round.acknowledge", sr, before)


@transaction.atomic
def round_acknowledge_clean(*, actor: Actor, round_id: int) -> list[SchoolRound]:
    """One click: acknowledge every certified, not yet acknowledged school of the area whose
    checklist has no warnings or explained queries left to look at."""
    actor.require_role(Role.AREA_OFFICER)
    done = []
    candidates = SchoolRound.objects.filter(
        round_id=round_id,
        school__area_id=actor.area_id,
        certified_at__isnull=False,
        acknowledged_at__isnull=True,
    ).select_related("school", "snapshot")
    for sr in candidates:
        s = stats.locked_stats(sr.school_id, sr.round.academic_year.year)
        attention = [
            t
            for t in s.checks
            if t.endswith("!")
            or t.rstrip("!") not in CHECKS  # e.g. the blocked-students count
            or CHECKS[t.rstrip("!")].severity != Severity.INFO
        ]
        if attention:
            continue
        done.append(round_acknowledge(actor=actor, school=sr.school, round_id=round_id))
    return done


# --- close ---------------------------------------------------------------------------------------


@transaction.atomic
def round_close(*, actor: Actor, round_id: int) -> Snapshot:
    """OBEC closes the round after the confirm window: the official data is sealed as the list
    of the confirmed schools' snapshot hashes (and their totals) with one hash over them."""
    actor.require_role(Role.OBEC_ADMIN)
    r = Round.objects.select_for_update().select_related("academic_year").get(pk=round_id)
    now = clock.now()
    if r.closed_at is not None:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    if now < r.confirm_closes_at:
        raise DmcError(
            ErrorCode.ROUND_NOT_CLOSABLE, http_status=409, closes=_when(r.confirm_closes_at)
        )
    confirmed = list(
        SchoolRound.objects.filter(round=r, confirmed_at__isnull=False)
        .select_related("school", "snapshot")
        .order_by("school__smis_code")
    )
    schools = [
        [
            sr.school.smis_code,
            sr.snapshot.sha256,
            sr.snapshot.rows,
            sr.snapshot.counted_rows,
            sr.certified_at is not None,
        ]
        for sr in confirmed
        if sr.snapshot is not None
    ]
    totals: dict[str, Any] = {"schools": schools, "grades": {}}
    for sr in confirmed:
        if sr.snapshot is None:
            continue
        for grade, cell in sr.snapshot.totals.items():
            agg = totals["grades"].setdefault(
                grade, {"M": 0, "F": 0, "cM": 0, "cF": 0, "tracked": 0, "rooms": 0}
            )
            for k in agg:
                agg[k] += cell.get(k, 0)
    snapshot = Snapshot.objects.create(
        round=r,
        kind=Snapshot.Kind.CLOSE,
        taken_at=now,
        taken_by=actor.user,
        rows=sum(s[2] for s in schools),
        counted_rows=sum(s[3] for s in schools),
        totals=totals,
        sha256=_close_hash(r, schools),
    )
    before = {"closed_at": None}
    r.closed_at = now
    r.version += 1
    r.save(update_fields=["closed_at", "version"])
    audit.record(
        actor=actor,
        action="round.close",
        target=r,
        before=before,
        after={"closed_at": now, "snapshot": snapshot.sha256, "confirmed_schools": len(schools)},
    )
    return snapshot


# --- queries and reopen requests ------------------------------------------------------------------


@transaction.atomic
def query_explain(*, actor: Actor, enrolment_id: int, check_key: str, note: str) -> QueryNote:
    """Explain a query-severity check for one student; it then no longer blocks confirmation."""
    actor.require_role(Role.SCHOOL_OFFICER)
    enrolment = Enrolment.objects.select_related("school", "person").filter(pk=enrolment_id).first()
    if enrolment is None or not actor.covers_school(enrolment.school_id, enrolment.school.area_id):
        raise not_found()
    check = CHECKS.get(check_key)
    if check is None or check.severity != Severity.QUERY:
        raise DmcError(ErrorCode.NOT_A_QUERY, http_status=400)
    note = note.strip()
    if not note:
        raise DmcError(ErrorCode.NOTE_REQUIRED, fields={"note": ["required"]})
    from dmc.rounds.selectors import require_entry_round

    require_entry_round(enrolment.academic_year, clock.now(), enrolment.school_id)
    before = stats.contribution(enrolment, enrolment.person.sex)
    qn, _ = QueryNote.objects.update_or_create(
        enrolment=enrolment,
        check_key=check_key,
        defaults={"note": note[:2000], "written_by": actor.user, "written_at": clock.now()},
    )
    stats.enrolment_changed(enrolment, enrolment.person, before=before)
    audit.record(
        actor=actor,
        action="query.explain",
        target=enrolment,
        after={"check": check_key, "note": qn.note},
        school_id=enrolment.school_id,
        area_id=enrolment.school.area_id,
    )
    return qn


@transaction.atomic
def reopen_request(*, actor: Actor, school: School, round_id: int, reason: str) -> ReopenRequest:
    """A school asks its area office for late entry (or to reopen its confirmed data)."""
    actor.require_role(Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR)
    _require_scope(actor, school)
    r = Round.objects.get(pk=round_id)
    now = clock.now()
    if r.closed_at is not None and now >= r.closed_at:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    reason = reason.strip()
    if not reason:
        raise DmcError(ErrorCode.NOTE_REQUIRED, fields={"reason": ["required"]})
    sr = SchoolRound.objects.filter(school=school, round=r).first()
    entry_open = inside(r.entry_opens_at, r.entry_closes_at, now)
    if entry_open and (sr is None or sr.confirmed_at is None):
        raise DmcError(ErrorCode.REOPEN_NOT_NEEDED, http_status=409)
    waiting = ReopenRequest.objects.filter(
        school=school, round=r, status=ReopenRequest.Status.SUBMITTED
    ).first()
    if waiting is not None:
        raise conflict(ErrorCode.REOPEN_PENDING, at=_when(waiting.requested_at))
    req = ReopenRequest.objects.create(
        school=school, round=r, reason=reason[:2000], requested_by=actor.user, requested_at=now
    )
    audit.record(
        actor=actor,
        action="reopen.request",
        target=req,
        after={"reason": req.reason},
        school_id=school.pk,
        area_id=school.area_id,
    )
    return req


@transaction.atomic
def reopen_decide(
    *, actor: Actor, request_id: int, approve: bool, until: dt.datetime | None, note: str = ""
) -> ReopenRequest:
    """The area office approves (with an end time) or rejects a reopen request. Approving
    cancels the school's confirmation, if any, and lets it enter data until ``until``."""
    actor.require_role(Role.AREA_OFFICER)
    req = (
        ReopenRequest.objects.select_for_update(of=("self",))
        .select_related("school", "round")
        .filter(pk=request_id)
        .first()
    )
    if req is None or req.school.area_id != actor.area_id:
        raise not_found()
    if req.status != ReopenRequest.Status.SUBMITTED:
        raise DmcError(ErrorCode.ALREADY_DECIDED, http_status=409)
    now = clock.now()
    if approve:
        if until is None or until <= now:
            raise DmcError(
                ErrorCode.WINDOWS_ORDER,
                fields={"until": ["after now"]},
                detail_th="เวลาสิ้นสุดต้องอยู่หลังเวลาปัจจุบัน",
                detail_en="the end must be after now",
            )
        r = req.round
        if r.closed_at is not None and now >= r.closed_at:
            raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
        sr = _locked(req.school, r)
        before = audit.snapshot(sr, _SR_FIELDS)
        _clear_confirmation(sr, now)
        sr.entry_extended_until = until
        _save(actor, "round.reopen", sr, before, reason=note)
    req.status = ReopenRequest.Status.APPROVED if approve else ReopenRequest.Status.REJECTED
    req.decided_by, req.decided_at, req.decision_note = actor.user, now, note[:2000]
    req.extends_until = until if approve else None
    req.save()
    audit.record(
        actor=actor,
        action="reopen.approve" if approve else "reopen.reject",
        target=req,
        before={"status": "submitted"},
        after={"status": req.status, "until": req.extends_until},
        reason=note,
        school_id=req.school_id,
        area_id=req.school.area_id,
    )
    return req


def state_counts(round_id: int, area_id: int | None = None) -> dict[str, int]:
    qs = SchoolRound.objects.filter(round_id=round_id)
    if area_id is not None:
        qs = qs.filter(school__area_id=area_id)
    return qs.aggregate(
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        certified=Count("pk", filter=Q(certified_at__isnull=False)),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
    )


def round_state_now(r: Round) -> RoundState:
    return state_of(r, clock.now())


# --- the calendar (OBEC) ------------------------------------------------------------------------

_ROUND_FIELDS = (
    "number", "as_of_date", "entry_opens_at", "entry_closes_at", "id_correction_deadline",
    "confirm_opens_at", "confirm_closes_at", "self_cancel_deadline", "area_ack_closes_at",
    "closed_at", "published_at",
)  # fmt: skip


@transaction.atomic
def academic_year_get_or_create(
    *,
    actor: Actor | None,
    year: int,
    starts_on: dt.date,
    ends_on: dt.date,
    final_exam_on: dt.date | None = None,
) -> AcademicYear:
    if actor is not None:
        actor.require_role(Role.OBEC_ADMIN)
    ay, created = AcademicYear.objects.get_or_create(
        year=year,
        defaults={"starts_on": starts_on, "ends_on": ends_on, "final_exam_on": final_exam_on},
    )
    if created:
        audit.record(
            actor=actor,
            action="year.create",
            target=ay,
            after={
                "year": year,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "final_exam_on": final_exam_on,
            },
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


WINDOW_FIELDS = (
    "entry_opens_at", "entry_closes_at", "id_correction_deadline", "confirm_opens_at",
    "confirm_closes_at", "self_cancel_deadline", "area_ack_closes_at",
)  # fmt: skip


def check_windows_order(w: dict[str, dt.datetime]) -> None:
    """Windows must follow each other: entry opens <= confirm opens < confirm closes <=
    acknowledgement closes; entry closes and the deadlines fall inside the round."""
    problems: list[tuple[str, str]] = []
    if not w["entry_opens_at"] < w["entry_closes_at"]:
        problems.append(("การบันทึกข้อมูลต้องปิดหลังจากเปิด", "entry must close after it opens"))
    if not w["entry_opens_at"] <= w["confirm_opens_at"]:
        problems.append(
            ("ช่วงยืนยันต้องเปิดหลังเปิดบันทึกข้อมูล", "the confirm window must open after entry opens")
        )
    if not w["confirm_opens_at"] < w["confirm_closes_at"]:
        problems.append(("ช่วงยืนยันต้องปิดหลังจากเปิด", "the confirm window must close after it opens"))
    if not w["confirm_closes_at"] <= w["area_ack_closes_at"]:
        problems.append(
            (
                "การรับทราบของเขตต้องสิ้นสุดหลังปิดช่วงยืนยัน",
                "acknowledgement must end after the confirm window",
            )
        )
    if not w["self_cancel_deadline"] <= w["area_ack_closes_at"]:
        problems.append(
            (
                "กำหนดยกเลิกการยืนยันเองต้องไม่เกินวันรับทราบของเขต",
                "the self-cancel deadline must not pass the acknowledgement end",
            )
        )
    if problems:
        raise DmcError(
            ErrorCode.WINDOWS_ORDER,
            detail_th="; ".join(p[0] for p in problems),
            detail_en="; ".join(p[1] for p in problems),
        )


def _as_bangkok(name: str, value: dt.datetime) -> dt.datetime:
    """A window time without an offset is Bangkok wall-clock time; years outside 2000-2200
    (CE) are refused rather than overflowing the database."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.BANGKOK)
    if not 2000 <= value.year <= 2200:
        raise DmcError(
            ErrorCode.WINDOWS_ORDER,
            fields={name: ["year_range"]},
            detail_th=f"ปี ค.ศ. {value.year} อยู่นอกช่วง 2000–2200",
            detail_en=f"year {value.year} is outside 2000-2200",
        )
    return value


@transaction.atomic
def round_update_windows(
    *, actor: Actor, round_id: int, version: int, windows: dict[str, dt.datetime]
) -> Round:
    """OBEC edits a round's calendar (optimistic locking on ``version``); not once closed."""
    actor.require_role(Role.OBEC_ADMIN)
    r = Round.objects.select_for_update().filter(pk=round_id).first()
    if r is None:
        raise not_found()
    if r.version != version:
        raise conflict(ErrorCode.STALE_VERSION, changed_at="-")
    if r.closed_at is not None:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    merged = {f: _as_bangkok(f, windows.get(f, getattr(r, f))) for f in WINDOW_FIELDS}
    check_windows_order(merged)
    before = audit.snapshot(r, _ROUND_FIELDS)
    for f, v in merged.items():
        setattr(r, f, v)
    r.version += 1
    r.save()
    b, a = audit.diff(before, audit.snapshot(r, _ROUND_FIELDS))
    audit.record(actor=actor, action="round.windows", target=r, before=b, after=a)
    return r
