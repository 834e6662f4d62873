"""B3 deadline day: an open-model load generator inside Locust (headless).

Arrivals are scheduled at fixed rates from a plan, independent of response times (open model):
a conductor greenlet walks the phases; each stream sends its requests at the planned instants
(reads: Poisson arrivals; writes: evenly spaced) on their own greenlets, so a slow server never
slows the offered load down. Latency is measured from the *planned* instant (no coordinated
omission); the generator's own lag (sent − planned) is recorded too.

Writes: each school's officer confirms (API token), then, after a think time, its director
certifies. 1 % of schools double-submit the confirm (the second must be an intended 409). A
request shed with 429/503 is retried after its Retry-After (what a user pressing again does).
Reads: area dashboards, school checklists and student lists (web pages with pre-made sessions)
and the API checklist and student list (tokens).

Configuration (environment): DEADLINE_CREDS (dataset JSON), DEADLINE_HOSTS (comma-separated base
URLs, used round-robin), DEADLINE_PLAN (JSON list of phases), DEADLINE_OUT (CSV of every
request). Run by bench/deadline/run.py.
"""

# ruff: noqa: S311 - load generation, not cryptography
from __future__ import annotations

import csv
import json
import os
import random
import time
from itertools import count
from typing import Any

import gevent
from gevent.pool import Pool
from locust import User, events, task
from locust.contrib.fasthttp import FastHttpSession

CREDS: dict[str, Any] = json.loads(open(os.environ["DEADLINE_CREDS"]).read())  # noqa: SIM115
HOSTS = os.environ.get("DEADLINE_HOSTS", "http://127.0.0.1:8000").split(",")
PLAN: list[dict[str, Any]] = json.loads(os.environ["DEADLINE_PLAN"])
OUT = os.environ["DEADLINE_OUT"]
RID = CREDS["round_id"]
SCHOOLS = CREDS["schools"]
AREAS = CREDS["areas"]
READ_MIX = [
    ("area_dashboard", 15),
    ("web_checklist", 25),
    ("web_students", 20),
    ("api_checklist", 25),
    ("api_students", 15),
]
RECORDS: list[tuple[Any, ...]] = []
ACKED: dict[str, list[str]] = {"confirm": [], "certify": []}
EFFECTIVE: list[dict[str, Any]] = []  # the rates each phase actually offered
T0 = [0.0]
CAPACITY = [0.0]  # 2xx/s measured by the last closed-loop phase of this run
_rr = count()


def _rel(t: float) -> float:
    return round(t - T0[0], 4)


class Deadline(User):
    """One Locust user that runs the whole open-model schedule on greenlets."""

    fixed_count = 1

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.sessions = []
        for host in HOSTS:
            s = FastHttpSession(
                host,
                request_event=environment.events.request,
                user=self,
                concurrency=2000,
                network_timeout=30.0,
                connection_timeout=10.0,
                max_retries=0,
            )
            s.cookiejar = None  # type: ignore[assignment]  # every request carries its own session
            s.client.cookiejar = None
            self.sessions.append(s)
        self.pool = Pool(None)  # open model: never blocks the schedule (in-flight is unbounded)

    def session(self) -> FastHttpSession:
        return self.sessions[next(_rr) % len(self.sessions)]

    @task
    def conduct(self) -> None:
        T0[0] = time.monotonic()
        start = T0[0]
        for phase in PLAN:
            end = start + phase["duration"]
            phase = dict(phase)
            for key in ("reads", "confirms"):  # rates given relative to the measured capacity
                if f"{key}_of_capacity" in phase:
                    phase[key] = max(1.0, round(phase[f"{key}_of_capacity"] * CAPACITY[0], 1))
            phase["effective"] = {"reads": phase.get("reads"), "confirms": phase.get("confirms")}
            EFFECTIVE.append({"name": phase["name"], **phase["effective"]})
            streams = []
            if phase.get("reads"):
                streams.append(gevent.spawn(self.reads, phase, start, end))
            if phase.get("confirms"):
                streams.append(gevent.spawn(self.writes, phase, start, end))
            for i in range(phase.get("closed", 0)):
                streams.append(gevent.spawn(self.closed_loop, phase, end, i))
            gevent.joinall(streams)
            if phase.get("closed"):
                ok = [r for r in RECORDS if r[0] == phase["name"] and 200 <= r[5] < 300]
                CAPACITY[0] = len(ok) / phase["duration"]
            start = end
        self.pool.join(timeout=60)
        self.environment.runner.quit()

    # --- streams ---------------------------------------------------------------------------

    def reads(self, phase: dict[str, Any], start: float, end: float) -> None:
        rate = phase["reads"]
        rng = random.Random(f"reads:{phase['name']}")
        kinds = [k for k, _ in READ_MIX]
        weights = [w for _, w in READ_MIX]
        t = start
        while True:
            t += rng.expovariate(rate)
            if t >= end:
                return
            self._wait(t)
            kind = rng.choices(kinds, weights)[0]
            self.pool.spawn(self.read, phase["name"], kind, t, rng.randrange(1 << 30))

    def writes(self, phase: dict[str, Any], start: float, end: float) -> None:
        lo, hi = phase["schools"]
        rate = phase["confirms"]
        t = start
        for i in range(lo, hi):
            if t >= end:
                return
            self._wait(t)
            self.pool.spawn(self.school_day, phase["name"], SCHOOLS[i], t, phase.get("think", 10))
            t += 1.0 / rate

    def closed_loop(self, phase: dict[str, Any], end: float, i: int) -> None:
        """Capacity: one client sending the read mix back to back (closed model) until ``end``."""
        rng = random.Random(f"closed:{phase['name']}:{i}")
        kinds = [k for k, _ in READ_MIX]
        weights = [w for _, w in READ_MIX]
        while time.monotonic() < end:
            kind = rng.choices(kinds, weights)[0]
            self.read(phase["name"], kind, time.monotonic(), rng.randrange(1 << 30))

    @staticmethod
    def _wait(t: float) -> None:
        delay = t - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)

    # --- requests --------------------------------------------------------------------------

    def call(
        self,
        phase: str,
        kind: str,
        method: str,
        path: str,
        planned: float,
        headers: dict[str, str],
        payload: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = time.monotonic()
        status, rheaders, body = 0, {}, b""
        try:
            with self.session().request(
                method, path, headers=headers, name=kind, catch_response=True, json=payload
            ) as r:
                status = r.status_code or 0
                rheaders = {k.lower(): v for k, v in (r.headers or {}).items()}
                body = r.content or b""
                r.success()
        except Exception as exc:
            status, body = 0, str(exc).encode()[:200]
        done = time.monotonic()
        RECORDS.append(
            (
                phase,
                kind,
                _rel(planned),
                _rel(sent),
                _rel(done),
                status,
                round((done - planned) * 1000, 2),
                round((sent - planned) * 1000, 2),
            )
        )
        return status, rheaders, body

    def read(self, phase: str, kind: str, planned: float, seed: int) -> None:
        rng = random.Random(seed)
        school = SCHOOLS[rng.randrange(len(SCHOOLS))]
        token = {"Authorization": f"Bearer {school['officer_token']}"}
        web = {"Cookie": f"sessionid={school['officer_session']}"}
        if kind == "area_dashboard":
            area = AREAS[rng.randrange(len(AREAS))]
            self.call(
                phase,
                kind,
                "GET",
                "/area/round/",
                planned,
                {"Cookie": f"sessionid={area['session']}"},
            )
        elif kind == "web_checklist":
            self.call(phase, kind, "GET", "/round/", planned, web)
        elif kind == "web_students":
            self.call(phase, kind, "GET", f"/schools/{school['code']}/students/", planned, web)
        elif kind == "api_checklist":
            self.call(
                phase, kind, "GET", f"/api/v1/rounds/{RID}/schools/{school['code']}", planned, token
            )
        else:
            self.call(
                phase, kind, "GET", f"/api/v1/schools/{school['code']}/students", planned, token
            )

    def _until_admitted(
        self,
        phase: str,
        kind: str,
        path: str,
        planned: float,
        headers: dict[str, str],
        payload: dict[str, Any] | None = None,
    ) -> int:
        """Send; on 429/503 wait Retry-After (+ jitter) and press again (at most 20 times)."""
        for _ in range(20):
            status, rheaders, _body = self.call(
                phase, kind, "POST", path, planned, headers, payload
            )
            if status not in (429, 503):
                return status
            gevent.sleep(float(rheaders.get("retry-after", "1")) + random.random())
            planned = time.monotonic()
        return status

    def school_day(self, phase: str, school: dict[str, Any], planned: float, think: float) -> None:
        base = f"/api/v1/rounds/{RID}/schools/{school['code']}"
        officer = {"Authorization": f"Bearer {school['officer_token']}"}
        status = self._until_admitted(phase, "confirm", base + "/confirm", planned, officer)
        if status == 200:
            ACKED["confirm"].append(school["code"])
            if int(school["code"]) % 100 == 7:  # a double click: the second must be a 409
                self.call(
                    phase, "confirm_again", "POST", base + "/confirm", time.monotonic(), officer
                )
        elif status != 409:
            return
        gevent.sleep(random.uniform(1, think))
        director = {"Authorization": f"Bearer {school['director_token']}"}
        status = self._until_admitted(  # the step-up password with every certify (issue 9)
            phase,
            "certify",
            base + "/certify",
            time.monotonic(),
            director,
            {"password": CREDS["director_password"]},
        )
        if status == 200:
            ACKED["certify"].append(school["code"])


@events.test_stop.add_listener
def _write(**_kw: Any) -> None:
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "kind", "planned", "sent", "done", "status", "latency_ms", "lag_ms"])
        w.writerows(RECORDS)
    with open(OUT + ".acked.json", "w") as f:
        json.dump({**ACKED, "effective": EFFECTIVE, "capacity": CAPACITY[0]}, f)
