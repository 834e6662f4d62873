from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from dmc.core.thai import collation_key
from dmc.demo.loader import setup_calendar
from dmc.exchange.loader import load_schools_csv
from dmc.exchange.rows import parse_row
from dmc.schools.models import School
from dmc.students.models import Enrolment, Person


def _truncate() -> None:
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE students_enrolment, students_person, rounds_schoolyearstats,"
            " rounds_loadbatch CASCADE"
        )


class Command(BaseCommand):
    help = (
        "dmc bench ingest: B1 on PostgreSQL -- raw COPY of the file vs `dmc load` vs Django"
        " bulk_create of the same rows, in the same run (writes bench/results/ingest-*.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("which", choices=["ingest"])
        parser.add_argument("--schools", type=int, default=1000)
        parser.add_argument("--students", type=int, default=200_000)
        parser.add_argument(
            "--file", default="", help="an existing synth file (with --schools-csv)"
        )
        parser.add_argument("--schools-csv", default="")
        parser.add_argument(
            "--bulk-rows", type=int, default=0, help="rows for bulk_create (default: all)"
        )
        parser.add_argument("--out", default="bench/results")
        parser.add_argument(
            "--keep",
            action="store_true",
            help="leave the database loaded by `dmc load` (the last path timed)",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("B1 needs PostgreSQL: set DATABASE_URL=postgres://…")
        tmp = Path(tempfile.gettempdir())
        data = Path(o["file"]) if o["file"] else tmp / f"bench-{o['students']}.csv"
        schools_csv = Path(o["schools_csv"]) if o["schools_csv"] else data.with_suffix(".schools")
        made = False
        if not o["file"]:
            t = time.monotonic()
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "dmc.cli", "synth", "--schools", str(o["schools"]),
                 "--students", str(o["students"]), "--out", str(data),
                 "--schools-out", str(schools_csv)],
                check=True,
            )  # fmt: skip
            made = True
            self.stderr.write(f"synth: {time.monotonic() - t:.1f} s")
        rows = sum(1 for _ in data.open("rb")) - 1
        res: dict[str, Any] = {
            "rows": rows,
            "file_bytes": data.stat().st_size,
            "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.platform()}",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            res["postgresql"] = cur.fetchone()[0]
        _truncate()
        load_schools_csv(schools_csv, year=2564)
        setup_calendar(2564)  # academic year 2564 with its three rounds (round 3 is loaded)

        # (a) raw COPY of the same file into a plain table with the same 39 columns
        cols = ", ".join(f"c{i} text" for i in range(39))
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_raw_copy")
            cur.execute(f"CREATE TABLE bench_raw_copy ({cols})")
            t = time.monotonic()
            with (
                data.open("rb") as fh,
                cur.cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as cp,
            ):
                while block := fh.read(1 << 20):
                    cp.write(block)
            res["copy_s"] = round(time.monotonic() - t, 2)
            cur.execute("DROP TABLE bench_raw_copy")
        self.stderr.write(f"COPY: {res['copy_s']} s")

        # (c) Django bulk_create of the same rows (Person + Enrolment, batch_size 1000). The rows
        # are parsed (untimed) with the same parse_row; only object building + bulk_create count.
        limit = o["bulk_rows"] or rows
        school_ids = dict(School.objects.values_list("smis_code", "pk"))
        timed = 0.0
        done = 0
        with data.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            chunk: list[Any] = []
            for n, values in enumerate(reader, start=2):
                if done + len(chunk) >= limit:
                    break
                p, _ = parse_row(values, n, as_of=dt.date(2022, 3, 31), today=dt.date(2022, 4, 20))
                if p is not None:
                    chunk.append(p)
                if len(chunk) == 10_000:
                    timed += self._bulk(chunk, school_ids)
                    done += len(chunk)
                    chunk = []
            if chunk:
                timed += self._bulk(chunk, school_ids)
                done += len(chunk)
        res["bulk_rows"] = done
        res["bulk_s"] = round(timed, 2)
        self.stderr.write(f"bulk_create: {done} rows in {timed:.1f} s")

        _truncate()

        # (b) dmc load, in its own process (peak RSS of that process)
        t = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        proc = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "dmc.cli", "load", str(data), "--year", "2564",
             "--round", "3", "--json"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        res["load_s"] = round(time.monotonic() - t, 2)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        res["load_peak_rss_mib"] = round(max(rss, before) / 1024, 1)
        res["load"] = json.loads(proc.stdout)
        mem = res["load"].get("peak_rss_mib", {})
        # upper bound of the memory held at once: the main process + every worker at its peak
        res["load_peak_rss_total_mib"] = round(
            mem.get("main", 0) + res["load"].get("workers", 1) * mem.get("worker_max", 0), 1
        )
        self.stderr.write(
            f"load: {res['load_s']} s, {res['load_peak_rss_total_mib']} MiB (main + workers)"
        )

        res["loadavg_1_5_15_at_end"] = [round(x, 1) for x in os.getloadavg()]
        res["copy_rows_s"] = round(rows / res["copy_s"])
        res["load_rows_s"] = round(rows / res["load_s"])
        res["bulk_rows_s"] = round(done / timed)
        res["load_vs_copy"] = round(res["load_rows_s"] / res["copy_rows_s"], 3)
        res["load_vs_bulk"] = round(res["load_rows_s"] / res["bulk_rows_s"], 2)
        out = Path(o["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"ingest-{rows}.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
        self.stdout.write(json.dumps(res, indent=2, ensure_ascii=False))
        if not o["keep"]:
            _truncate()
        if made:
            data.unlink()
            schools_csv.unlink()
        Path(str(data) + ".rejects.csv").unlink(missing_ok=True)

    @staticmethod
    def _bulk(chunk: list[Any], school_ids: dict[str, int]) -> float:
        t = time.monotonic()
        with transaction.atomic():
            people = [
                Person(
                    person_id=p.person_id,
                    id_kind=p.id_kind,
                    title_code=p.title_code,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    name_key=collation_key(f"{p.first_name} {p.last_name}"),
                    sex=p.sex,
                    birth_date=p.birth_date,
                    **p.person,
                )
                for p in chunk
            ]
            Person.objects.bulk_create(people, batch_size=1000)
            ids = dict(
                Person.objects.filter(person_id__in=[p.person_id for p in chunk]).values_list(
                    "person_id", "pk"
                )
            )
            Enrolment.objects.bulk_create(
                (
                    Enrolment(
                        person_id=ids[p.person_id],
                        school_id=school_ids[p.school_code],
                        academic_year=2564,
                        student_no=p.student_no,
                        grade=p.grade,
                        room=p.room,
                        weight_kg=p.weight_kg,
                        height_cm=p.height_cm,
                        tracked_318=p.tracked_318,
                    )
                    for p in chunk
                ),
                batch_size=1000,
            )
        return time.monotonic() - t
