"""Crashes against a private PostgreSQL cluster (SPEC §11 reliability; perf-security §6.2 1, 2, 5):
kill -9 of a gunicorn worker and an immediate PostgreSQL stop during a confirm storm, kill -9 of
``dmc import`` and an immediate stop during an import, and a database outage answered with fast
503s and recovered from by itself. Afterwards: every acknowledged (2xx) write is present,
nothing is half-applied, re-running is a no-op, the invariants hold (D1, SchoolYearStats equal
to a rebuild, one audit entry per change)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.faults.conftest import ROOT, VENV_BIN, PgCluster, Server, app_env, check, scenario

OUTAGE_SECONDS = float(os.environ.get("DMC_FAULT_OUTAGE_SECONDS", "30"))


def call(
    method: str, url: str, token: str | None = None, cookie: str | None = None, timeout: float = 15
) -> tuple[int, dict[str, str], bytes, float]:
    """(status, headers, body, seconds); status 0 when no HTTP answer came."""
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if cookie:
        req.add_header("Cookie", cookie)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read(), time.monotonic() - start
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read(), time.monotonic() - start
    except (urllib.error.URLError, OSError) as exc:
        return 0, {}, repr(exc).encode(), time.monotonic() - start


def confirm_url(server: Server, round_id: int, smis: str) -> str:
    return f"{server.base}/api/v1/rounds/{round_id}/schools/{smis}/confirm"


def storm(
    server: Server, seeded: dict[str, Any], faults: list[tuple[float, Any]], deadline: float = 120
) -> dict[str, Any]:
    """Every school's officer confirms, retrying until a 2xx or already_confirmed (a real client
    after a timeout). ``faults``: (fraction of schools acknowledged, action) fired once each."""
    tokens: dict[str, str] = seeded["tokens"]
    todo = sorted(tokens)
    acked: set[str] = set()
    already: set[str] = set()
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    end = time.monotonic() + deadline

    def worker(schools: list[str]) -> None:
        for smis in schools:
            while time.monotonic() < end:
                status, _, body, _ = call(
                    "POST", confirm_url(server, seeded["round"], smis), tokens[smis]
                )
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    with lock:
                        acked.add(smis)
                    break
                if status == 409 and json.loads(body).get("code") == "already_confirmed":
                    with lock:
                        already.add(smis)
                    break
                time.sleep(0.1)

    threads = [threading.Thread(target=worker, args=(todo[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    pending = list(faults)
    while any(t.is_alive() for t in threads):
        with lock:
            done = len(acked) + len(already)
        while pending and done >= pending[0][0] * len(todo):
            pending.pop(0)[1]()
        time.sleep(0.02)
    for t in threads:
        t.join()
    for _, action in pending:  # a fault that never fired still runs (then the storm re-runs)
        action()
    return {"acked": acked, "already": already, "statuses": statuses, "schools": todo}


def assert_confirm_invariants(state: dict[str, Any], acked: set[str]) -> None:
    confirmed = set(state["confirmed"])
    assert acked <= confirmed, f"acknowledged but missing: {sorted(acked - confirmed)}"
    assert set(state["confirm_events"]) == confirmed, "a confirmation without its audit entry"
    assert set(state["confirm_events"].values()) <= {1}, "more than one audit entry per change"
    assert state["snapshots"] == dict.fromkeys(confirmed, 1), "half-applied confirmation"
    assert state["d1_violations"] == 0
    assert state["stale_stats"] == []


def test_confirm_storm_survives_worker_kill_and_postgres_crash(
    pg: PgCluster, tmp_path: Path
) -> None:
    env = app_env(pg.url, tmp_path)
    out = tmp_path / "seed.json"
    scenario(env, "seed-confirm", "60", str(out))
    seeded = json.loads(out.read_text())
    server = Server(env)
    try:
        killed: list[int] = []

        def kill_worker() -> None:
            pid = server.workers()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        restarts: list[threading.Timer] = []

        def crash_postgres() -> None:
            pg.stop_immediate()
            restarts.append(threading.Timer(2.0, pg.start))
            restarts[-1].start()

        result = storm(server, seeded, [(0.2, kill_worker), (0.5, crash_postgres)])
        for timer in restarts:
            timer.join()  # pg_ctl -w: the server accepts connections again
        assert killed
        state = check(env)
        assert_confirm_invariants(state, result["acked"])
        # the retrying clients got every school confirmed in the end
        assert set(state["confirmed"]) == set(seeded["tokens"])
        assert result["statuses"].get(500, 0) == 0, result["statuses"]
        # re-running is a no-op: every confirm is now an already_confirmed 409, nothing changes
        again = storm(server, seeded, [])
        assert again["acked"] == set() and again["already"] == set(seeded["tokens"])
        assert check(env) == state
        print(  # noqa: T201
            f"\nstorm: {len(seeded['tokens'])} schools, worker {killed} killed, PostgreSQL"
            f" stopped immediately; statuses {result['statuses']}; acknowledged"
            f" {len(result['acked'])}, confirmed {len(state['confirmed'])}"
        )
    finally:
        server.stop()


def test_database_outage_gives_fast_503s_and_recovers(pg: PgCluster, tmp_path: Path) -> None:
    env = app_env(pg.url, tmp_path)
    out = tmp_path / "seed.json"
    scenario(env, "seed-confirm", "6", str(out))
    seeded = json.loads(out.read_text())
    smis = sorted(seeded["tokens"])
    token = seeded["tokens"][smis[0]]
    server = Server(env)
    try:
        me = f"{server.base}/api/v1/me"
        warm = time.monotonic()
        while call("GET", me, token, timeout=30)[0] != 200:  # the workers' first request
            assert time.monotonic() - warm < 90
            time.sleep(0.5)
        assert call("POST", confirm_url(server, seeded["round"], smis[0]), token)[0] == 200
        pg.stop_immediate()
        stopped = time.monotonic()
        answers: list[tuple[str, int, float]] = []
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            status, headers, body, took = call("GET", me, token)
            answers.append(("api", status, took))
            assert status == 503, (status, body[:200])
            assert headers.get("Retry-After") == "5"
            assert json.loads(body)["code"] == "db_unavailable"
            # the web: a session cookie makes the session lookup hit the database
            status, headers, body, took = call(
                "GET", f"{server.base}/cases/", cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345"
            )
            answers.append(("web", status, took))
            assert status == 503 and headers.get("Retry-After") == "5", (status, body[:300])
            assert "ระบบฐานข้อมูลไม่พร้อมให้บริการชั่วคราว" in body.decode()
            # a write during the outage is refused, not half-done
            status, _, body, took = call(
                "POST", confirm_url(server, seeded["round"], smis[1]), seeded["tokens"][smis[1]]
            )
            answers.append(("write", status, took))
            assert status == 503, body[:200]
            time.sleep(0.5)
        slowest = max(took for _, _, took in answers)
        assert slowest < 5.0, f"a 503 took {slowest:.2f} s"
        pg.start()
        back = time.monotonic()
        while call("GET", me, token)[0] != 200:
            assert time.monotonic() - back < 10, "no recovery within 10 s of the database's return"
            time.sleep(0.2)
        recovery = time.monotonic() - back
        # nothing acknowledged was lost; the refused write is absent and can be done now
        state = check(env)
        assert state["confirmed"] == [smis[0]]
        assert_confirm_invariants(state, {smis[0]})
        status = call(
            "POST", confirm_url(server, seeded["round"], smis[1]), seeded["tokens"][smis[1]]
        )
        assert status[0] == 200
        print(  # noqa: T201
            f"\noutage {OUTAGE_SECONDS:.0f} s: {len(answers)} requests, all 503,"
            f" slowest {slowest * 1000:.0f} ms; recovered {recovery:.2f} s after restart"
        )
    finally:
        server.stop()


# --- the importer -----------------------------------------------------------------------------


def _import(env: dict[str, str], csv: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(VENV_BIN / "dmc"), "import", str(csv), "--school", "10010001", "--year", "2564",
         "--round", "3", "--sat-exam", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


ROWS = 1500


def wait_for_write(pg: PgCluster, proc: subprocess.Popen[str], timeout: float = 120) -> bool:
    """Until the importer's transaction has written (an open transaction holding a
    transaction id, i.e. inside the commit): True; False if the process ended first."""
    import psycopg

    with psycopg.connect(pg.url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        end = time.monotonic() + timeout
        while time.monotonic() < end and proc.poll() is None:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dmc'"
                " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            ).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.01)
    return False


def test_import_killed_or_database_crashed_mid_commit_is_all_or_nothing(
    pg: PgCluster, tmp_path: Path
) -> None:
    env = app_env(pg.url, tmp_path)
    csv = tmp_path / "school.csv"
    scenario(env, "seed-import", str(ROWS), str(csv))
    outcomes = []
    # kill -9 at increasing delays after the write transaction began
    for delay in (0.0, 0.5):
        proc = _import(env, csv)
        hit = wait_for_write(pg, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        state = check(env)
        outcomes.append((f"kill+{delay}s", hit, proc.returncode, state["enrolments"]))
        assert state["enrolments"] in (0, ROWS), f"half-applied import: {state['enrolments']} rows"
        assert state["people"] in (0, ROWS)
        assert state["d1_violations"] == 0 and state["stale_stats"] == []
        if state["enrolments"]:
            break
    # an immediate PostgreSQL stop while the import writes
    if check(env)["enrolments"] == 0:
        proc = _import(env, csv)
        hit = wait_for_write(pg, proc)
        time.sleep(0.2)
        pg.stop_immediate()
        proc.wait(60)
        pg.start()
        state = check(env)
        outcomes.append(("pg-stop", hit, proc.returncode, state["enrolments"]))
        assert state["enrolments"] in (0, ROWS)
        assert state["people"] in (0, ROWS)
        if proc.returncode == 0:  # it committed before the stop: acknowledged means present
            assert state["enrolments"] == ROWS
    assert any(o[1] for o in outcomes), "no fault landed inside the write transaction"
    # finish: the import runs to the end, then once more as a no-op
    done = subprocess.run(_import(env, csv).args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    first = check(env)
    assert first["enrolments"] == first["active"] == ROWS
    assert first["d1_violations"] == 0 and first["stale_stats"] == []
    again = subprocess.run(done.args, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert again.returncode == 0
    result = json.loads(again.stdout)
    second = check(env)
    assert {k: v for k, v in second.items() if k != "actions"} == {
        k: v for k, v in first.items() if k != "actions"
    }
    changed = {k: v for k, v in second["actions"].items() if first["actions"].get(k) != v}
    assert set(changed) <= {"import.file", "import.run", "import.commit"}, changed
    print(f"\nimport faults: {outcomes}; re-run: {result.get('accepted')} accepted")  # noqa: T201
