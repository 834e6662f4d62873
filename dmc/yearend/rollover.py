"""Rollover (SPEC §7): when OBEC has closed round 3 of year Y, year Y+1's round-1 roster is made
from Y's end-of-year results.

- passed, non-terminal grade → next grade, same room where the next grade has that many rooms
  (else room 1), if this school teaches the next grade; otherwise the student leaves (the next
  school transfers them in) and is reported as ``no_next_grade``;
- failed (repeaters) → same grade and room;
- passed a terminal grade (ป.6, ม.3, ม.6, ปวช.3) → graduates, not carried over; their destination
  is in the report;
- 3.1.8 students (did not sit the exam, still followed) → same grade, flag kept;
- still pending (a school that never finished 3.2.2 …) → same grade, reported so the area can act;
- withdrawn / transferred out / dropouts → not carried over.

Year Y is not changed. One ``RolloverJob`` per year; schools are processed in batches, each batch
in one transaction with its ``RolloverSchool`` rows, the new enrolments (``INSERT … SELECT``,
``ON CONFLICT DO NOTHING`` so a student already active in Y+1 or a taken student number is
skipped and counted as a conflict; D4's ``counted`` set in the same statement), Y+1's grade/room
rows, the schools' head counts (one GROUP BY; the per-student checks are evaluated when the
school is first used in Y+1, at the as-of date then in force) and one audit event per school.
A rerun does nothing; an interrupted run resumes with the schools not yet done.
``plan`` is the dry run: the same classification, nothing written.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Exists, OuterRef

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.codes import GRADES, TERMINAL_GRADES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import format_datetime_be
from dmc.rounds import checks, stats
from dmc.rounds import services as round_services
from dmc.rounds.models import AcademicYear, MenuWindow, Round
from dmc.schools.models import School, SchoolGrade
from dmc.students.models import Enrolment, Person
from dmc.yearend.models import RolloverJob, RolloverSchool

CATEGORIES = (
    "promoted",
    "repeating",
    "graduated",
    "tracked",
    "pending",
    "no_next_grade",
    "left",
    "conflict",
)
CARRIED = ("promoted", "repeating", "tracked", "pending")
LABELS = {
    "promoted": ("เลื่อนชั้น", "Promoted"),
    "repeating": ("ซ้ำชั้น", "Repeating"),
    "graduated": ("จบการศึกษา", "Graduated"),
    "tracked": ("3.1.8 ยกไปชั้นเดิม", "3.1.8, same grade"),
    "pending": ("ยังไม่มีผลสิ้นปี ยกไปชั้นเดิม", "No result, same grade"),
    "no_next_grade": ("โรงเรียนไม่มีชั้นถัดไป (ออก)", "Next grade not taught here (leave)"),
    "left": ("ย้ายออก/จำหน่าย (ไม่ยกไป)", "Left during the year (not carried)"),
    "conflict": ("มีข้อมูลปีใหม่อยู่แล้ว (ข้าม)", "Already in the new year (skipped)"),
}
BATCH_SCHOOLS = 200
STALE_AFTER = dt.timedelta(minutes=5)  # a running job without a heartbeat this long resumes
_CODES = [e["code"] for e in GRADES.entries]
_NEXT = dict(itertools.pairwise(_CODES))


def next_grade(grade: str) -> str | None:
    return _NEXT.get(grade)


@dataclass
class SchoolPlan:
    school_id: int
    counts: Counter[str] = field(default_factory=Counter)
    destinations: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{c: self.counts.get(c, 0) for c in CATEGORIES},
            "destinations": dict(sorted(self.destinations.items())),
        }


def category(*, status: str, tracked: bool, result: str, grade: str, offered: set[str]) -> str:
    """What rollover does with one enrolment of year Y (see the module docstring)."""
    if status != Enrolment.Status.ACTIVE:
        return "left"
    if tracked:
        return "tracked"
    if result == "fail":
        return "repeating"
    if result != "pass":
        return "pending"
    if grade in TERMINAL_GRADES:
        return "graduated"
    target = next_grade(grade)
    return "promoted" if target is not None and target in offered else "no_next_grade"


def _offered(school_ids: list[int], year: int) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for school_id, grade in SchoolGrade.objects.filter(
        school_id__in=school_ids, academic_year=year
    ).values_list("school_id", "grade"):
        out.setdefault(school_id, set()).add(grade)
    return out


def _classify(school_ids: list[int], year: int) -> dict[int, SchoolPlan]:
    """One GROUP BY over the schools' year-Y enrolments, classified per school."""
    offered = _offered(school_ids, year)
    plans = {sid: SchoolPlan(sid) for sid in school_ids}
    groups = (
        Enrolment.objects.filter(school_id__in=school_ids, academic_year=year)
        .values("school_id", "status", "tracked_318", "year_result", "grade", "destination")
        .annotate(n=Count("id"))
        .order_by()
    )
    for g in groups:
        cat = category(
            status=g["status"],
            tracked=g["tracked_318"],
            result=g["year_result"],
            grade=g["grade"],
            offered=offered.get(g["school_id"], set()),
        )
        plan = plans[g["school_id"]]
        plan.counts[cat] += g["n"]
        if cat == "graduated":
            plan.destinations[g["destination"] or "-"] += g["n"]
    return plans


def _already_next_year(school_ids: list[int], year: int) -> dict[int, int]:
    """Carried students of these schools who are already active in Y+1 (somewhere): the dry
    run's estimate of the conflicts the run will skip."""
    rows = (
        Enrolment.objects.filter(
            school_id__in=school_ids,
            academic_year=year,
            status=Enrolment.Status.ACTIVE,
            person__enrolments__academic_year=year + 1,
            person__enrolments__status=Enrolment.Status.ACTIVE,
        )
        .values("school_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["school_id"]: r["n"] for r in rows}


def scope_schools(actor: Actor | None, year: int) -> list[int]:
    """The schools a rollover report covers for the actor: those with enrolments in ``year``
    (one index probe per school, not a scan of the year's enrolments)."""
    qs = School.objects.filter(
        Exists(Enrolment.objects.filter(school_id=OuterRef("pk"), academic_year=year))
    )
    if actor is not None and not actor.is_obec:
        if actor.is_area:
            qs = qs.filter(area_id=actor.area_id)
        else:
            qs = qs.filter(pk=actor.school_id or 0)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def plan(*, actor: Actor | None, year: int) -> dict[int, SchoolPlan]:
    """The dry run for every school in the actor's scope: what rollover would do, nothing
    written. Conflicts are estimated (students already active in Y+1)."""
    school_ids = scope_schools(actor, year)
    out: dict[int, SchoolPlan] = {}
    for start in range(0, len(school_ids), 2000):
        chunk = school_ids[start : start + 2000]
        plans = _classify(chunk, year)
        for sid, n in _already_next_year(chunk, year).items():
            plans[sid].counts["conflict"] += n
        out.update(plans)
    return out


def summarise(plans: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-school counts (dicts as ``SchoolPlan.as_dict``) into one."""
    total: dict[str, Any] = dict.fromkeys(CATEGORIES, 0)
    destinations: Counter[str] = Counter()
    for p in plans:
        for c in CATEGORIES:
            total[c] += p.get(c, 0)
        destinations.update(p.get("destinations", {}))
    total["destinations"] = dict(sorted(destinations.items()))
    return total


# --- the next year's calendar and grades -----------------------------------------------------


def _plus_year(value: dt.datetime | dt.date | None) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        local = clock.local(value)
        try:
            return local.replace(year=local.year + 1)
        except ValueError:  # 29 February
            return local.replace(year=local.year + 1, day=28)
    try:
        return value.replace(year=value.year + 1)
    except ValueError:
        return value.replace(year=value.year + 1, day=28)


def prepare_next_year(actor: Actor | None, year: int) -> AcademicYear:
    """Year Y+1 with Y's calendar moved on by one year, unless OBEC has already set it up (then
    nothing changes). OBEC edits the dates as usual."""
    ay = AcademicYear.objects.get(year=year)
    nxt = round_services.academic_year_get_or_create(
        actor=None,
        year=year + 1,
        starts_on=_plus_year(ay.starts_on),
        ends_on=_plus_year(ay.ends_on),
        final_exam_on=_plus_year(ay.final_exam_on),
    )
    if nxt.rounds.exists():
        return nxt
    for r in Round.objects.filter(academic_year=ay).order_by("number"):
        menus = {
            m.menu: (_plus_year(m.opens_at), _plus_year(m.closes_at))
            for m in MenuWindow.objects.filter(round=r)
        }
        round_services.round_create(
            actor=None,
            academic_year=nxt,
            number=r.number,
            menus=menus,
            as_of_date=_plus_year(r.as_of_date),
            **{name: _plus_year(getattr(r, name)) for name in round_services.WINDOW_FIELDS},
        )
    audit.record(actor=actor, action="rollover.calendar", target=nxt, after={"from_year": year})
    return nxt


# --- the job ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _insert_sql(n_schools: int) -> str:
    """``INSERT … SELECT`` of one school's carried students into Y+1 (portable: SQLite 3.24+
    and PostgreSQL both take ``ON CONFLICT DO NOTHING`` for the partial unique indexes)."""
    e = Enrolment._meta.db_table
    g = SchoolGrade._meta.db_table
    p = Person._meta.db_table
    next_case = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in _NEXT.items())
    promote = "(e.year_result = 'pass' AND NOT e.tracked_318)"
    target = f"(CASE WHEN {promote} THEN (CASE e.grade {next_case} END) ELSE e.grade END)"
    terminal = ", ".join(f"'{t}'" for t in sorted(TERMINAL_GRADES))
    schools = ", ".join(f"%(s{i})s" for i in range(n_schools))
    # identifiers from the model's metadata and literals from the grade code list only; every
    # value is a bound parameter
    return f"""
        INSERT INTO {e} (
            person_id, school_id, academic_year, student_no, grade, room, status, tracked_318,
            weight_kg, height_cm, admitted_on, left_on, leave_reason, dropout_reason,
            leave_note, sat_exam, year_result, years_studied, failed_evaluations, destination,
            checks, counted, version, created_at, updated_at
        )
        SELECT
            e.person_id, e.school_id, %(to_year)s, e.student_no, {target},
            CASE WHEN g.rooms >= e.room THEN e.room ELSE 1 END,
            'active', e.tracked_318, e.weight_kg, e.height_cm, e.admitted_on, NULL, '', '',
            '', NULL, '', NULL, '', '', '',
            (p.birth_date > %(born_after)s AND p.birth_date <= %(born_by)s), 1, %(now)s, %(now)s
        FROM {e} e
        JOIN {p} p ON p.id = e.person_id
        LEFT JOIN {g} g
            ON g.school_id = e.school_id AND g.academic_year = %(year)s AND g.grade = {target}
        WHERE e.school_id IN ({schools}) AND e.academic_year = %(year)s
            AND e.status = 'active'
            AND NOT ({promote} AND e.grade IN ({terminal}))
            AND (NOT {promote} OR g.id IS NOT NULL)
        ON CONFLICT DO NOTHING
        RETURNING school_id
    """  # noqa: S608  # nosec B608 # identifiers from _meta, grade literals; values bound


@functools.lru_cache(maxsize=8)
def _grades_sql(n_schools: int) -> str:
    schools = ", ".join(f"%(s{i})s" for i in range(n_schools))
    return f"""
    INSERT INTO {SchoolGrade._meta.db_table} (school_id, academic_year, grade, rooms)
    SELECT school_id, %(to_year)s, grade, rooms FROM {SchoolGrade._meta.db_table}
    WHERE school_id IN ({schools}) AND academic_year = %(year)s
    ON CONFLICT DO NOTHING
"""  # noqa: S608  # nosec B608 # table name from the model metadata; values bound


def _alive(job: RolloverJob, now: dt.datetime) -> bool:
    return job.state == RolloverJob.State.RUNNING and now - job.heartbeat_at < STALE_AFTER


@transaction.atomic
def start(*, actor: Actor | None, year: int) -> RolloverJob:
    """Open (or reopen, to resume) the rollover of ``year``. OBEC only, after round 3 closed.

    Returns the job; a finished job is returned unchanged (a rerun is a no-op). Raises
    ROLLOVER_NOT_CLOSED, ROLLOVER_RUNNING (another run is alive).
    """
    if actor is not None:
        actor.require_role(Role.OBEC_ADMIN)
    now = clock.now()
    r3 = Round.objects.filter(academic_year__year=year, number=3).first()
    if r3 is None or r3.closed_at is None or r3.closed_at > now:
        raise DmcError(ErrorCode.ROLLOVER_NOT_CLOSED, http_status=409, year=year, to_year=year + 1)
    job = RolloverJob.objects.select_for_update().filter(from_year=year).first()
    if job is not None:
        if job.state == RolloverJob.State.DONE:
            return job
        if _alive(job, now):
            raise DmcError(
                ErrorCode.ROLLOVER_RUNNING,
                http_status=409,
                year=year,
                at=format_datetime_be(clock.local(job.started_at)),
            )
        job.state, job.heartbeat_at, job.error = RolloverJob.State.RUNNING, now, ""
        job.save(update_fields=["state", "heartbeat_at", "error"])
        audit.record(actor=actor, action="rollover.resume", target=job, after={"year": year})
        return job
    prepare_next_year(actor, year)
    job = RolloverJob.objects.create(
        from_year=year,
        to_year=year + 1,
        schools_total=len(scope_schools(None, year)),
        started_by=actor.user if actor is not None else None,
        started_at=now,
        heartbeat_at=now,
    )
    audit.record(
        actor=actor,
        action="rollover.start",
        target=job,
        after={"from_year": year, "to_year": year + 1, "schools": job.schools_total},
    )
    return job


def _roll_batch(job: RolloverJob, plans: dict[int, SchoolPlan], now: dt.datetime) -> None:
    """Y+1's grades and carried students for a batch of schools (two statements); the rows
    not inserted (already active in Y+1, or a student number taken) are the conflicts."""
    born_after, born_by = checks.counted_birth_range(job.to_year)
    ids = list(plans)
    params: dict[str, Any] = {
        "year": job.from_year,
        "to_year": job.to_year,
        "now": now,
        "born_after": born_after,
        "born_by": born_by,
        **{f"s{i}": sid for i, sid in enumerate(ids)},
    }
    with connection.cursor() as cur:
        cur.execute(_grades_sql(len(ids)), params)
        cur.execute(_insert_sql(len(ids)), params)
        inserted = Counter(row[0] for row in cur.fetchall())
    for sid, plan_ in plans.items():
        carried = sum(plan_.counts.get(c, 0) for c in CARRIED)
        plan_.counts["conflict"] = carried - inserted.get(sid, 0)


def run(
    job: RolloverJob,
    *,
    actor: Actor | None = None,
    batch_schools: int = BATCH_SCHOOLS,
    progress: Callable[[int, int], None] | None = None,
    _after_batch: Callable[[int], None] | None = None,
) -> RolloverJob:
    """Process the schools not yet done, batch by batch (see the module docstring)."""
    done = set(RolloverSchool.objects.filter(job=job).values_list("school_id", flat=True))
    todo = [sid for sid in scope_schools(None, job.from_year) if sid not in done]
    areas = dict(School.objects.filter(pk__in=todo).values_list("pk", "area_id"))
    try:
        for index, start_at in enumerate(range(0, len(todo), batch_schools)):
            batch = todo[start_at : start_at + batch_schools]
            with transaction.atomic():
                now = clock.now()
                plans = _classify(batch, job.from_year)
                events, rows = [], []
                _roll_batch(job, plans, now)
                for sid in batch:
                    counts = plans[sid].as_dict()
                    rows.append(RolloverSchool(job=job, school_id=sid, counts=counts, done_at=now))
                    events.append(
                        audit.build(
                            actor=actor,
                            action="rollover.school",
                            target=job,
                            after={"from_year": job.from_year, **counts},
                            school_id=sid,
                            area_id=areas.get(sid),
                        )
                    )
                stats.seed_totals(batch, job.to_year)
                RolloverSchool.objects.bulk_create(rows)
                audit.record_many(events)
                locked = RolloverJob.objects.select_for_update().get(pk=job.pk)
                locked.counts = summarise([locked.counts or {}, *(r.counts for r in rows)])
                locked.schools_done += len(batch)
                locked.heartbeat_at = now
                locked.save(update_fields=["counts", "schools_done", "heartbeat_at"])
                job = locked
            if progress is not None:
                progress(job.schools_done, job.schools_total)
            if _after_batch is not None:
                _after_batch(index)
    except Exception as exc:
        RolloverJob.objects.filter(pk=job.pk).update(
            state=RolloverJob.State.FAILED, error=type(exc).__name__[:300]
        )
        raise
    with transaction.atomic():
        job = RolloverJob.objects.select_for_update().get(pk=job.pk)
        job.state, job.finished_at = RolloverJob.State.DONE, clock.now()
        job.save(update_fields=["state", "finished_at"])
        audit.record(
            actor=actor,
            action="rollover.done",
            target=job,
            after={"from_year": job.from_year, "schools": job.schools_done, **job.counts},
        )
    return job


def rollover(
    *, actor: Actor | None, year: int, batch_schools: int = BATCH_SCHOOLS, **kwargs: Any
) -> RolloverJob:
    """Start (or resume) and run the rollover of ``year`` to the end."""
    job = start(actor=actor, year=year)
    if job.state == RolloverJob.State.DONE:
        return job
    return run(job, actor=actor, batch_schools=batch_schools, **kwargs)


def run_in_background(job_id: int, actor: Actor | None) -> None:
    """Run a started job in a thread of this web process (the job is resumable, so a restart
    loses at most the batch in flight; ``dmc rollover`` runs the same job from the command line,
    which is what OBEC should use at national scale)."""

    def work() -> None:
        close_old_connections()
        try:
            run(RolloverJob.objects.get(pk=job_id), actor=actor)
        except Exception:  # noqa: S110 - run() records the failure on the job
            pass
        finally:
            close_old_connections()

    threading.Thread(target=work, name=f"rollover-{job_id}", daemon=True).start()
