from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dmc.jobs import worker


class Command(BaseCommand):
    help = (
        "Run background jobs (school imports) from the job queue until SIGTERM/SIGINT; the job"
        " being run is finished first. `dmc serve` starts DMC_JOB_WORKERS of these."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run the queued jobs, then exit (no polling)"
        )
        parser.add_argument(
            "--poll", type=float, default=None, help="seconds between polls when idle"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["once"]:
            n = worker.run_pending(limit=10_000)
            self.stdout.write(f"{n} job(s) run")
            return
        stop = threading.Event()

        def ask_to_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, ask_to_stop)
        signal.signal(signal.SIGINT, ask_to_stop)
        worker.loop(stop, poll=opts["poll"])
