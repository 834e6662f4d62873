from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Open DMC with gunicorn (gthread workers) on 127.0.0.1:${PORT:-8000}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=f"127.0.0.1:{os.environ.get('PORT', '8000')}")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("DMC_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("DMC_THREADS", 4)))

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
        self.stdout.write(f"Open DMC on http://{opts['bind']}/")
        sys.stdout.flush()
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with the server
