from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dmc.demo import synth


class Command(BaseCommand):
    help = (
        "Write deterministic synthetic national-shape student data in DMC's 39-column format"
        f" (defaults: the full nation, {synth.NATIONAL_SCHOOLS:,} schools /"
        f" {synth.NATIONAL_STUDENTS:,} students). The same arguments always give the same file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schools", type=int, default=synth.NATIONAL_SCHOOLS)
        parser.add_argument("--students", type=int, default=synth.NATIONAL_STUDENTS)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--year", type=int, default=2564, help="academic year (BE)")
        parser.add_argument("--out", default="-", help="CSV file (UTF-8), - for stdout")
        parser.add_argument(
            "--schools-out", default="", help="also write the list of areas and schools to this CSV"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        start = time.monotonic()
        kw = {"schools": opts["schools"], "students": opts["students"], "seed": opts["seed"]}
        if opts["out"] == "-":
            rows = synth.write_csv(sys.stdout, year=opts["year"], **kw)
        else:
            with Path(opts["out"]).open("w", encoding="utf-8", newline="") as fh:
                rows = synth.write_csv(fh, year=opts["year"], **kw)
        if opts["schools_out"]:
            with Path(opts["schools_out"]).open("w", encoding="utf-8", newline="") as fh:
                synth.write_schools_csv(fh, **kw)
        if opts["out"] != "-":
            self.stderr.write(f"{rows:,} rows in {time.monotonic() - start:.1f} s -> {opts['out']}")
