"""B3 deadline day, one command (``make bench-deadline``): dataset → baseline → Django → 2 apps.

1. The seed database ``dmc_deadline_seed`` (29,449 schools, accounts, tokens, sessions) is built
   once by dataset.py and reused while ``var/bench-deadline/creds.json`` exists.
2. Each scenario runs on a fresh copy (``CREATE DATABASE … TEMPLATE``), with the demo clock moved
   into round 3's confirm window, against gunicorn on loopback, driven by Locust (headless, one
   process, on the same 2 cores: it competes with the server and PostgreSQL for CPU).
3. Scenarios (same plan shape, same generator):
   * ``bare``   — the bare-WSGI baseline (bench/deadline/bare.py), same SQL, same gunicorn;
   * ``django`` — Open DMC: storm, then the 3× spike, then recovery;
   * ``two``    — Open DMC as two gunicorn instances on two ports, round-robin from the client.
4. After each: every acknowledged (2xx) confirm/certify is checked against the database.

Results: bench/results/deadline.json (+ the per-request CSVs in var/bench-deadline/).
Usage: python bench/deadline/run.py [--quick] [--only bare,django,two]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "bench-deadline"
BIN = Path(os.environ.get("DEADLINE_BIN", ROOT / ".venv" / "bin"))
PG = os.environ.get("PGHOST", "127.0.0.1")
SEED = "dmc_deadline_seed"
RUN_DB = "dmc_deadline_run"
CREDS = VAR / "creds.json"
RESULTS = ROOT / "bench" / "results" / "deadline.json"


def log(msg: str) -> None:
    print(f"[deadline {time.strftime('%H:%M:%S')}] {msg}", flush=True)  # noqa: T201


def psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(  # noqa: S603
        ["psql", "-h", PG, "-U", "postgres", "-d", db, "-Atqc", sql],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def url(db: str) -> str:
    return f"postgres://postgres@{PG}:5432/{db}"


def ensure_seed(students_per_school: int) -> None:
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{SEED}'") == "1"  # noqa: S608
    if exists and CREDS.exists():
        log(f"seed database {SEED} present (credentials {CREDS})")
        # every run: one hash with the current hasher and one UPDATE, so the directors' step-up
        # costs what production's PASSWORD_HASHERS make it cost, whenever the seed was built
        log("giving the seed's directors their step-up password (current hasher)")
        subprocess.run(  # noqa: S603
            [
                str(BIN / "python"),
                str(ROOT / "bench/deadline/dataset.py"),
                str(CREDS),
                "--director-passwords-only",
            ],
            env={**os.environ, "DATABASE_URL": url(SEED), "DMC_DEBUG": "0"},
            check=True,
        )
        return
    log("building the seed database (once; ≈6 min)")
    VAR.mkdir(parents=True, exist_ok=True)
    psql(f"DROP DATABASE IF EXISTS {SEED}")
    psql(f"CREATE DATABASE {SEED}")
    env = {**os.environ, "DATABASE_URL": url(SEED), "DMC_DEBUG": "0"}
    subprocess.run([str(BIN / "dmc"), "migrate", "-v0"], env=env, check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [
            str(BIN / "python"),
            str(ROOT / "bench/deadline/dataset.py"),
            str(CREDS),
            "--students-per-school",
            str(students_per_school),
        ],
        env=env,
        check=True,
    )
    psql("VACUUM ANALYZE", SEED)


def fresh_db() -> None:
    psql(f"DROP DATABASE IF EXISTS {RUN_DB}")
    psql(f"CREATE DATABASE {RUN_DB} TEMPLATE {SEED}")
    # round 3's confirm window opens 30 Apr 2565 08:00 Bangkok: the clock reads 09:00 now
    psql(
        "INSERT INTO core_clocksetting (id, offset_seconds, frozen_at) VALUES (1, 0, NULL)"
        " ON CONFLICT (id) DO NOTHING",
        RUN_DB,
    )
    psql(
        "UPDATE core_clocksetting SET frozen_at = NULL, offset_seconds ="
        " extract(epoch FROM timestamptz '2022-04-30 09:00:00+07' - now())::int",
        RUN_DB,
    )


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url(RUN_DB),
        "DMC_ENV": "dev",
        "DMC_DEBUG": "0",
        "DMC_LOG_LEVEL": "ERROR",
        "DMC_CONN_MAX_AGE": "600",
        "PYTHONPATH": str(ROOT),
    }


def start_servers(
    app: str, ports: list[int], workers: int, threads: int
) -> list[subprocess.Popen[bytes]]:
    # Open DMC under the queue-aware gthread worker (admission sees queueing time); the bare
    # baseline under plain gthread (it has no admission control to feed)
    worker = "gthread" if "bare" in app else "dmc.perf.worker.QueueAwareThreadWorker"
    procs = []
    for port in ports:
        argv = [
            str(BIN / "gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker,
            "--threads",
            str(threads),
            "--backlog",
            "4096",
            "--timeout",
            "60",
            "--graceful-timeout",
            "10",
        ]
        procs.append(
            subprocess.Popen(  # noqa: S603
                argv,
                env=server_env(),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=open(VAR / f"gunicorn-{port}.log", "w"),  # noqa: SIM115
            )
        )
    for port in ports:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/me", timeout=2)
            except urllib.error.HTTPError:
                break  # 401: up
            except OSError:
                time.sleep(0.2)
    return procs


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU of the gunicorn masters and their workers so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in procs:
        pids = [p.pid]
        try:
            children = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
    return total


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def run_locust(name: str, hosts: list[str], plan: list[dict[str, Any]]) -> Path:
    out = VAR / f"{name}.csv"
    env = {
        **os.environ,
        "DEADLINE_CREDS": str(CREDS),
        "DEADLINE_HOSTS": ",".join(hosts),
        "DEADLINE_PLAN": json.dumps(plan),
        "DEADLINE_OUT": str(out),
    }
    duration = sum(p["duration"] for p in plan) + 90
    subprocess.run(  # noqa: S603
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench/deadline/locustfile.py"),
            "--headless",
            "-u",
            "1",
            "-r",
            "1",
            "-t",
            f"{duration}s",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--host",
            hosts[0],
        ],
        env=env,
        cwd=ROOT,
        check=False,
        stdout=open(VAR / f"{name}.locust.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))], 1)


def analyse(csv_path: Path, plan: list[dict[str, Any]]) -> dict[str, Any]:
    rows = list(csv.DictReader(open(csv_path)))  # noqa: SIM115
    phases: dict[str, Any] = {}
    t = 0.0
    for phase in plan:
        name = phase["name"]
        mine = [r for r in rows if r["phase"] == name]
        # requests counted in the phase they were planned in (writes may finish later)
        admitted = [r for r in mine if r["status"] not in ("429", "503")]
        shed = [r for r in mine if r["status"] in ("429", "503")]
        intended_409 = [r for r in mine if r["kind"] == "confirm_again" and r["status"] == "409"]
        errors = [
            r
            for r in mine
            if not r["status"].startswith("2")
            and r["status"] not in ("429", "503")
            and not (r["kind"] == "confirm_again" and r["status"] == "409")
        ]
        lat = [float(r["latency_ms"]) for r in admitted]
        by_kind: dict[str, Any] = {}
        for r in admitted:
            by_kind.setdefault(r["kind"], []).append(float(r["latency_ms"]))
        reads = [r for r in mine if r["kind"] not in ("confirm", "certify", "confirm_again")]
        if phase.get("closed"):
            ok = [r for r in mine if r["status"].startswith("2")]
            phases[name] = {
                "admitted": len([r for r in mine if r["status"] not in ("429", "503")]),
                "closed_clients": phase["closed"],
                "duration_s": phase["duration"],
                "served_per_s": round(len(ok) / phase["duration"], 1),
                "non_2xx": len(mine) - len(ok),
                "p50_ms": pct([float(r["latency_ms"]) for r in ok], 50),
                "p99_ms": pct([float(r["latency_ms"]) for r in ok], 99),
            }
            t += phase["duration"]
            continue
        phases[name] = {
            "start_s": t,
            "duration_s": phase["duration"],
            "offered_reads_per_s": phase.get("reads", 0),
            "offered_confirms_per_s": phase.get("confirms", 0),
            "requests": len(mine),
            "reads_served_per_s": round(
                len([r for r in reads if r["status"].startswith("2")]) / phase["duration"], 1
            ),
            "admitted": len(admitted),
            "shed_429_503": len(shed),
            "shed_p99_ms": pct([float(r["latency_ms"]) for r in shed], 99),
            "intended_409": len(intended_409),
            "errors": len(errors),
            "error_statuses": sorted({r["status"] for r in errors}),
            "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99),
            "p99_by_kind_ms": {k: pct(v, 99) for k, v in sorted(by_kind.items())},
            "generator_lag_p99_ms": pct([float(r["lag_ms"]) for r in mine], 99),
        }
        t += phase["duration"]
    writes = [r for r in rows if r["kind"] in ("confirm", "certify") and r["status"] == "200"]
    if writes:
        phases["writes_done_at_s"] = max(float(r["done"]) for r in writes)
    phases["recovery_s"] = recovery(rows, plan)
    return phases


def recovery(rows: list[dict[str, str]], plan: list[dict[str, Any]]) -> float | None:
    """Seconds after the spike ends until every later 5-s window has no shed request and
    p99 ≤ 500 ms (None when there is no spike)."""
    t = 0.0
    spike_end = None
    for phase in plan:
        t += phase["duration"]
        if phase["name"] == "spike":
            spike_end = t
    if spike_end is None:
        return None
    after = [r for r in rows if float(r["planned"]) >= spike_end]
    if not after:
        return None
    end = max(float(r["planned"]) for r in after)
    windows = []
    w = spike_end
    while w < end:
        inside = [r for r in after if w <= float(r["planned"]) < w + 5]
        bad = (
            any(r["status"] in ("429", "503") for r in inside)
            or pct([float(r["latency_ms"]) for r in inside], 99) > 500
        )
        windows.append((w, bad))
        w += 5
    last_bad = max((w for w, bad in windows if bad), default=None)
    return 0.0 if last_bad is None else round(last_bad + 5 - spike_end, 1)


def verify(csv_path: Path) -> dict[str, Any]:
    acked = json.loads(Path(str(csv_path) + ".acked.json").read_text())
    confirmed = set(
        psql(
            "SELECT s.smis_code FROM rounds_schoolround sr JOIN schools_school s ON s.id ="
            " sr.school_id WHERE sr.confirmed_at IS NOT NULL",
            RUN_DB,
        ).split()
    )
    certified = set(
        psql(
            "SELECT s.smis_code FROM rounds_schoolround sr JOIN schools_school s ON s.id ="
            " sr.school_id WHERE sr.certified_at IS NOT NULL",
            RUN_DB,
        ).split()
    )
    audits = int(psql("SELECT count(*) FROM core_auditevent WHERE action LIKE 'round.c%'", RUN_DB))
    snapshots = int(psql("SELECT count(*) FROM rounds_snapshot", RUN_DB))
    return {
        "acked_confirms": len(acked["confirm"]),
        "acked_certifies": len(acked["certify"]),
        "confirmed_in_db": len(confirmed),
        "certified_in_db": len(certified),
        "acked_confirm_lost": len(set(acked["confirm"]) - confirmed),
        "acked_certify_lost": len(set(acked["certify"]) - certified),
        "audit_events": audits,
        "snapshots": snapshots,
    }


def scenario(
    name: str, app: str, ports: list[int], workers: int, threads: int, plan: list[dict[str, Any]]
) -> dict[str, Any]:
    log(f"scenario {name}: fresh database, {len(ports)} × gunicorn {workers}×{threads} ({app})")
    fresh_db()
    procs = start_servers(app, ports, workers, threads)
    try:
        cpu0 = cpu_seconds(procs)
        wall0 = time.monotonic()
        csv_path = run_locust(name, [f"http://127.0.0.1:{p}" for p in ports], plan)
        cpu = cpu_seconds(procs) - cpu0
        wall = time.monotonic() - wall0
    finally:
        stop(procs)
    result = analyse(csv_path, plan)
    rows = sum(1 for _ in open(csv_path)) - 1  # noqa: SIM115
    served = sum(v["admitted"] for k, v in result.items() if isinstance(v, dict))
    result["server_cpu_s"] = round(cpu, 1)
    result["server_cpu_ms_per_admitted_request"] = round(1000 * cpu / max(1, served), 2)
    result["wall_s"] = round(wall, 1)
    result["requests"] = rows
    result["verify"] = verify(csv_path)
    acked = json.loads(Path(str(csv_path) + ".acked.json").read_text())
    result["effective_rates"] = acked.get("effective")
    log(f"scenario {name}: {json.dumps(result)[:1500]}")
    return result


def plans(n_schools: int, quick: bool) -> dict[str, list[dict[str, Any]]]:
    scale = 0.2 if quick else 1.0
    storm_s = int(300 * scale)
    spike_schools = int(0.1 * n_schools)  # kept for the spike: its writes are fresh schools
    storm_schools = n_schools - spike_schools
    confirm_rate = round(storm_schools / (storm_s - 40 * scale), 1)
    capacity = {"name": "capacity", "duration": int(30 * scale) or 10, "closed": 16}
    django = [
        {"name": "warmup", "duration": 10, "reads": 50},
        capacity,
        {
            "name": "storm",
            "duration": storm_s,
            "reads": 300,
            "confirms": confirm_rate if not quick else 30,
            "schools": [0, storm_schools],
            "think": 20,
        },
        {
            "name": "spike",
            "duration": int(60 * scale) or 12,
            "reads": 900,
            "confirms": (confirm_rate if not quick else 30) * 3,
            "schools": [storm_schools, n_schools],
            "think": 10,
        },
        {"name": "recovery", "duration": int(60 * scale) or 12, "reads": 300},
    ]
    # the baseline and the two-process run: the storm only, shorter (their own schools)
    short = int(60 * scale)
    storm_only = [
        {"name": "warmup", "duration": 10, "reads": 50},
        capacity,
        {
            "name": "storm",
            "duration": short,
            "reads": 300,
            "confirms": confirm_rate if not quick else 30,
            "schools": [0, storm_schools],
            "think": 20,
        },
    ]
    # the same shape at rates this machine can carry, from the capacity measured in the run:
    # storm at half of it, then 3x that, then back (shows shedding and recovery)
    fit = [
        {"name": "warmup", "duration": 10, "reads": 20},
        capacity,
        {
            "name": "storm",
            "duration": int(60 * scale) or 12,
            "reads_of_capacity": 0.35,
            "confirms_of_capacity": 0.075,
            "schools": [0, storm_schools],
            "think": 10,
        },
        {
            "name": "spike",
            "duration": int(30 * scale) or 10,
            "reads_of_capacity": 1.05,
            "confirms_of_capacity": 0.225,
            "schools": [storm_schools, n_schools],
            "think": 5,
        },
        {"name": "recovery", "duration": int(40 * scale) or 10, "reads_of_capacity": 0.35},
    ]
    return {"bare": storm_only, "django": django, "two": storm_only, "fit": fit}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 2-minute smoke run of every scenario")
    ap.add_argument("--only", default="bare,django,fit,two")
    ap.add_argument("--students-per-school", type=int, default=8)
    ap.add_argument("--threads", type=int, default=24)
    args = ap.parse_args()
    ensure_seed(args.students_per_school)
    creds = json.loads(CREDS.read_text())
    n = len(creds["schools"])
    plan = plans(n, args.quick)
    out: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "load_before": os.getloadavg()},
        "schools": n,
        "students": creds.get("students"),
        "plans": plan,
        "gunicorn": {"workers": 2, "threads": args.threads, "worker_class": "gthread"},
    }
    wanted = args.only.split(",")
    if "bare" in wanted:
        out["bare"] = scenario(
            "bare", "bench.deadline.bare:app", [8781], 2, args.threads, plan["bare"]
        )
    if "django" in wanted:
        out["django"] = scenario(
            "django", "config.wsgi:application", [8782], 2, args.threads, plan["django"]
        )
    if "fit" in wanted:
        out["django_fit"] = scenario(
            "fit", "config.wsgi:application", [8785], 2, args.threads, plan["fit"]
        )
    if "two" in wanted:
        out["two"] = scenario(
            "two", "config.wsgi:application", [8783, 8784], 1, args.threads, plan["two"]
        )
    if "bare" in out and "django" in out:
        b, d = out["bare"], out["django"]
        out["ratio_capacity_django_over_bare"] = round(
            d["capacity"]["served_per_s"] / max(0.1, b["capacity"]["served_per_s"]), 2
        )
        out["ratio_cpu_per_request_bare_over_django"] = round(
            b["server_cpu_ms_per_admitted_request"]
            / max(0.01, d["server_cpu_ms_per_admitted_request"]),
            2,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if not args.quick:
        RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))  # noqa: T201
    log(f"results in {RESULTS if not args.quick else '(quick run: not saved)'}")


if __name__ == "__main__":
    sys.exit(main())
