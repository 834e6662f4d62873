"""B1b — school uploads under concurrency: 16 schools each upload a 2,000-row 39-column file at
the same moment to a running server (gunicorn on PostgreSQL), through POST /api/v1/imports.

Baseline in the same run: a 17th school's file uploaded alone to the same server first (the
latency of one upload with the machine to itself), so the ratio shows what 16-way concurrency
costs on this 2-core machine.

Usage (a migrated, empty database; the script sets it up):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dmc_upload .venv/bin/python bench/upload.py
Writes bench/results/upload-16x2000.json and prints the numbers.

``--background``: every upload is sent with ``background=true`` (the import is queued for the
job workers `dmc serve` starts, BENCH_JOB_WORKERS of them, default 1) and its job is then polled
(GET /api/v1/imports/{job_id} every BENCH_POLL_S seconds, default 0.2) until done. Two latencies
per school: *accepted* (until the 202 answer) and *committed* (until the poll sees the job done).
Writes bench/results/upload-16x2000-background.json.

BENCH_SCHOOLS and BENCH_ROWS (default 16 and 2000) shrink the run to try the script (e.g. 4 and
300); the result file is named after them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from dmc.accounts.actor import Actor  # noqa: E402
from dmc.accounts.models import Role, User  # noqa: E402
from dmc.accounts.services import assignment_create_approved, token_create  # noqa: E402
from dmc.core import clock  # noqa: E402
from dmc.demo import loader, synth  # noqa: E402
from dmc.exchange.format import HEADER  # noqa: E402

SCHOOLS = int(os.environ.get("BENCH_SCHOOLS", "16"))
ROWS = int(os.environ.get("BENCH_ROWS", "2000"))
PORT = int(os.environ.get("BENCH_PORT", "8771"))
POLL_S = float(os.environ.get("BENCH_POLL_S", "0.2"))
BACKGROUND = "--background" in sys.argv[1:]
ERRORS: list[str] = []


def setup() -> list[tuple[str, str, bytes]]:
    """Areas/schools of a 16-school plan, officers with tokens, one CSV per school."""
    areas, plan = synth.plan(SCHOOLS + 1, (SCHOOLS + 1) * ROWS, seed=77, areas=2)
    for s in plan:  # every file exactly ROWS rows, spread over the grades the school offers
        offered = sorted(s.grades)
        s.grades = dict(zip(offered, synth._allocate(ROWS, [1.0] * len(offered)), strict=True))
        s.rooms = {g: max(1, -(-n // 40)) if n else 0 for g, n in s.grades.items()}
        s.students = ROWS
    with transaction.atomic():
        loader.setup_calendar(loader.DEMO_YEAR)
        schools = loader.load_structure(areas, plan, loader.DEMO_YEAR)
    out = []
    first = 0
    for s in plan:
        school = schools[s.smis_code]
        user = User.objects.create(username=f"bench{s.index}", first_name="b", last_name="b")
        assignment = assignment_create_approved(
            actor=None, user=user, role=Role.SCHOOL_OFFICER, school=school
        )
        assignment.school = school
        _, secret = token_create(actor=Actor.from_assignment(assignment), name="bench")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(HEADER)
        for student in synth.students_of(s, seed=77, year=loader.DEMO_YEAR, first_index=first):
            writer.writerow(synth.to_row(s, student, year=loader.DEMO_YEAR))
        first += s.students
        out.append((s.smis_code, secret, buf.getvalue().encode("utf-8")))
    clock.set_clock(loader.DEMO_CLOCK)  # round 3 entry is open for the server too
    return out


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="students.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
    )
    parts.append(content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _request(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        ERRORS.append(body[:300].decode("utf-8", "replace"))
        return exc.code, body


def upload(code: str, secret: str, content: bytes, results: list[tuple[float, int]]) -> None:
    """Synchronous mode: (seconds until the answer, status)."""
    body, ctype = multipart({"school_code": code, "sat_exam": "true"}, content)
    request = urllib.request.Request(  # loopback only
        f"http://127.0.0.1:{PORT}/api/v1/imports",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": ctype},
    )
    start = time.perf_counter()
    status, _ = _request(request)
    results.append((time.perf_counter() - start, status))


def upload_background(
    code: str, secret: str, content: bytes, results: list[tuple[float, int]]
) -> None:
    """Background mode: (accepted seconds, committed seconds, status, final job state) as
    (accepted, status) in ``results`` and the rest in ``COMMITTED``."""
    fields = {"school_code": code, "sat_exam": "true", "background": "true"}
    body, ctype = multipart(fields, content)
    auth = {"Authorization": f"Bearer {secret}"}
    request = urllib.request.Request(  # loopback only
        f"http://127.0.0.1:{PORT}/api/v1/imports",
        data=body,
        method="POST",
        headers={**auth, "Content-Type": ctype},
    )
    start = time.perf_counter()
    status, answer = _request(request)
    accepted = time.perf_counter() - start
    results.append((accepted, status))
    if status != 202:
        COMMITTED.append((accepted, "refused"))
        return
    url = json.loads(answer)["url"]
    state = "queued"
    while state in ("queued", "running") and time.perf_counter() - start < 600:
        time.sleep(POLL_S)
        poll_status, polled = _request(
            urllib.request.Request(f"http://127.0.0.1:{PORT}{url}", headers=auth)
        )
        if poll_status == 200:
            state = json.loads(polled)["state"]
    COMMITTED.append((time.perf_counter() - start, state))


COMMITTED: list[tuple[float, str]] = []


def _p95(times: list[float]) -> float:
    times = sorted(times)
    return times[max(0, round(0.95 * len(times)) - 1)]


def main() -> None:
    files = setup()
    env = {**os.environ, "DMC_WORKERS": "2", "DMC_THREADS": "4", "DMC_LOG_LEVEL": "ERROR"}
    env["DMC_JOB_WORKERS"] = os.environ.get("BENCH_JOB_WORKERS", "1")
    env["DMC_JOBS_INLINE"] = "0"
    dmc = ROOT / ".venv/bin/dmc"
    command = [str(dmc)] if dmc.exists() else [sys.executable, "-m", "dmc.cli"]
    send = upload_background if BACKGROUND else upload
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [*command, "serve", "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # a busy shared box starts gunicorn slowly
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login/", timeout=10)
                break
            except OSError:
                time.sleep(0.5)
        solo: list[tuple[float, int]] = []
        send(*files[0], solo)
        solo_committed = list(COMMITTED)
        COMMITTED.clear()
        results: list[tuple[float, int]] = []
        threads = [threading.Thread(target=send, args=(c, s, b, results)) for c, s, b in files[1:]]
        wall = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
    finally:
        server.terminate()
        server.wait(timeout=30)
    times = sorted(t for t, _ in results)
    statuses = sorted({s for _, s in results})
    p95 = _p95(times)
    name = f"upload-{SCHOOLS}x{ROWS}{'-background' if BACKGROUND else ''}.json"
    if BACKGROUND:
        committed = sorted(t for t, _ in COMMITTED)
        report: dict[str, object] = {
            "mode": "background",
            "schools": SCHOOLS,
            "rows_per_file": ROWS,
            "job_workers": int(env["DMC_JOB_WORKERS"]),
            "poll_s": POLL_S,
            "statuses": statuses,
            "job_states": sorted({state for _, state in COMMITTED}),
            "solo_accepted_s": round(solo[0][0], 3),
            "solo_committed_s": round(solo_committed[0][0], 3) if solo_committed else None,
            "accepted_p50_s": round(statistics.median(times), 3),
            "accepted_p95_s": round(p95, 3),
            "committed_p50_s": round(statistics.median(committed), 3),
            "committed_p95_s": round(_p95(committed), 3),
            "committed_max_s": round(committed[-1], 3),
            "concurrent_wall_s": round(wall, 3),
            "target_p95_s": 1.0,
            "loadavg_1_5_15": [round(x, 1) for x in os.getloadavg()],
            "errors": ERRORS[:3],
        }
        out = ROOT / "bench/results" / name
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))  # noqa: T201
        return
    report = {
        "schools": SCHOOLS,
        "rows_per_file": ROWS,
        "statuses": statuses,
        "solo_s": round(solo[0][0], 3),
        "solo_status": solo[0][1],
        "p95_over_solo": round(p95 / solo[0][0], 2),
        "concurrent_p50_s": round(statistics.median(times), 3),
        "concurrent_p95_s": round(p95, 3),
        "concurrent_max_s": round(times[-1], 3),
        "concurrent_wall_s": round(wall, 3),
        "serial_equivalent_per_file_s": round(wall / SCHOOLS, 3),
        "target_p95_s": 1.0,
        "loadavg_1_5_15": [round(x, 1) for x in os.getloadavg()],  # the shared 2-core box
        "errors": ERRORS[:3],
    }
    out = ROOT / "bench/results" / name
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
