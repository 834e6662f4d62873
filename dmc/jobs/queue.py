"""The job queue: enqueue, claim, run (with a heartbeat), re-claim after a crash, purge.

* **Enqueue** (``enqueue``) inserts a ``Job`` row. A ``dedupe_key`` is unique among unfinished
  jobs (a partial unique index, on SQLite and PostgreSQL alike), so asking for the same work
  while it is queued or running returns the existing job.
* **Claim** (``claim``): on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` (workers never wait
  for each other); on SQLite (one writer at a time anyway) a conditional
  ``UPDATE … WHERE state = 'queued'`` (or the stale heartbeat it read) that only one worker wins.
* **Run** (``execute``): the requester's role assignment must still be approved
  (``job_role_revoked``); the handler registered for the kind runs with a ``Progress`` that a
  heartbeat thread writes to the row (with ``heartbeat_at``) every ``DMC_JOB_HEARTBEAT_SECONDS``.
  A ``DmcError`` fails the job with its own code; any other exception with ``job_failed`` and
  only the exception's class name in the log (never its text or a traceback: they may hold
  personal data, PDPA).
* **Crash**: a running job whose heartbeat is older than ``DMC_JOB_STALE_SECONDS`` is claimed
  again; after ``DMC_JOB_MAX_ATTEMPTS`` claims it fails with ``job_abandoned``. Handlers must be
  idempotent (the import is: the same file again changes nothing).
* **Retention**: finished jobs older than ``DMC_JOB_RETENTION_DAYS`` are deleted (``purge``, run
  by the workers every ``PURGE_EVERY``).

Times here are real time (``django.utils.timezone.now``), never the settable business clock.

With ``DMC_JOBS_INLINE`` (the tests) a job runs in the enqueuing thread as soon as the
transaction that created it commits (at once when there is none), without a heartbeat thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from dmc.accounts.actor import Actor
from dmc.accounts.models import RoleAssignment
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.jobs.models import UNFINISHED, Job

logger = logging.getLogger("dmc.jobs")

PURGE_EVERY = dt.timedelta(hours=1)


@dataclass
class Progress:
    """Progress a handler reports (``set``); the heartbeat thread writes it to the row."""

    done: int = 0
    total: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, done: int, total: int | None = None) -> None:
        with self._lock:
            self.done = max(0, int(done))
            if total is not None:
                self.total = max(0, int(total))

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.done, self.total


#: a handler gets the job, the actor it runs as and a Progress; returns the job's result (JSON)
Handler = Callable[[Job, Actor, Progress], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``kind`` (one per kind)."""

    def wrap(fn: Handler) -> Handler:
        if HANDLERS.get(kind, fn) is not fn:
            raise ValueError(f"job kind {kind!r} is already registered")
        HANDLERS[kind] = fn
        return fn

    return wrap


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=float(_setting("DMC_JOB_STALE_SECONDS", 60)))


def max_attempts() -> int:
    return int(_setting("DMC_JOB_MAX_ATTEMPTS", 3))


# --- enqueue ------------------------------------------------------------------------------------


def enqueue(
    *,
    kind: str,
    actor: Actor,
    params: dict[str, Any],
    dedupe_key: str = "",
    school_id: int | None = None,
    area_id: int | None = None,
) -> tuple[Job, bool]:
    """Queue a job of ``kind`` run as ``actor``; returns (job, created). With a ``dedupe_key``
    an unfinished job with the same key is returned instead of a second one."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    if dedupe_key:
        existing = _unfinished(dedupe_key)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                params=params,
                requested_by=actor.user,
                role=actor.role,
                assignment_ref=actor.assignment_id,
                school_ref=school_id if school_id is not None else actor.school_id,
                area_ref=area_id if area_id is not None else actor.area_id,
                dedupe_key=dedupe_key,
                created_at=timezone.now(),
            )
    except IntegrityError:  # another request queued the same work a moment ago
        existing = _unfinished(dedupe_key) if dedupe_key else None
        if existing is None:
            raise
        return existing, False
    if _setting("DMC_JOBS_INLINE", False):
        _on_commit(lambda: run_inline(job.pk))
    return job, True


def _unfinished(dedupe_key: str) -> Job | None:
    return Job.objects.filter(dedupe_key=dedupe_key, state__in=UNFINISHED).first()


def _on_commit(fn: Callable[[], None]) -> None:
    """``transaction.on_commit``, except that the test case's own wrapping transaction (which
    never commits) does not count: with no other transaction open ``fn`` runs at once."""
    conn = transaction.get_connection()
    real = [a for a in conn.atomic_blocks if not getattr(a, "_from_testcase", False)]
    if real:
        transaction.on_commit(fn)
    else:
        fn()


def run_inline(job_id: int) -> None:
    job = claim(job_id=job_id)
    if job is not None:
        execute(job, heartbeat=False)


# --- reads --------------------------------------------------------------------------------------


def job_get(*, actor: Actor, job_id: int, kind: str | None = None) -> Job:
    """The actor's own job (the same user in the same role); NOT_FOUND otherwise, so a job id
    reveals nothing about anyone else's work."""
    qs = Job.objects.filter(pk=job_id, requested_by=actor.user, role=actor.role)
    if kind is not None:
        qs = qs.filter(kind=kind)
    job = qs.first()
    if job is None:
        raise not_found()
    return job


# --- claim --------------------------------------------------------------------------------------


def _abandon(now: dt.datetime) -> int:
    """Fail the running jobs whose heartbeat stopped and that used up their attempts (read
    first: an idle worker's poll must not take SQLite's write lock every second)."""
    spent = Job.objects.filter(
        state=Job.State.RUNNING,
        heartbeat_at__lt=now - stale_after(),
        attempts__gte=max_attempts(),
    )
    if not spent.exists():
        return 0
    return spent.update(
        state=Job.State.FAILED, error_code=ErrorCode.JOB_ABANDONED.value, finished_at=now
    )


def claim(*, job_id: int | None = None) -> Job | None:
    """Take the oldest claimable job (queued, or running with a stale heartbeat) for this
    process; None when there is none. ``job_id`` restricts it to that job."""
    now = timezone.now()
    _abandon(now)
    claimable = Q(state=Job.State.QUEUED) | Q(
        state=Job.State.RUNNING, heartbeat_at__lt=now - stale_after()
    )
    qs = Job.objects.filter(claimable).order_by("created_at", "id")
    if job_id is not None:
        qs = qs.filter(pk=job_id)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            job = qs.select_for_update(skip_locked=True).first()
            if job is None:
                return None
            job.state, job.heartbeat_at = Job.State.RUNNING, now
            job.attempts += 1
            job.started_at = job.started_at or now
            job.save(update_fields=["state", "heartbeat_at", "attempts", "started_at"])
            return job
    for pk, state, beat in qs.values_list("pk", "state", "heartbeat_at")[:10]:
        seen = Q(state=state) & (Q(heartbeat_at=beat) if beat else Q(heartbeat_at__isnull=True))
        won = (
            Job.objects.filter(seen, pk=pk)
            .exclude(state__in=(Job.State.DONE, Job.State.FAILED))
            .update(state=Job.State.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1)
        )
        if won:
            Job.objects.filter(pk=pk, started_at__isnull=True).update(started_at=now)
            return Job.objects.get(pk=pk)
    return None


# --- run ----------------------------------------------------------------------------------------


class _Heartbeat(threading.Thread):
    """Writes ``heartbeat_at`` and the progress to the row from its own connection while the
    handler runs (a failed write is retried at the next beat: SQLite may be busy)."""

    def __init__(self, job: Job, progress: Progress) -> None:
        super().__init__(name=f"job-heartbeat-{job.pk}", daemon=True)
        self.job_pk, self.attempt, self.progress = job.pk, job.attempts, progress
        self.stopping = threading.Event()
        self.every = float(_setting("DMC_JOB_HEARTBEAT_SECONDS", 2))

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.every):
                beat(self.job_pk, self.attempt, self.progress)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def beat(job_pk: int, attempt: int, progress: Progress) -> bool:
    """One heartbeat: the row's heartbeat and progress, if this claim still owns it."""
    done, total = progress.read()
    try:
        return bool(
            Job.objects.filter(pk=job_pk, state=Job.State.RUNNING, attempts=attempt).update(
                heartbeat_at=timezone.now(), done=done, total=total
            )
        )
    except OperationalError:
        return False


def job_actor(job: Job) -> Actor:
    """The actor the job runs as: its role assignment, still approved, of an active user.
    Raises JOB_ROLE_REVOKED otherwise."""
    assignment = (
        RoleAssignment.objects.select_related("user", "school")
        .filter(
            pk=job.assignment_ref or 0,
            user_id=job.requested_by_id,
            status=RoleAssignment.Status.APPROVED,
        )
        .first()
    )
    if assignment is None or not assignment.user.is_active or assignment.role != job.role:
        raise DmcError(ErrorCode.JOB_ROLE_REVOKED, http_status=403)
    return Actor.from_assignment(assignment)


def execute(job: Job, *, heartbeat: bool = True) -> str:
    """Run a claimed job to its end; returns the state it ended in."""
    progress = Progress(job.done, job.total)
    pulse = _Heartbeat(job, progress) if heartbeat else None
    if pulse is not None:
        pulse.start()
    try:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            return _fail(job, progress, ErrorCode.JOB_FAILED)
        try:
            actor = job_actor(job)
            result = handler(job, actor, progress)
        except DmcError as exc:
            return _fail(job, progress, exc.code, exc)
        except Exception as exc:  # a bug or an outage: the code only, never the text
            logger.error("job %s (%s) failed: %s", job.pk, job.kind, type(exc).__name__)
            return _fail(job, progress, ErrorCode.JOB_FAILED)
        done, total = progress.read()
        _finish(job, state=Job.State.DONE, done=max(done, total), total=total, result=result)
        return Job.State.DONE
    finally:
        if pulse is not None:
            pulse.stop()


def _fail(job: Job, progress: Progress, code: ErrorCode, exc: DmcError | None = None) -> str:
    done, total = progress.read()
    result = None
    if exc is not None:  # a refusal's message in both languages (whole-file refusals only)
        result = {"message_th": exc.message_in("th"), "message_en": exc.message_in("en")}
    _finish(job, state=Job.State.FAILED, done=done, total=total, result=result, code=code)
    return Job.State.FAILED


def failure(job: Job, language: str) -> tuple[ErrorCode, str]:
    """A failed job's error code and its message in ``language``: the refusal's own message as
    ``_fail`` stored it, else the code's (``job_failed`` for a code this version does not know)."""
    try:
        code = ErrorCode(job.error_code)
    except ValueError:
        code = ErrorCode.JOB_FAILED
    stored = job.result or {}
    message = stored.get("message_en" if language == "en" else "message_th")
    return code, message or DmcError(code).message_in(language)


def _finish(
    job: Job, *, state: str, done: int, total: int, result: Any, code: ErrorCode | None = None
) -> None:
    now = timezone.now()
    owned = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts).update(
        state=state,
        done=done,
        total=total,
        result=result,
        error_code=code.value if code else "",
        heartbeat_at=now,
        finished_at=now,
    )
    if not owned:  # another worker re-claimed it after our heartbeat stopped
        logger.warning("job %s finished after it was claimed again", job.pk)


# --- retention ----------------------------------------------------------------------------------


def purge(*, now: dt.datetime | None = None) -> int:
    """Delete finished jobs older than ``DMC_JOB_RETENTION_DAYS``; returns how many."""
    now = now or timezone.now()
    days = float(_setting("DMC_JOB_RETENTION_DAYS", 7))
    deleted, _ = Job.objects.filter(
        state__in=(Job.State.DONE, Job.State.FAILED),
        finished_at__lt=now - dt.timedelta(days=days),
    ).delete()
    return deleted
