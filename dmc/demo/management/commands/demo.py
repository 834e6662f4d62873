from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from dmc.accounts.models import ROLE_EN, Role
from dmc.core import audit_sql, clock
from dmc.core.errors import DmcError
from dmc.demo import loader


class Command(BaseCommand):
    help = (
        "Load the demo (areas, ~20 schools, thousands of synthetic students, academic year 2564"
        " with its three rounds) and print the demo accounts. Idempotent: an existing demo is"
        " kept unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schools", type=int, default=20)
        parser.add_argument("--students", type=int, default=6000)
        parser.add_argument(
            "--reset", action="store_true", help="flush the database first (destroys all data)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["reset"]:
            if not clock.settable():
                raise CommandError("--reset is for the demo only (the clock is locked here)")
            # the audit log is append-only in the database; emptying the whole demo database is
            # the one place its triggers are lifted, and they are put back at once
            audit_sql.uninstall(connection)
            try:
                call_command("flush", interactive=False, verbosity=0)
            finally:
                audit_sql.install(connection)
        try:
            if loader.demo_loaded():
                self.stdout.write("Demo data already loaded (use --reset to reload).")
                accounts = loader.accounts()
            else:
                total, accounts = loader.load_demo(
                    schools=opts["schools"], students=opts["students"]
                )
                self.stdout.write(f"Loaded {total:,} students.")
        except DmcError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {loader.DEMO_PASSWORD})")
        self.stdout.write(f"  {'username':<16} {'role':<22} scope")
        highlight = {"obec.admin", "school1", "director1", "school2", "director2", "multi.role"}
        shown: set[tuple[str, str]] = set()
        for a in accounts:
            if not (a.username in highlight or a.username.startswith("area")):
                continue
            if (a.username, a.scope) in shown:
                continue
            shown.add((a.username, a.scope))
            self.stdout.write(f"  {a.username:<16} {ROLE_EN[Role(a.role)]:<22} {a.scope}")
        self.stdout.write(
            "  (school3..schoolN / director3..directorN follow the same pattern;"
            " pending.teacher awaits the area's approval)"
        )
