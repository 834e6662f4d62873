"""``dmc nutrition_reference FILE``: check a DoH cut-off file (dmc-growth-cutoffs/1) before
installing it in DMC_NUTRITION_DIR; prints what it holds, or the error with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.core.errors import DmcError
from dmc.nutrition.references import DAYS_PER_MONTH, load_cutoffs


class Command(BaseCommand):
    help = "Check a Thai DoH growth cut-off file (format dmc-growth-cutoffs/1, docs/nutrition.md)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ref = load_cutoffs(options["file"])
        except DmcError as exc:
            raise CommandError(f"{exc.message_in('th')}\n{exc.message_in('en')}") from exc
        months = (
            round(ref.min_age_days / DAYS_PER_MONTH),
            round((ref.max_age_days + 1) / DAYS_PER_MONTH) - 1,
        )
        self.stdout.write(f"{ref.name} {ref.version}{' (EXAMPLE FIGURES)' if ref.example else ''}")
        self.stdout.write(f"ages {months[0]}-{months[1]} months")
        for name, table in ref.tables.items():
            for sex in ("M", "F"):
                lo, hi = table.range(sex)
                self.stdout.write(f"{name} {sex}: {len(table.xs[sex])} rows, x {lo:g}-{hi:g}")
        self.stdout.write("OK")
