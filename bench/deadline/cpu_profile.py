"""B3 in-process profile: the CPU one request of each deadline-day kind costs in the Django process.

Runs the full middleware stack (``django.test.Client``) against a copy of the deadline dataset
(``dmc_deadline_run``, made by ``bench/deadline/run.py``; pass ``--fresh`` to copy the seed again)
with the benchmark's own credentials, and reports per kind: process CPU per request (the Django
side only; PostgreSQL's CPU is another process), wall time, and the number of SQL statements.
``--cprofile KIND`` prints the top functions of that kind by cumulative time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dmc_deadline_run \\
      .venv/bin/python bench/deadline/cpu_profile.py [-n 200] [--cprofile web_checklist]
"""

# ruff: noqa: T201, S311
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DMC_DEBUG", "0")
os.environ.setdefault("DMC_LOG_LEVEL", "ERROR")
os.environ.setdefault("DMC_CONN_MAX_AGE", "600")

KINDS = ["area_dashboard", "web_checklist", "web_students", "api_checklist", "api_students"]


def requests_for(kind: str, creds: dict[str, Any], rng: random.Random) -> tuple[str, str, dict]:
    school = creds["schools"][rng.randrange(len(creds["schools"]))]
    rid = creds["round_id"]
    web = {"HTTP_COOKIE": f"sessionid={school['officer_session']}"}
    token = {"HTTP_AUTHORIZATION": f"Bearer {school['officer_token']}"}
    if kind == "area_dashboard":
        area = creds["areas"][rng.randrange(len(creds["areas"]))]
        return "GET", "/area/round/", {"HTTP_COOKIE": f"sessionid={area['session']}"}
    if kind == "web_checklist":
        return "GET", "/round/", web
    if kind == "web_students":
        return "GET", f"/schools/{school['code']}/students/", web
    if kind == "api_checklist":
        return "GET", f"/api/v1/rounds/{rid}/schools/{school['code']}", token
    if kind == "api_students":
        return "GET", f"/api/v1/schools/{school['code']}/students", token
    if kind == "confirm":
        return "POST", f"/api/v1/rounds/{rid}/schools/{school['code']}/confirm", token
    raise SystemExit(f"unknown kind {kind}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="requests per kind")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--cprofile", default="", help="a kind to profile with cProfile")
    ap.add_argument("--creds", default=str(ROOT / "var/bench-deadline/creds.json"))
    ap.add_argument("--json", default="", help="write the results here")
    args = ap.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    count = [0]

    def counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1  # counted, not captured: capturing SQL text would inflate the CPU figure
        return execute(sql, params, many, context)

    creds = json.loads(Path(args.creds).read_text())
    client = Client(raise_request_exception=True)
    out: dict[str, Any] = {}
    for kind in args.kinds.split(","):
        rng = random.Random(7)
        for _ in range(20):  # warm: imports, template and URL caches, the connection
            method, path, headers = requests_for(kind, creds, rng)
            client.generic(method, path, **headers)
        cpu, wall, queries, statuses = [], [], [], []
        prof = cProfile.Profile() if kind == args.cprofile else None
        for _ in range(args.n):
            method, path, headers = requests_for(kind, creds, rng)
            count[0] = 0
            with connection.execute_wrapper(counting):
                c0, w0 = time.process_time(), time.perf_counter()
                if prof:
                    prof.enable()
                response = client.generic(method, path, **headers)
                if prof:
                    prof.disable()
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            queries.append(count[0])
            statuses.append(response.status_code)
        out[kind] = {
            "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "wall_ms_median": round(statistics.median(wall), 2),
            "queries_median": statistics.median(queries),
            "statuses": sorted(set(statuses)),
        }
        print(kind, out[kind], flush=True)
        if prof:
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(45)
            print(s.getvalue())
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(30)
            print(s.getvalue())
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
