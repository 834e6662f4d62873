from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.core.errors import DmcError
from dmc.core.i18n import tr
from dmc.yearend import rollover


class Command(BaseCommand):
    help = (
        "Rollover (OBEC): make the next academic year's round-1 roster from a year's end-of-year"
        " results, after round 3 is closed. --dry-run prints what would happen per category and"
        " writes nothing. Idempotent (a finished year is a no-op) and resumable (an interrupted"
        " run continues with the schools not yet done)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", type=int, help="the academic year (BE) that ends, e.g. 2564")
        parser.add_argument("--dry-run", action="store_true", help="report only, write nothing")
        parser.add_argument(
            "--batch-schools",
            type=int,
            default=rollover.BATCH_SCHOOLS,
            help=f"schools per transaction (default {rollover.BATCH_SCHOOLS})",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--no-progress", action="store_true", help="no progress line")

    def handle(self, *args: Any, **opts: Any) -> None:
        year = opts["year"]
        started = time.monotonic()
        try:
            if opts["dry_run"]:
                plans = rollover.plan(actor=None, year=year)
                result: dict[str, Any] = {
                    "year": year,
                    "to_year": year + 1,
                    "dry_run": True,
                    "schools": len(plans),
                    "counts": rollover.summarise(p.as_dict() for p in plans.values()),
                }
            else:
                show = not (opts["no_progress"] or opts["json"])

                def progress(done: int, total: int) -> None:
                    if show:
                        sys.stderr.write(f"\r{tr('โรงเรียน', 'schools')} {done:,}/{total:,}")
                        sys.stderr.flush()

                job = rollover.rollover(
                    actor=None, year=year, batch_schools=opts["batch_schools"], progress=progress
                )
                if show:
                    sys.stderr.write("\n")
                result = {
                    "year": year,
                    "to_year": job.to_year,
                    "dry_run": False,
                    "state": job.state,
                    "schools": job.schools_done,
                    "counts": job.counts,
                }
        except DmcError as exc:
            raise CommandError(f"{exc.code.value}: {exc.message}") from exc
        result["seconds"] = round(time.monotonic() - started, 2)
        if opts["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(
            f"{year} → {year + 1}: {result['schools']:,} {tr('โรงเรียน', 'schools')}"
            f"{' (dry run)' if result['dry_run'] else ''}, {result['seconds']} s"
        )
        for key in rollover.CATEGORIES:
            th, en = rollover.LABELS[key]
            self.stdout.write(f"  {tr(th, en):<40} {result['counts'].get(key, 0):>10,}")
