"""B4 rollover: the year-end rollover of a national-size year on PostgreSQL, against a plain
``INSERT … SELECT`` copy of the same rows into a table with the same indexes, in the same run.

Usage (a fresh database; see bench/rollover.sh):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dmc_rollover_bench \
        .venv/bin/python bench/rollover.py --schools 29449 --students 6630000

The dataset is made with set-based SQL (``generate_series``), not through the app: 245 areas,
the schools, grades and rooms per school, one person and one enrolment of year 2564 per student,
with end-of-year results of a realistic mix (most pass, a few repeat with the evaluations not
passed, graduates of terminal grades with a destination, some 3.1.8, withdrawn and transferred,
a few still pending). Round 3 of 2564 is closed. Then, timed: the baseline copy, and
``dmc.yearend.rollover.rollover`` (what ``dmc rollover 2564`` runs), whose phases are timed too.
Results go to bench/results/rollover-<date>.json and are printed as Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DMC_ENV", "dev")

import django

django.setup()

from django.db import connection  # noqa: E402

from dmc.core import clock  # noqa: E402
from dmc.core.clock import bangkok  # noqa: E402
from dmc.demo.loader import setup_calendar  # noqa: E402
from dmc.rounds.models import Round  # noqa: E402
from dmc.yearend import rollover  # noqa: E402

YEAR = 2564
AFTER_CLOSE = bangkok(2022, 5, 2, 10, 0)


def sql(statement: str, params: dict[str, object] | None = None) -> float:
    started = time.perf_counter()
    with connection.cursor() as cur:
        if params is None:
            cur.execute(statement)
        else:
            cur.execute(statement, params)
    return time.perf_counter() - started


def fill(schools: int, students: int) -> dict[str, float]:
    """The national dataset, set-based (timed per table for the record)."""
    t: dict[str, float] = {}
    per_school = students // schools
    t["areas"] = sql(
        """INSERT INTO schools_areaoffice (code, name, kind, province_code, created_at, updated_at)
        SELECT 'A' || lpad(i::text, 3, '0'), 'เขต ' || i,
               CASE WHEN i <= 183 THEN 'primary' ELSE 'secondary' END,
               lpad((10 + i % 77)::text, 2, '0'), now(), now()
        FROM generate_series(1, 245) i"""
    )
    t["schools"] = sql(
        """INSERT INTO schools_school (smis_code, moe_code, obec_code, name, area_id, province_code,
               status, boarding, version, created_at, updated_at)
        SELECT lpad((10000000 + i)::text, 8, '0'), lpad((1000000000 + i)::text, 10, '0'),
               lpad(i::text, 6, '0'), 'โรงเรียน ' || i, a.id, a.province_code, 'active', false, 1,
               now(), now()
        FROM generate_series(1, %(n)s) i
        JOIN schools_areaoffice a ON a.code = 'A' || lpad((1 + i %% 245)::text, 3, '0')""",
        {"n": schools},
    )
    # every school teaches อ.1-ม.6 (01-15) with 1-3 rooms per grade
    t["grades"] = sql(
        """INSERT INTO schools_schoolgrade (school_id, academic_year, grade, rooms)
        SELECT s.id, %(year)s, lpad(g::text, 2, '0'), 1 + (s.id + g) %% 3
        FROM schools_school s CROSS JOIN generate_series(1, 15) g""",
        {"year": YEAR},
    )
    t["persons"] = sql(
        """INSERT INTO students_person (person_id, id_kind, document_type, title_code, first_name,
               last_name, name_key, sex, birth_date, blood, religion, race, nationality, house_no,
               moo, street, subdistrict, district, province, guardian_first_name,
               guardian_last_name, guardian_occupation, guardian_relation, father_first_name,
               father_last_name, father_occupation, mother_first_name, mother_last_name,
               mother_occupation, disadvantaged, disability, scout, redcross, swimming, version,
               created_at, updated_at)
        SELECT '1' || lpad(i::text, 12, '0'), 'citizen', 'I',
               CASE WHEN i %% 2 = 0 THEN '001' ELSE '002' END, 'ชื่อ' || i, 'สกุล', 'k' || i,
               CASE WHEN i %% 2 = 0 THEN 'M' ELSE 'F' END,
               date '2008-05-17' + (i %% 4000), '', '', '', '099', '', '', '', '', '', '', '',
               '', '', '', '', '', '', '', '', '', '', '', '', '', '', 1, now(), now()
        FROM generate_series(1, %(n)s) i""",
        {"n": students},
    )
    # student i belongs to school 1 + (i-1) / per_school (the last school takes the rest);
    # grade by age; results: 1 in 40 repeats, 1 in 200 is 3.1.8, 1 in 150 left, 1 in 500 pending
    t["enrolments"] = sql(
        """INSERT INTO students_enrolment (person_id, school_id, academic_year, student_no, grade,
               room, status, tracked_318, weight_kg, height_cm, admitted_on, left_on, leave_reason,
               dropout_reason, leave_note, sat_exam, year_result, years_studied,
               failed_evaluations, destination, checks, counted, version, created_at, updated_at)
        SELECT p.id, s.id, %(year)s, lpad(p.id::text, 8, '0'), x.grade, 1 + p.id %% 2,
               CASE WHEN p.id %% 150 = 7 THEN 'transferred_out' ELSE 'active' END,
               p.id %% 200 = 3, 30.0, 135.0, date '2021-05-16', NULL, '', '', '', true,
               CASE WHEN p.id %% 500 = 11 OR p.id %% 200 = 3 THEN ''
                    WHEN p.id %% 40 = 1 THEN 'fail' ELSE 'pass' END,
               1,
               CASE WHEN p.id %% 40 = 1 THEN '1' ELSE '' END,
               CASE WHEN x.grade IN ('09', '12', '15') AND p.id %% 40 <> 1
                    THEN (ARRAY['11','12','13','14','21'])[1 + p.id %% 5] ELSE '' END,
               '', true, 1, now(), now()
        FROM students_person p
        CROSS JOIN LATERAL (
            SELECT lpad((1 + p.id %% 15)::text, 2, '0') AS grade,
                   LEAST(1 + (p.id - 1) / %(per)s, %(schools)s) AS school_no
        ) x
        JOIN schools_school s ON s.obec_code = lpad(x.school_no::text, 6, '0')""",
        {"year": YEAR, "per": per_school, "schools": schools},
    )
    t["analyze"] = sql("ANALYZE")
    return t


def reset_rollover() -> None:
    """Undo an earlier run's rollover (the audit trail of it stays: it is append-only)."""
    nxt = {"year": YEAR + 1}
    sql("DELETE FROM students_enrolment WHERE academic_year = %(year)s", nxt)
    sql("DELETE FROM rounds_schoolyearstats WHERE academic_year = %(year)s", nxt)
    sql("DELETE FROM schools_schoolgrade WHERE academic_year = %(year)s", nxt)
    sql("DELETE FROM yearend_rolloverschool")
    sql("DELETE FROM yearend_rolloverjob")
    sql("VACUUM ANALYZE students_enrolment")


def baseline_copy() -> tuple[float, int]:
    """The same carried rows copied by one plain INSERT … SELECT into a table with the same
    columns, constraints and indexes (the floor for moving this many rows in this database)."""
    sql("DROP TABLE IF EXISTS bench_enrolment_copy")
    sql("CREATE TABLE bench_enrolment_copy (LIKE students_enrolment INCLUDING ALL)")
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO bench_enrolment_copy (person_id, school_id, academic_year, student_no,
                   grade, room, status, tracked_318, weight_kg, height_cm, admitted_on, left_on,
                   leave_reason, dropout_reason, leave_note, sat_exam, year_result, years_studied,
                   failed_evaluations, destination, checks, counted, version, created_at,
                   updated_at)
            SELECT person_id, school_id, academic_year + 1, student_no, grade, room, status,
                   tracked_318, weight_kg, height_cm, admitted_on, left_on, leave_reason,
                   dropout_reason, leave_note, sat_exam, '', NULL, '', '', '', counted, 1, now(),
                   now()
            FROM students_enrolment WHERE academic_year = %(year)s AND status = 'active'""",
            {"year": YEAR},
        )
        rows = cur.rowcount
    elapsed = time.perf_counter() - started
    sql("DROP TABLE bench_enrolment_copy")
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schools", type=int, default=29449)
    parser.add_argument("--students", type=int, default=6_630_000)
    parser.add_argument("--batch-schools", type=int, default=rollover.BATCH_SCHOOLS)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the filled year of an earlier run; undo its rollover and measure again",
    )
    args = parser.parse_args()
    if args.reuse:
        reset_rollover()
    else:
        with clock.frozen(bangkok(2022, 4, 20, 10, 0)):
            setup_calendar(YEAR)
        Round.objects.filter(academic_year__year=YEAR).update(closed_at=bangkok(2022, 5, 2, 9, 0))
        fill_t = fill(args.schools, args.students)
        print(f"filled in {sum(fill_t.values()):.1f} s: {fill_t}", file=sys.stderr)  # noqa: T201
    copy_s, copy_rows = baseline_copy()
    print(f"baseline INSERT … SELECT: {copy_rows:,} rows in {copy_s:.1f} s", file=sys.stderr)  # noqa: T201

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"\rrollover: {done:,}/{total:,} schools")
        sys.stderr.flush()

    with clock.frozen(AFTER_CLOSE):
        started = time.perf_counter()
        job = rollover.rollover(
            actor=None, year=YEAR, batch_schools=args.batch_schools, progress=progress
        )
        rollover_s = time.perf_counter() - started
    sys.stderr.write("\n")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM students_enrolment WHERE academic_year = %s", [YEAR + 1])
        carried = cur.fetchone()[0]  # type: ignore[index]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "schools": args.schools,
        "students": args.students,
        "baseline_insert_select_s": round(copy_s, 2),
        "baseline_rows": copy_rows,
        "rollover_s": round(rollover_s, 2),
        "rollover_rows": carried,
        "ratio_rollover_to_insert_select": round(rollover_s / copy_s, 1),
        "rows_per_s": round(carried / rollover_s),
        "peak_rss_mib": round(peak_mib),
        "counts": job.counts,
        "state": job.state,
        "batch_schools": args.batch_schools,
    }
    out = Path(__file__).parent / "results" / f"rollover-{result['date']}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
