"""SQLite in WAL (perf-security §6.2 item 3, R6): kill -9 of a process in the middle of its
write transactions, again and again; afterwards ``PRAGMA integrity_check`` is ``ok``, every
write the process reported as committed is there, and the invariants hold."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.faults.conftest import ROOT, app_env, check, scenario

KILLS = 5


def test_kill_9_during_writes_leaves_an_intact_database(tmp_path: Path) -> None:
    db = tmp_path / "dmc.sqlite3"
    env = app_env(f"sqlite:///{db}", tmp_path)
    scenario(env, "seed-confirm", "2", str(tmp_path / "seed.json"))
    rng = random.Random(9)
    acknowledged: dict[int, tuple[int, int]] = {}
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.scenario", "write-loop"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        first = proc.stdout.readline()  # running and writing
        assert first, proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        for line in [first, *out.splitlines()]:
            parts = line.split()
            if len(parts) == 3:
                pk, ev, pv = (int(x) for x in parts)
                acknowledged[pk] = max(acknowledged.get(pk, (0, 0)), (ev, pv))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for pk, (ev, pv) in acknowledged.items():
            version, person_version = conn.execute(
                "SELECT e.version, p.version FROM students_enrolment e"
                " JOIN students_person p ON p.id = e.person_id WHERE e.id = ?",
                (pk,),
            ).fetchone()
            assert version >= ev and person_version >= pv, "an acknowledged write is missing"
            # never half-applied: the person and the enrolment moved together
            assert version - 1 == person_version - 1
        updates = conn.execute(
            "SELECT COUNT(*) FROM core_auditevent WHERE action = 'person.update'"
        ).fetchone()[0]
        versions = conn.execute("SELECT SUM(version - 1) FROM students_person").fetchone()[0]
        assert updates == versions, "one audit entry per change"
    state = check(env)
    assert state["d1_violations"] == 0 and state["stale_stats"] == []
    print(f"\n{KILLS} kills, {sum(v for v, _ in acknowledged.values())} versions acknowledged")  # noqa: T201
    assert json.dumps(state)
