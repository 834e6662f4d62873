# ruff: noqa: N999 - the command is `dmc import` (SPEC §10), so the module is import.py
"""``dmc import FILE --school CODE --year BE --round R [--dry-run] [--strict] [--json]`` (SPEC §10).

Imports one school's 39-column student list (CSV or XLSX) with the same pipeline as the web
upload, as the system (the audit shows ``system``): the entry window of round R and D8 apply.
With ``--json`` stdout carries exactly one JSON object, ``{"rows", "accepted", "rejected",
"errors": [{"row", "column", "value", "code", "message"}]}``, and the exit status is 0 whenever
the import ran (rows may have been refused). When it cannot run (no such file or school, the
window closed, the file refused as a whole) the exit status is 1 and, with ``--json``, stdout
carries the error as ``{"code", "message", "fields"}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from dmc.core.errors import DmcError, ErrorCode
from dmc.exchange import importer
from dmc.schools.models import School


class Command(BaseCommand):
    help = (
        "Import one school's student list in DMC's 39-column format (CSV in UTF-8/TIS-620, or"
        " XLSX; at most 10 MB and 5,000 rows): new people are added, people known nationally"
        " and not active anywhere are transferred in, the school's own students are updated;"
        " refused rows are listed. Exit 0 when it ran (even with refused rows), 1 when it"
        " could not run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument("--school", required=True, help="the school's 8-digit SMIS code")
        parser.add_argument("--year", type=int, required=True, help="academic year (BE)")
        parser.add_argument(
            "--round", type=int, required=True, choices=(1, 2, 3), help="the round (1, 2, 3)"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; save nothing")
        parser.add_argument(
            "--strict", action="store_true", help="all or nothing: save nothing if a row is bad"
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object (SPEC §10) on stdout"
        )
        parser.add_argument(
            "--sat-exam",
            action="store_true",
            help="round 3: declare that everyone new in the file sat this year's final exam"
            " at this school (without it such rows are refused: add_not_exam_taker)",
        )
        parser.add_argument(
            "--quarantine",
            default="",
            metavar="XLSX",
            help="write the refused rows (39 columns + the errors) to this XLSX file",
        )
        parser.add_argument(
            "--lang", choices=("th", "en"), default="th", help="language of the messages"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["lang"]):
            self._handle(opts)

    def _fail(self, opts: dict[str, Any], exc: DmcError) -> CommandError:
        if opts["json"]:
            self.stdout.write(json.dumps(exc.as_dict(), ensure_ascii=False))
        return CommandError(f"[{exc.code.value}] {exc.message}", returncode=1)

    def _handle(self, opts: dict[str, Any]) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise self._fail(
                opts,
                DmcError(ErrorCode.NOT_FOUND, http_status=404, fields={"file": [str(path)[:200]]}),
            )
        school = School.objects.filter(smis_code=opts["school"]).first()
        if school is None:
            raise self._fail(
                opts, DmcError(ErrorCode.NOT_FOUND, http_status=404, fields={"school": []})
            )
        options = importer.Options(
            dry_run=opts["dry_run"], strict=opts["strict"], sat_exam=opts["sat_exam"]
        )
        try:
            result = importer.import_file(
                actor=None,
                school=school,
                year=opts["year"],
                round_number=opts["round"],
                path=path,
                filename=path.name,
                options=options,
            )
        except DmcError as exc:
            raise self._fail(opts, exc) from exc
        if opts["quarantine"] and result.rejected:
            with Path(opts["quarantine"]).open("wb") as out:
                importer.write_quarantine(
                    out, path, filename=path.name, errors=importer.quarantine_errors(result)
                )
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        for line in importer.summary_lines(result):
            self.stdout.write(line)
        for e in result.errors:
            where = f"{e.row}" + (f" {e.column}" if e.column else "")
            self.stdout.write(f"  [{where}] {e.code}: {e.message}")
        done = (
            "dry run: nothing saved"
            if options.dry_run
            else ("saved" if result.committed else "nothing saved (--strict)")
        )
        self.stderr.write(f"{done} · {result.seconds:.2f} s · sha256 {result.sha256[:16]}")
