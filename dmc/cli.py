"""The ``dmc`` command: Open DMC's management commands with the project's settings.

``dmc demo``, ``dmc serve``, ``dmc synth`` … each has ``--help``. Django's own commands
(``dmc migrate``, ``dmc check`` …) work too.
"""

from __future__ import annotations

import os
import sys

OURS = {
    "demo": "load the demo data and print the demo accounts",
    "serve": "serve the web application (gunicorn) and its background job workers",
    "worker": "run background jobs (school imports) from the job queue",
    "synth": "write synthetic national-shape data in the 39-column DMC format",
    "import": "import one school's 39-column student list (CSV/XLSX): check, then commit",
    "load": "national bulk loader: a 39-column file into the database (COPY + merge)",
    "rollover": "after round 3 closes: next year's roster from the year-end results (--dry-run)",
    "bench": "benchmarks (dmc bench ingest): results for docs/benchmarks.md",
    "nutrition_reference": "check a Thai DoH growth cut-off file before installing it",
    "budget_rates": "check a per-head subsidy rate file before installing it",
    "anonymise": "PDPA retention: anonymise students of past years (--before-year, --dry-run)",
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        print("usage: dmc <command> [options]   (dmc <command> --help for its options)\n")  # noqa: T201
        for name, text in OURS.items():
            print(f"  {name:<20} {text}")  # noqa: T201
        print("\nDjango commands (migrate, check, createsuperuser, …) also work.")  # noqa: T201
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["dmc", *args])


if __name__ == "__main__":
    main()
