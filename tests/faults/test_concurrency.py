"""Duplicate and parallel submissions (perf-security §6.2 items 6, 7), with real threads on
the database the suite runs on (SQLite by default; PostgreSQL with DATABASE_URL): the same
confirm sent by many clients at once changes the state exactly once; two editors saving the
same student at once: one wins, the other gets 409 and nothing is silently overwritten."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from dmc.accounts.services import token_create
from dmc.core.errors import DmcError
from dmc.core.models import AuditEvent
from dmc.rounds import services as rs
from dmc.rounds.models import SchoolRound, Snapshot
from dmc.students import services as student_services
from dmc.students.models import Enrolment
from tests.conftest import World
from tests.test_round_services import confirm_day, ready, round3

pytestmark = pytest.mark.django_db(transaction=True)


def together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) in n threads released at once; each result or the DmcError it raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except DmcError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_parallel_confirms_change_the_state_once(world: World) -> None:
    ready(world, world.school_a1)
    actor = world.actors["officer_a1"]
    with confirm_day(10):
        results = together(
            6, lambda _: rs.round_confirm(actor=actor, school=world.school_a1, round_id=round3().pk)
        )
    ok = [r for r in results if isinstance(r, SchoolRound)]
    refused = [r for r in results if isinstance(r, DmcError)]
    assert len(ok) == 1, results
    assert len(refused) == 5 and {e.code.value for e in refused} == {"already_confirmed"}
    assert {e.http_status for e in refused} == {409}
    assert AuditEvent.objects.filter(action="round.confirm").count() == 1
    assert Snapshot.objects.filter(school=world.school_a1).count() == 1


def test_duplicate_confirm_over_the_api_double_click_and_parallel(world: World) -> None:
    ready(world, world.school_a1)
    _, secret = token_create(actor=world.actors["officer_a1"], name="x")
    url = f"/api/v1/rounds/{round3().pk}/schools/10010001/confirm"
    with confirm_day(10):
        statuses = together(
            4, lambda _: Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(url).status_code
        )
        again = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(url)  # the retry / 2nd click
    assert sorted(statuses) == [200, 409, 409, 409]
    assert again.status_code == 409 and again.json()["code"] == "already_confirmed"
    assert AuditEvent.objects.filter(action="round.confirm").count() == 1
    sr = SchoolRound.objects.get(school=world.school_a1, round=round3())
    assert sr.confirmed_at is not None


def test_concurrent_edits_one_wins_the_other_gets_409(world: World) -> None:
    e = world.add_student()
    actor = world.actors["officer_a1"]
    names = ["แรก", "สอง", "สาม", "สี่"]

    def edit(i: int) -> Enrolment:
        return student_services.student_update(
            actor=actor,
            enrolment_id=e.pk,
            person_version=1,
            enrolment_version=1,
            changes={"first_name": names[i]},
        )

    results = together(len(names), edit)
    winners = [names[i] for i, r in enumerate(results) if isinstance(r, Enrolment)]
    losers = [r for r in results if isinstance(r, DmcError)]
    assert len(winners) == 1, results
    assert {x.code.value for x in losers} == {"stale_version"}
    assert {x.http_status for x in losers} == {409}
    after = Enrolment.objects.select_related("person").get(pk=e.pk)
    assert after.person.first_name == winners[0]  # the winner's write, not overwritten
    assert after.person.version == 2
    assert AuditEvent.objects.filter(action="person.update").count() == 1


def test_concurrent_api_edits_one_wins_the_other_gets_409(world: World) -> None:
    e = world.add_student()
    _, secret = token_create(actor=world.actors["officer_a1"], name="x")

    def patch(i: int) -> int:
        body = {"person_version": 1, "enrolment_version": 1, "changes": {"weight_kg": f"3{i}.0"}}
        response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").patch(
            f"/api/v1/students/{e.pk}", json.dumps(body), content_type="application/json"
        )
        return int(response.status_code)

    statuses = together(3, patch)
    assert sorted(statuses) == [200, 409, 409]
    assert Enrolment.objects.get(pk=e.pk).version == 2
