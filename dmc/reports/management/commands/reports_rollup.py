"""Check or rebuild the report roll-up of a year (after bulk writes that bypass the signals)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.reports import rollup
from dmc.reports.models import LIVE


class Command(BaseCommand):
    help = (
        "Verify the per-area roll-up of totals against the stats rows, rooms and sealed "
        "snapshots (--rebuild: recompute it; --compact: fold pending deltas)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", type=int, help="academic year, BE (e.g. 2564)")
        parser.add_argument("--rebuild", action="store_true", help="recompute from the sources")
        parser.add_argument("--compact", action="store_true", help="fold pending deltas")

    def handle(self, *args: Any, **opts: Any) -> None:
        year = opts["year"]
        if opts["rebuild"]:
            n = rollup.rebuild(year)
            self.stdout.write(f"rebuilt {n} school shares for {year}")
        if opts["compact"]:
            for key in [LIVE, *rollup.rounds_of(year)]:
                self.stdout.write(f"source {key}: folded {rollup.compact(year, key)} deltas")
        problems = rollup.verify(year)
        for line in problems[:50]:
            self.stdout.write(line)
        if problems:
            raise CommandError(f"{len(problems)} differences; run with --rebuild")
        self.stdout.write(f"roll-up of {year} agrees with its sources")
