"""``dmc anonymise --before-year 2560 [--dry-run]``: the PDPA retention job (issue 9)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.privacy.retention import anonymise


class Command(BaseCommand):
    help = (
        "Anonymise students of academic years before --before-year (BE) who have no active"
        " enrolment and no open case: names, citizen ID, address, family and guardian data become"
        " placeholders; counts stay. One audit entry per run; running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before-year", type=int, required=True, help="e.g. 2560 (BE)")
        parser.add_argument("--dry-run", action="store_true", help="count only, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        year = options["before_year"]
        if not 2400 <= year <= 2700:
            raise CommandError("--before-year is a Buddhist-era year such as 2560")
        result = anonymise(before_year=year, dry_run=options["dry_run"])
        verb = "would anonymise" if result.dry_run else "anonymised"
        self.stdout.write(
            f"{verb} {result.persons} persons ({result.enrolments} enrolments)"
            f" of academic years before {year}"
        )
