"""``dmc serve``: gunicorn (gthread) plus DMC_JOB_WORKERS ``dmc worker`` processes.

With no job workers (``--job-workers 0``) the command becomes gunicorn (exec). Otherwise it
supervises: gunicorn and the workers are its children; a worker that dies is started again
(after a pause that grows while it keeps dying at once); when gunicorn ends, or on
SIGTERM/SIGINT, everything is stopped with SIGTERM (the workers finish their current job; after
``STOP_WAIT`` seconds the rest are killed) and the command exits with gunicorn's status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_WAIT = 30.0
#: a worker that lived shorter than this is restarted after a growing pause (up to MAX_PAUSE)
QUICK_DEATH = 10.0
MAX_PAUSE = 30.0


class Command(BaseCommand):
    help = (
        "Serve Open DMC with gunicorn (gthread workers) on 127.0.0.1:${PORT:-8000}, with"
        " DMC_JOB_WORKERS background job workers (restarted if they die)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=f"127.0.0.1:{os.environ.get('PORT', '8000')}")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("DMC_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("DMC_THREADS", 4)))
        parser.add_argument(
            "--job-workers",
            type=int,
            default=None,
            help="background job worker processes (default: DMC_JOB_WORKERS, 1)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        argv = [
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            opts["bind"],
            "--workers",
            str(opts["workers"]),
            "--worker-class",
            "gthread",
            "--threads",
            str(opts["threads"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
            "--timeout",
            "60",
        ]
        job_workers = opts["job_workers"]
        if job_workers is None:
            job_workers = int(getattr(settings, "DMC_JOB_WORKERS", 1))
        if getattr(settings, "DMC_JOBS_INLINE", False):
            job_workers = 0  # jobs run in the web processes
        self.stdout.write(f"Open DMC on http://{opts['bind']}/ ({job_workers} job worker(s))")
        sys.stdout.flush()
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        if job_workers <= 0:
            os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with the server
        sys.exit(supervise([gunicorn, *argv[1:]], job_workers))


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "dmc.cli", "worker"]


def supervise(web_argv: list[str], job_workers: int) -> int:
    """Run gunicorn and ``job_workers`` workers until gunicorn ends or a stop signal; returns
    the exit status."""
    stopping = False

    def ask_to_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    web = subprocess.Popen(web_argv)  # noqa: S603 - our own gunicorn, fixed arguments
    workers: list[tuple[subprocess.Popen[bytes], float, float]] = []  # process, started, pause
    for _ in range(job_workers):
        workers.append((subprocess.Popen(worker_argv()), time.monotonic(), 0.0))  # noqa: S603
    status = 0
    try:
        while not stopping:
            code = web.poll()
            if code is not None:
                status = code
                break
            for i, (proc, started, pause) in enumerate(workers):
                if proc.poll() is None:
                    continue
                lived = time.monotonic() - started
                pause = min(MAX_PAUSE, max(1.0, pause * 2)) if lived < QUICK_DEATH else 0.0
                sys.stderr.write(
                    f"dmc serve: job worker {proc.pid} ended ({proc.returncode}); restarting\n"
                )
                time.sleep(pause)
                workers[i] = (subprocess.Popen(worker_argv()), time.monotonic(), pause)  # noqa: S603
            time.sleep(0.5)
    finally:
        children = [web, *(p for p, _, _ in workers)]
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return status
