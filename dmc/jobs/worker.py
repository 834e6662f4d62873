"""The worker loop behind ``dmc worker``: claim a job, run it (heartbeat from a thread), poll
when idle, purge old jobs now and then, stop gracefully when asked (the job being run is
finished first; a worker killed outright leaves it to be claimed again after the stale limit)."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.utils import DatabaseError

from dmc.jobs import queue

logger = logging.getLogger("dmc.jobs")


def run_once() -> bool:
    """Claim and run one job; False when there was none."""
    job = queue.claim()
    if job is None:
        return False
    queue.execute(job)
    return True


def run_pending(limit: int = 100) -> int:
    """Run the queued jobs one after another (tests, ``dmc worker --once``); returns how many."""
    n = 0
    while n < limit and run_once():
        n += 1
    return n


def loop(stop: threading.Event, *, poll: float | None = None) -> None:
    """Until ``stop`` is set: run jobs, sleeping ``poll`` seconds when there is none."""
    poll = float(poll if poll is not None else getattr(settings, "DMC_JOB_POLL_SECONDS", 1.0))
    next_purge = 0.0
    while not stop.is_set():
        close_old_connections()
        try:
            if time.monotonic() >= next_purge:
                queue.purge()
                next_purge = time.monotonic() + queue.PURGE_EVERY.total_seconds()
            worked = run_once()
        except DatabaseError as exc:  # the database is away: wait and try again
            logger.warning("job worker: database unavailable (%s)", type(exc).__name__)
            connections.close_all()
            worked = False
            stop.wait(max(poll, 5.0))
        if not worked:
            stop.wait(poll)
