# ruff: noqa: S608, S311  (SQL from our own table names and integers; seeded test data)
"""B2 — national totals from the maintained summaries vs the same GROUP BY on the base tables.

SPEC §11: national totals (area x grade x sex over 6.63 M students) p95 <= 50 ms from summaries
kept consistent with every change, and >= 50x faster than the same GROUP BY on the base table in
the same run.

What it does, on a migrated, empty PostgreSQL database of its own:

1. fills a national-size dataset with set-based SQL (INSERT ... SELECT generate_series):
   245 area offices, 29,449 schools, 6.63 M persons and 6.63 M active enrolments of one year
   (sex alternating, ~0.5 % outside ages 4-20, grades by school type), rooms per grade;
2. builds the summaries the way the app does after a bulk load: ``SchoolYearStats`` per school
   (the sums ``stats.rebuild`` keeps, here computed in one GROUP BY), then ``rollup.rebuild`` (the
   per-school shares and per-area cells the reports read);
3. applies 2,000 single-school changes through ``rollup.set_share`` (what every student edit
   does), leaving a realistic pending ledger (< ``COMPACT_EVERY`` deltas after compactions);
4. checks that the summaries give exactly the base-table GROUP BY's numbers (after the changes
   are applied to the base too), then times both: the summary read (``rollup.area_cells`` for
   the whole country, and the full ``selectors.nation_totals`` the page uses) N times, the base
   GROUP BY M times, in the same run.

Usage:
    createdb -h 127.0.0.1 -U postgres dmc_reports_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dmc_reports_bench \
        .venv/bin/python manage.py migrate -v0
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dmc_reports_bench \
        .venv/bin/python bench/rollup.py [--schools 29449] [--students 6630000]
    dropdb -h 127.0.0.1 -U postgres dmc_reports_bench   # ~4 GB
Writes bench/results/rollup-<students>.json and prints the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, models, transaction  # noqa: E402

from dmc.reports import rollup  # noqa: E402
from dmc.reports.models import LIVE, CellDelta  # noqa: E402
from dmc.schools.models import AreaOffice, School, SchoolGrade  # noqa: E402
from dmc.students.models import Enrolment, Person  # noqa: E402

YEAR = 2564
AREAS = 245

BASE_SQL = f"""
SELECT s.area_id, e.grade, p.sex, COUNT(*), COUNT(*) FILTER (WHERE e.counted)
FROM {Enrolment._meta.db_table} e
JOIN {Person._meta.db_table} p ON p.id = e.person_id
JOIN {School._meta.db_table} s ON s.id = e.school_id
WHERE e.academic_year = %s AND e.status = 'active'
GROUP BY s.area_id, e.grade, p.sex
"""


def _filler(model: type[models.Model], given: dict[str, str]) -> tuple[str, str]:
    """(column list, select list) for an INSERT ... SELECT of ``model``: the given expressions,
    and a neutral value for every other NOT NULL column (Django keeps no database defaults)."""
    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        col = f.column
        if col in given:
            expr = given[col]
        elif f.null:
            expr = "NULL"
        elif isinstance(f, models.BooleanField):
            expr = "false"
        elif isinstance(f, (models.IntegerField, models.DecimalField)):
            expr = "1" if "version" in col else "0"
        elif isinstance(f, models.DateTimeField):
            expr = "now()"
        elif isinstance(f, models.DateField):
            expr = "DATE '2013-06-01'"
        elif isinstance(f, models.JSONField):
            expr = "'{}'::jsonb"
        else:
            expr = "''"
        cols.append(col)
        exprs.append(expr)
    return ", ".join(cols), ", ".join(exprs)


def _exec(sql: str, params: list[Any] | None = None) -> float:
    t = time.perf_counter()
    with connection.cursor() as cur:
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
    return time.perf_counter() - t


def fill(n_schools: int, n_students: int) -> dict[str, float]:
    """The national dataset, set-based. Returns seconds per step."""
    seconds: dict[str, float] = {}
    area_t, school_t = AreaOffice._meta.db_table, School._meta.db_table
    cols, sel = _filler(
        AreaOffice,
        {
            "code": "lpad(i::text, 4, '0')",
            "name": "'เขตพื้นที่ ' || i",
            "kind": "CASE WHEN i % 4 = 0 THEN 'secondary' ELSE 'primary' END",
            "province_code": "lpad((10 + i % 77)::text, 2, '0')",
        },
    )
    seconds["areas"] = _exec(
        f"INSERT INTO {area_t} ({cols}) SELECT {sel} FROM generate_series(1, {AREAS}) i"
    )
    cols, sel = _filler(
        School,
        {
            "smis_code": "lpad(i::text, 8, '0')",
            "moe_code": "lpad(i::text, 10, '0')",
            "obec_code": "lpad(i::text, 6, '0')",
            "name": "'โรงเรียน ' || i",
            "area_id": f"(SELECT min(id) FROM {area_t}) + i % {AREAS}",
            "province_code": "'10'",
            "status": "'active'",
        },
    )
    seconds["schools"] = _exec(
        f"INSERT INTO {school_t} ({cols}) SELECT {sel} FROM generate_series(1, {n_schools}) i"
    )
    # school type by id: 0 = primary (K1-P6: grades 01-09), 1 = secondary (10-15), 2 = both
    lo = "CASE s.id % 3 WHEN 1 THEN 10 ELSE 1 END"
    span = "CASE s.id % 3 WHEN 0 THEN 9 WHEN 1 THEN 6 ELSE 15 END"
    cols, sel = _filler(
        SchoolGrade,
        {
            "school_id": "s.id",
            "academic_year": str(YEAR),
            "grade": f"lpad(({lo} + g)::text, 2, '0')",
            "rooms": "1 + (s.id + g) % 3",
        },
    )
    seconds["rooms"] = _exec(
        f"INSERT INTO {SchoolGrade._meta.db_table} ({cols}) SELECT {sel}"
        f" FROM {school_t} s CROSS JOIN generate_series(0, 14) g WHERE g < {span}"
    )
    person_t, enrol_t = Person._meta.db_table, Enrolment._meta.db_table
    cols, sel = _filler(
        Person,
        {
            "person_id": "'9' || lpad(i::text, 12, '0')",
            "id_kind": "'citizen'",
            "document_type": "'I'",
            "title_code": "CASE WHEN i % 2 = 0 THEN '001' ELSE '002' END",
            "first_name": "'ชื่อ' || i",
            "last_name": "'สกุล'",
            "sex": "CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END",
            "birth_date": "DATE '2010-01-01' + (i % 3000)",
        },
    )
    seconds["persons"] = _exec(
        f"INSERT INTO {person_t} ({cols}) SELECT {sel} FROM generate_series(1, {n_students}) i"
    )
    cols, sel = _filler(
        Enrolment,
        {
            "person_id": "p.id",
            "school_id": "s.id",
            "academic_year": str(YEAR),
            "student_no": "p.id::text",
            "grade": f"lpad(({lo} + (p.id / {n_schools}) % {span})::text, 2, '0')",
            "room": "1",
            "status": "'active'",
            "counted": "(p.id % 200 <> 0)",  # ~0.5 % outside ages 4-20 (D4)
        },
    )
    seconds["enrolments"] = _exec(
        f"INSERT INTO {enrol_t} ({cols}) SELECT {sel} FROM {person_t} p"
        f" JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM {school_t}) s"
        f" ON s.k = p.id % {n_schools}"
    )
    seconds["analyze"] = _exec("ANALYZE")
    return seconds


def build_summaries() -> dict[str, float]:
    """``SchoolYearStats`` as ``stats.rebuild`` keeps them (one GROUP BY), then the roll-up."""
    from dmc.rounds.models import SchoolYearStats

    seconds = {}
    seconds["school stats"] = _exec(
        f"""INSERT INTO {SchoolYearStats._meta.db_table}
        (school_id, academic_year, as_of, totals, checks, updated_at)
        SELECT school_id, %s, DATE '2022-03-31', jsonb_object_agg(grade, cell), '{{}}', now()
        FROM (
          SELECT e.school_id, e.grade, jsonb_build_object(
            'M', COUNT(*) FILTER (WHERE p.sex = 'M'), 'F', COUNT(*) FILTER (WHERE p.sex = 'F'),
            'cM', COUNT(*) FILTER (WHERE p.sex = 'M' AND e.counted),
            'cF', COUNT(*) FILTER (WHERE p.sex = 'F' AND e.counted)) AS cell
          FROM {Enrolment._meta.db_table} e JOIN {Person._meta.db_table} p ON p.id = e.person_id
          WHERE e.academic_year = %s AND e.status = 'active'
          GROUP BY e.school_id, e.grade) t
        GROUP BY school_id""",
        [YEAR, YEAR],
    )
    t = time.perf_counter()
    rollup.rebuild(YEAR)
    seconds["rollup rebuild"] = time.perf_counter() - t
    _exec("ANALYZE")
    return seconds


def changes(n: int, seed: int = 7) -> tuple[float, int]:
    """n single-school changes through ``set_share`` (one student more or less in one cell,
    each in its own transaction, as a student edit does), mirrored on the base table so the
    totals still agree. Returns (seconds, deltas left pending)."""
    from dmc.reports.models import SchoolShare

    rng = random.Random(seed)
    ids = list(
        SchoolShare.objects.filter(academic_year=YEAR, round_key=LIVE).values_list(
            "school_id", flat=True
        )
    )
    t = time.perf_counter()
    for _ in range(n):
        school_id = rng.choice(ids)
        with transaction.atomic():
            share = SchoolShare.objects.select_for_update().get(
                school_id=school_id, academic_year=YEAR, round_key=LIVE
            )
            grade = rng.choice(sorted(share.cells))
            # the base: one enrolment of that school and grade leaves (status changes)
            with connection.cursor() as cur:
                cur.execute(
                    f"""UPDATE {Enrolment._meta.db_table} u SET status = 'transferred_out'
                    WHERE u.id = (SELECT e.id FROM {Enrolment._meta.db_table} e
                      WHERE e.school_id = %s AND e.academic_year = %s AND e.grade = %s
                      AND e.status = 'active' LIMIT 1)
                    RETURNING (SELECT pp.sex FROM {Person._meta.db_table} pp
                      WHERE pp.id = u.person_id), u.counted""",
                    [school_id, YEAR, grade],
                )
                sex, counted = cur.fetchone()
            cells = {g: list(v) for g, v in share.cells.items()}
            i = 0 if sex == "M" else 1
            cells[grade][i] -= 1
            if counted:
                cells[grade][i + 2] -= 1
            rollup.set_share(
                school_id=school_id,
                area_id=share.area_ref,
                year=YEAR,
                round_key=LIVE,
                cells=cells,
            )
        # compactions run after commit (transaction.on_commit), as in the app
    took = time.perf_counter() - t
    return took, CellDelta.objects.filter(academic_year=YEAR, round_key=LIVE).count()


def base_totals() -> dict[tuple[int, str], list[int]]:
    out: dict[tuple[int, str], list[int]] = {}
    with connection.cursor() as cur:
        cur.execute(BASE_SQL, [YEAR])
        for area, grade, sex, n, counted in cur.fetchall():
            cell = out.setdefault((area, grade), [0, 0, 0, 0])
            j = 0 if sex == "M" else 1
            cell[j] += n
            cell[j + 2] += counted
    return out


def say(*parts: Any, flush: bool = True) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=29_449)
    parser.add_argument("--students", type=int, default=6_630_000)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--base-runs", type=int, default=7)
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="time the reads again on a database this script already filled",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("B2 runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if Enrolment.objects.exists() != args.measure_only:
        sys.exit(
            "--measure-only needs a database this script filled"
            if args.measure_only
            else "the database is not empty: use a fresh, migrated database of its own"
        )

    from dmc.accounts.actor import Actor
    from dmc.accounts.models import Role, User
    from dmc.reports import selectors

    out = ROOT / "bench" / "results" / f"rollup-{args.students}.json"
    result: dict[str, Any] = {"schools": args.schools, "students": args.students}
    if args.measure_only:
        result = json.loads(out.read_text()) if out.exists() else result
        result["remeasured"] = True
    else:
        result["fill_seconds"] = fill(args.schools, args.students)
        say("filled", result["fill_seconds"], flush=True)
        result["summary_seconds"] = build_summaries()
        say("summaries", result["summary_seconds"], flush=True)
        took, pending = changes(args.changes)
        result["changes"] = {
            "n": args.changes,
            "seconds": round(took, 2),
            "ms_each": round(took / args.changes * 1000, 2),
            "pending_deltas": pending,
        }
        say("changes", result["changes"], flush=True)
    result["pending_deltas_at_read"] = CellDelta.objects.filter(
        academic_year=YEAR, round_key=LIVE
    ).count()
    result["load_average_before"] = list(os.getloadavg())

    summary = {k: v[:4] for k, v in rollup.area_cells(YEAR, LIVE).items()}
    base = base_totals()
    result["equal"] = summary == base
    result["cells"] = len(summary)
    say("summaries equal the base GROUP BY:", result["equal"], flush=True)

    obec = Actor(user=User(username="bench"), role=Role.OBEC_ADMIN, assignment_id=None)
    source = selectors.Source(YEAR)
    rollup_ms = timed(lambda: rollup.area_cells(YEAR, LIVE), args.reads)
    page_ms = timed(lambda: selectors.nation_totals(actor=obec, source=source), args.reads)
    base_ms = timed(base_totals, args.base_runs)
    for name, values in (
        ("summary read", rollup_ms),
        ("nation_totals", page_ms),
        ("base GROUP BY", base_ms),
    ):
        result[name] = {
            "runs": len(values),
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(pct(values, 95), 2),
            "max_ms": round(max(values), 2),
        }
        say(name, result[name], flush=True)
    result["ratio_p50"] = round(
        result["base GROUP BY"]["p50_ms"] / result["summary read"]["p50_ms"]
    )
    result["ratio_base_p50_over_summary_p95"] = round(
        result["base GROUP BY"]["p50_ms"] / result["summary read"]["p95_ms"]
    )
    result["ratio_page_p95"] = round(
        result["base GROUP BY"]["p50_ms"] / result["nation_totals"]["p95_ms"]
    )
    result["load_average_after"] = list(os.getloadavg())
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    say(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
