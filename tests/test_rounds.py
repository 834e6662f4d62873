"""Round states and windows: pure rules at the edges, and services refusing outside entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.rounds.models import Round
from dmc.rounds.rules import RoundState, Windows, check_entry_open, round_state
from dmc.rounds.selectors import current_round, current_year, round_get, rounds_of_year, windows
from dmc.students import services
from tests.conftest import World

W = Windows(
    entry_opens_at=bangkok(2021, 11, 15, 8, 0),
    entry_closes_at=bangkok(2022, 4, 30, 16, 30),
    confirm_opens_at=bangkok(2022, 4, 30, 8, 0),
    confirm_closes_at=bangkok(2022, 4, 30, 16, 30),
    area_ack_closes_at=bangkok(2022, 5, 1, 23, 59),
)


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (bangkok(2021, 11, 15, 7, 59, 59), RoundState.NOT_OPEN),
        (bangkok(2021, 11, 15, 8, 0, 0), RoundState.OPEN),
        (bangkok(2022, 4, 30, 7, 59, 59), RoundState.OPEN),
        (bangkok(2022, 4, 30, 8, 0, 0), RoundState.CONFIRM_WINDOW),
        (bangkok(2022, 4, 30, 16, 29, 59), RoundState.CONFIRM_WINDOW),
        (bangkok(2022, 4, 30, 16, 30, 0), RoundState.AREA_ACK),
    ],
)
def test_state_at_the_edges(at: dt.datetime, state: RoundState) -> None:
    assert round_state(W, at) == state


def test_closed_and_published_follow_obec_actions() -> None:
    closed = Windows(**{**W.__dict__, "closed_at": bangkok(2022, 5, 2)})
    assert round_state(closed, bangkok(2022, 5, 2)) == RoundState.CLOSED
    published = Windows(**{**closed.__dict__, "published_at": bangkok(2022, 6, 1)})
    assert round_state(published, bangkok(2022, 6, 1)) == RoundState.PUBLISHED


def test_entry_window_edges_are_decided_by_the_clock() -> None:
    check_entry_open(W, bangkok(2022, 4, 30, 16, 29, 59))  # allowed
    with pytest.raises(DmcError) as exc:
        check_entry_open(W, bangkok(2022, 4, 30, 16, 30, 0))
    assert exc.value.code == ErrorCode.WINDOW_CLOSED
    assert exc.value.http_status == 409
    # the refusal says when the window was, in Thai and English
    assert "30 เม.ย. 2565 16:30:00" in exc.value.message_in("th")
    assert "15 พ.ย. 2564 08:00:00" in exc.value.message_in("th")
    assert "data entry" in exc.value.message_in("en")


def test_current_round_and_year(world: World) -> None:
    now = clock.now()
    assert current_year(now) == 2564
    r = current_round(2564, now)
    assert r is not None
    assert r.number == 3
    assert round_state(windows(r), now) == RoundState.OPEN


@pytest.mark.parametrize(
    ("at", "allowed"),
    [
        (bangkok(2022, 4, 30, 16, 29, 59), True),
        (bangkok(2022, 4, 30, 16, 30, 0), False),
        (bangkok(2021, 11, 15, 7, 59, 59), False),  # between round 2's close and round 3
    ],
)
def test_student_edit_follows_the_server_clock(
    world: World, at: dt.datetime, allowed: bool
) -> None:
    enrolment = world.add_student()
    actor = world.actors["officer_a1"]
    with clock.frozen(at):
        call = lambda: services.student_update(  # noqa: E731
            actor=actor,
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"weight_kg": Decimal("31.0")},
        )
        if allowed:
            assert call().weight_kg == Decimal("31.0")
        else:
            with pytest.raises(DmcError) as exc:
                call()
            assert exc.value.code == ErrorCode.WINDOW_CLOSED
            enrolment.refresh_from_db()
            assert enrolment.weight_kg == Decimal("30.5")


def test_windows_must_be_ordered(world: World) -> None:
    from django.db import IntegrityError, transaction

    r = Round.objects.get(academic_year__year=2564, number=3)
    r.confirm_closes_at = r.confirm_opens_at - dt.timedelta(hours=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        r.save()


def test_clock_cannot_be_set_when_not_settable(settings: object) -> None:
    settings.DMC_CLOCK_SETTABLE = False  # type: ignore[attr-defined]
    with pytest.raises(DmcError) as exc, clock.frozen(bangkok(2022, 1, 1)):
        pass
    assert exc.value.code == ErrorCode.CLOCK_LOCKED
    with pytest.raises(DmcError):
        clock.set_clock(bangkok(2022, 1, 1))


def test_production_settings_force_the_clock_off() -> None:
    import subprocess
    import sys

    code = (
        "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
        "django.setup();from django.conf import settings;print(settings.DMC_CLOCK_SETTABLE)"
    )
    env = {
        "DMC_ENV": "prod",
        "DMC_SECRET_KEY": "k" * 60,
        "DMC_CLOCK_SETTABLE": "1",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_demo_clock_is_shared_through_the_database(db: None) -> None:
    clock.set_clock(bangkok(2022, 4, 30, 8, 0), freeze=True)
    try:
        assert clock.now() == bangkok(2022, 4, 30, 8, 0)
    finally:
        clock.set_clock(None)
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 5


# --- the per-process calendar cache (issue 8) ---------------------------------------------------


def _cached_rounds(settings: object) -> None:
    settings.DMC_CALENDAR_CACHE_SECONDS = 3600  # type: ignore[attr-defined]


def test_calendar_cache_serves_reads_without_queries(
    world: World, settings: object, django_assert_num_queries: object
) -> None:
    _cached_rounds(settings)
    now = clock.now()
    assert current_year(now) == 2564  # loads the calendar: years + rounds
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert current_year(now) == 2564
        r = current_round(2564, now)
        assert r is not None and r.number == 3
        assert round_get(r.pk).number == 3
        assert [x.number for x in rounds_of_year(2564)] == [1, 2, 3]


def test_calendar_cache_hands_out_copies(world: World, settings: object) -> None:
    _cached_rounds(settings)
    first = rounds_of_year(2564)[2]
    first.closed_at = clock.now()  # a caller changing its copy ...
    assert rounds_of_year(2564)[2].closed_at is None  # ... does not change the cache


def test_a_saved_round_is_seen_at_once_in_this_process(world: World, settings: object) -> None:
    _cached_rounds(settings)
    now = clock.now()
    r = current_round(2564, now)
    assert r is not None and round_state(windows(r), now) == RoundState.OPEN
    fresh = Round.objects.get(pk=r.pk)
    fresh.closed_at = now - dt.timedelta(minutes=1)
    fresh.save()  # the post_save signal drops the cache
    again = current_round(2564, now)
    assert again is not None and again.closed_at is not None
    assert round_state(windows(again), now) == RoundState.CLOSED


def test_a_change_from_another_process_is_seen_after_the_ttl(
    world: World, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DMC_CALENDAR_CACHE_SECONDS = 1  # type: ignore[attr-defined]
    from dmc.rounds import selectors as round_selectors

    t = [1000.0]
    monkeypatch.setattr(round_selectors.time, "monotonic", lambda: t[0])
    now = clock.now()
    r = current_round(2564, now)
    assert r is not None
    # another process closes the round: no signal reaches this one
    Round.objects.filter(pk=r.pk).update(closed_at=now - dt.timedelta(minutes=1))
    t[0] += 0.5
    cached = current_round(2564, now)
    assert cached is not None and cached.closed_at is None  # within the second: the old copy
    t[0] += 0.6
    reloaded = current_round(2564, now)
    assert reloaded is not None and reloaded.closed_at is not None


def test_edits_check_the_entry_window_fresh_not_from_the_cache(
    world: World, settings: object
) -> None:
    """An OBEC change to the windows made by another process a moment ago already refuses an
    edit: ``require_entry_round`` does not trust the cache."""
    _cached_rounds(settings)
    enrolment = world.add_student()
    now = clock.now()
    assert current_round(2564, now) is not None  # the cache holds the open round
    Round.objects.filter(academic_year__year=2564, number=3).update(
        entry_closes_at=now - dt.timedelta(minutes=1)
    )
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"weight_kg": Decimal("31.0")},
        )
    assert exc.value.code == ErrorCode.WINDOW_CLOSED
