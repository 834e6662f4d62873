from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.core.errors import DmcError
from dmc.exchange import loader


class Command(BaseCommand):
    help = (
        "National bulk loader (OBEC): stream a 39-column DMC file into a staging table (COPY on"
        " PostgreSQL), then one set-based validate-and-merge. Idempotent per batch (named by"
        " --batch or the file's SHA-256) and resumable; rejected rows go to a CSV next to the"
        " file (FILE.rejects.csv) with row, code, column and message."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the 39-column CSV (UTF-8)")
        parser.add_argument("--year", type=int, required=True, help="academic year (BE)")
        parser.add_argument("--round", type=int, required=True, choices=[1, 2, 3])
        parser.add_argument(
            "--schools", default="", help="first load areas/schools from `dmc synth --schools-out`"
        )
        parser.add_argument("--batch", default="", help="batch name (default: the file's SHA-256)")
        parser.add_argument(
            "--rejects", default="", help="rejection CSV (default FILE.rejects.csv)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="parse processes (default: the cores, at most 4, for a big file on PostgreSQL)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            if opts["schools"]:
                created, grades = loader.load_schools_csv(Path(opts["schools"]), year=opts["year"])
                if not opts["json"]:
                    self.stderr.write(f"schools: {created:,} created, {grades:,} grade rows")
            result = loader.load(
                path,
                year=opts["year"],
                round_no=opts["round"],
                batch_name=opts["batch"],
                rejects_path=Path(opts["rejects"]) if opts["rejects"] else None,
                progress=None if opts["no_progress"] or opts["json"] else sys.stderr,
                workers=opts["workers"],
            )
        except DmcError as exc:
            raise CommandError(f"{exc.code.value}: {exc.message}") from exc
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        for line in loader.iter_result_lines(result):
            self.stdout.write(line)
