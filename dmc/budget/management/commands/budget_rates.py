"""``dmc budget_rates FILE``: check a per-head subsidy rate file (dmc-budget-rates/1) before
installing it in DMC_BUDGET_DIR; prints its items and rates, or the error and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dmc.budget.rates import load
from dmc.core.errors import DmcError


class Command(BaseCommand):
    help = "Check a per-head subsidy rate file (format dmc-budget-rates/1, docs/nutrition.md)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            table = load(options["file"])
        except DmcError as exc:
            raise CommandError(f"{exc.message_in('th')}\n{exc.message_in('en')}") from exc
        label = " (EXAMPLE FIGURES)" if table.example else ""
        self.stdout.write(f"{table.version}{label}, effective from {table.effective_from}")
        for item in table.items:
            rates = ", ".join(f"{level}: {s1}/{s2}" for level, (s1, s2) in item.rates.items())
            self.stdout.write(f"{item.code} ({item.basis}): {rates}")
        self.stdout.write("OK")
