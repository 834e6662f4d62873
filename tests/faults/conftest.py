"""Fault-injection harness: a PRIVATE PostgreSQL 15 cluster in a temp dir on its own port (never
the shared server on 5432), a gunicorn server over it, the seeding/check subprocesses.

Every test in tests/faults/ is marked ``fault``; the default run (``make test``) deselects them,
``make test-faults`` runs them (CI: .ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("DMC_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.fault)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, **kw)


class PgCluster:
    """initdb + pg_ctl on a temp dir; ``stop_immediate`` is a crash (no checkpoint, WAL replay
    on the next start)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL binaries at {PG_BIN}")
        self.dir = Path(tempfile.mkdtemp(prefix="dmc-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        _as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E",
             "UTF8", "--locale=C.UTF-8"]
        )  # fmt: skip
        self.start()
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "dmc"],
            check=True, timeout=60,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/dmc"

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on"
            " -c synchronous_commit=on -c max_connections=60 -c shared_buffers=32MB"
        )
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
             str(self.dir / "log"), "-w", "-t", "60", "start"]
        )  # fmt: skip

    def stop_immediate(self) -> None:
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def destroy(self) -> None:
        subprocess.run(
            (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
            + [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


def app_env(db_url: str, var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DMC_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": db_url,
        "DMC_VAR_DIR": str(var_dir),
        "DMC_CONN_MAX_AGE": "60",
        "DMC_RETRY_AFTER_SECONDS": "5",
        "DMC_DEBUG": "0",  # as in production: no debug pages
        "PYTHONPATH": str(ROOT),
    }


def scenario(env: dict[str, str], *args: str, timeout: int = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.scenario", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def check(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(scenario(env, "check")))


class Server:
    """gunicorn (sync workers) over the app; the master respawns a killed worker."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        # a file, never an undrained pipe: a full pipe would block every worker's logging
        self.log = (Path(env["DMC_VAR_DIR"]) / "gunicorn.log").open("wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "-b",
             f"127.0.0.1:{self.port}", "-w", str(workers), "--worker-class", "gthread",
             "--threads", "4", "--timeout", "30", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["/usr/bin/pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(x) for x in out.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()
