"""Round lookups."""

from __future__ import annotations

import datetime as dt

from dmc.core.errors import DmcError, ErrorCode
from dmc.rounds.models import Round, SchoolRound
from dmc.rounds.rules import RoundState, Windows, check_entry_open, round_state


def windows(r: Round) -> Windows:
    return Windows(
        entry_opens_at=r.entry_opens_at,
        entry_closes_at=r.entry_closes_at,
        confirm_opens_at=r.confirm_opens_at,
        confirm_closes_at=r.confirm_closes_at,
        area_ack_closes_at=r.area_ack_closes_at,
        closed_at=r.closed_at,
        published_at=r.published_at,
    )


def rounds_of_year(year: int) -> list[Round]:
    return list(Round.objects.filter(academic_year__year=year).select_related("academic_year"))


def state_of(r: Round, now: dt.datetime) -> RoundState:
    return round_state(windows(r), now)


def current_round(year: int, now: dt.datetime) -> Round | None:
    """The round of ``year`` that is in progress at ``now`` (open .. area_ack), else the latest
    one that has started, else None."""
    started = [r for r in rounds_of_year(year) if now >= r.entry_opens_at]
    live = [r for r in started if state_of(r, now) not in (RoundState.CLOSED, RoundState.PUBLISHED)]
    if live:
        return live[0]
    return started[-1] if started else None


def require_entry_round(year: int, now: dt.datetime, school_id: int | None = None) -> Round:
    """The round whose entry window is open for ``year`` at ``now`` (for ``school_id``: also a
    late-entry extension its area granted), and, for a school, D8: not while it has confirmed.

    Raises ROUND_NOT_FOUND when the year has no rounds, WINDOW_CLOSED (naming the nearest entry
    window), CONFIRMED_READ_ONLY.
    """
    rounds = rounds_of_year(year)
    if not rounds:
        raise DmcError(ErrorCode.ROUND_NOT_FOUND, http_status=409, year=year)
    progress = {}
    if school_id is not None:
        progress = {
            sr.round_id: sr
            for sr in SchoolRound.objects.filter(school_id=school_id, round__in=rounds)
        }
    for r in rounds:
        sr = progress.get(r.pk)
        try:
            check_entry_open(windows(r), now)
        except DmcError:
            extended = (
                sr is not None
                and sr.entry_extended_until is not None
                and (r.entry_opens_at <= now < sr.entry_extended_until)
                and (r.closed_at is None or now < r.closed_at)
            )
            if not extended:
                continue
        if sr is not None and sr.confirmed_at is not None:
            raise DmcError(ErrorCode.CONFIRMED_READ_ONLY, http_status=409)
        return r
    upcoming = [r for r in rounds if r.entry_opens_at > now]
    nearest = upcoming[0] if upcoming else rounds[-1]
    check_entry_open(windows(nearest), now)  # raises with that round's window
    raise AssertionError("unreachable")  # pragma: no cover


def current_year(now: dt.datetime) -> int | None:
    """The academic year (BE) in progress at ``now``: the latest whose first round has opened,
    else the earliest defined."""
    from dmc.rounds.models import AcademicYear

    years = list(AcademicYear.objects.order_by("year").values_list("year", flat=True))
    if not years:
        return None
    opened = set(
        Round.objects.filter(entry_opens_at__lte=now).values_list("academic_year__year", flat=True)
    )
    started = [y for y in years if y in opened]
    return started[-1] if started else years[0]
