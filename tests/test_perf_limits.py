"""Load shedding (issue 8): admission control (503) and fair-share rate limits (429), each
allowed and refused, in both languages and both shapes (API JSON, web page)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from dmc.accounts.services import token_create
from dmc.perf import middleware
from dmc.perf.limits import Admission, Buckets, RedisWindow
from tests.conftest import World, login


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    middleware._admission.cache_clear()
    middleware._buckets.cache_clear()
    yield
    middleware._admission.cache_clear()
    middleware._buckets.cache_clear()


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_refuses_with_the_wait_then_refills() -> None:
    t = FakeTime()
    b = Buckets(rate=2, burst=3, now=t)
    assert [b.hit("s1").allowed for _ in range(3)] == [True, True, True]
    refused = b.hit("s1")
    assert not refused.allowed and refused.retry_after == 1
    assert b.hit("s2").allowed  # another key has its own share
    t.t += 0.5  # one token back at 2/s
    assert b.hit("s1").allowed
    assert not b.hit("s1").allowed


def test_bucket_wait_is_rounded_up_to_whole_seconds() -> None:
    t = FakeTime()
    b = Buckets(rate=0.25, burst=1, now=t)
    assert b.hit("k").allowed
    assert b.hit("k").retry_after == 4


def test_bucket_forgets_old_keys_beyond_its_size() -> None:
    t = FakeTime()
    b = Buckets(rate=1, burst=1, max_keys=2, now=t)
    assert b.hit("a").allowed and not b.hit("a").allowed
    b.hit("b")
    b.hit("c")  # "a" is forgotten: it starts again full (errs on the side of allowing)
    assert b.hit("a").allowed


def test_admission_admits_up_to_its_slots_and_refuses_past_the_queue_at_once() -> None:
    gate = Admission(slots=2, queue=0, wait_s=5)
    assert gate.acquire() and gate.acquire()
    assert not gate.acquire()  # no queue: refused without waiting 5 s
    gate.release()
    assert gate.acquire()
    assert gate.refused == 1 and gate.admitted == 3


def test_admission_queued_request_gets_a_slot_freed_within_the_wait() -> None:
    gate = Admission(slots=1, queue=1, wait_s=5)
    assert gate.acquire()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    threading.Timer(0.05, gate.release).start()
    waiter.join(5)
    assert got == [True]


def test_admission_queued_request_is_refused_when_the_wait_runs_out() -> None:
    gate = Admission(slots=1, queue=1, wait_s=0.05)
    assert gate.acquire()
    assert not gate.acquire()


@override_settings(DMC_ADMIT_SLOTS=1, DMC_ADMIT_QUEUE=0, DMC_ADMIT_RETRY_AFTER=3)
def test_overloaded_process_sheds_web_and_api_requests_with_503_and_retry_after(
    world: World,
) -> None:
    gate = middleware.admission()
    assert gate is not None
    assert Client().get("/login/").status_code == 200  # a free slot: served
    assert gate.acquire()  # the one slot is busy
    try:
        page = Client().get("/login/")
        assert page.status_code == 503
        assert page["Retry-After"] == "3"
        assert "ขณะนี้มีผู้ใช้งานจำนวนมาก" in page.content.decode()
        api = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/me")
        assert api.status_code == 503 and api["Retry-After"] == "3"
        body = api.json()
        assert body["code"] == "server_busy" and body["fields"] == {}
        assert body["message"].startswith("The system is busy")
        assert Client().get("/static/dmc/app.css").status_code != 503  # static never shed
    finally:
        gate.release()
    assert Client().get("/login/").status_code == 200


@override_settings(DMC_ADMIT_SLOTS=0)
def test_admission_can_be_switched_off(world: World) -> None:
    assert middleware.admission() is None
    assert Client().get("/login/").status_code == 200


@override_settings(DMC_RATE_LIMITS=True, DMC_RATE_SCHOOL="0.01/2", DMC_RATE_USER="0.01/2")
def test_school_fair_share_refuses_one_busy_school_and_not_the_others(world: World) -> None:
    busy, other = Client(), Client()
    login(busy, world.users["officer_a1"])
    login(other, world.users["officer_a2"])
    assert busy.get("/").status_code in (200, 302)
    assert busy.get("/").status_code in (200, 302)
    refused = busy.get("/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "ถี่เกินไป" in refused.content.decode()
    assert other.get("/").status_code in (200, 302)  # school a2 still has its share


@override_settings(DMC_RATE_LIMITS=True, DMC_RATE_TOKEN="0.01/2", DMC_RATE_SCHOOL="100/100")
def test_api_token_rate_limit_answers_429_in_the_error_shape(world: World) -> None:
    _, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/me").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    refused = api.get("/api/v1/me")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    body = refused.json()
    assert body["code"] == "rate_limited" and "โทเค็น API" in body["message"]
    _, other = token_create(actor=world.actors["officer_b1"], name="sis")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {other}").get("/api/v1/me").status_code == 200


@override_settings(DMC_RATE_LIMITS=True, DMC_RATE_TOKEN="100/100", DMC_RATE_SCHOOL="0.01/1")
def test_api_requests_share_the_school_limit(world: World) -> None:
    _, officer = token_create(actor=world.actors["officer_a1"], name="sis")
    _, director = token_create(actor=world.actors["director_a1"], name="sis")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {officer}").get("/api/v1/me").status_code == 200
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {director}").get("/api/v1/me")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


def test_rate_limits_are_documented_in_the_openapi_description(db: None) -> None:
    doc = Client().get("/api/v1/openapi.json").json()
    text = doc["info"]["description"]
    assert "429" in text and "Retry-After" in text and "server_busy" in text


def _fake_redis(replies: list[bytes]) -> tuple[str, threading.Thread, list[bytes]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for reply in replies:
                seen.append(conn.recv(4096))
                conn.sendall(reply)
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"redis://127.0.0.1:{server.getsockname()[1]}/0", thread, seen


def test_redis_window_shares_counts_and_refuses_past_the_burst() -> None:
    url, thread, seen = _fake_redis([b":1\r\n:1\r\n", b":3\r\n:1\r\n"])
    window = RedisWindow(url, rate=1, burst=2)
    assert window.hit("school:1").allowed
    refused = window.hit("school:1")
    assert not refused.allowed and refused.retry_after >= 1
    thread.join(2)
    assert b"INCR" in seen[0] and b"EXPIRE" in seen[0]


def test_redis_window_falls_back_to_the_process_when_redis_is_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    window = RedisWindow(f"redis://127.0.0.1:{port}/0", rate=1, burst=1)
    assert window.hit("k").allowed  # Redis unreachable: the in-process bucket decides
    assert not window.hit("k").allowed


def test_replica_router_sends_report_reads_to_the_replica_and_everything_else_to_the_primary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dmc.perf import db
    from dmc.rounds.models import SchoolYearStats
    from dmc.students.models import Enrolment

    router = db.ReplicaRouter()
    with override_settings(DMC_REPLICA_APPS=("rounds",)):
        assert db.reporting_alias() == "default"  # no replica configured
        assert router.db_for_read(SchoolYearStats) is None
        monkeypatch.setattr(db, "has_replica", lambda: True)
        assert db.reporting_alias() == "replica"
        assert router.db_for_read(SchoolYearStats) == "replica"
        assert router.db_for_read(Enrolment) is None  # other apps: the primary
        assert router.db_for_write(SchoolYearStats) == "default"
        assert router.allow_migrate("replica", "rounds") is False
        assert router.allow_migrate("default", "rounds") is True


def test_every_api_operation_documents_429_and_503(db: None) -> None:
    doc = Client().get("/api/v1/openapi.json").json()
    confirm = doc["paths"]["/api/v1/rounds/{round_id}/schools/{smis_code}/confirm"]["post"]
    assert {"429", "503"} <= set(confirm["responses"])
