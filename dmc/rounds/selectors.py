"""Round lookups."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.core.rulebook import CHECKS, Check, Severity
from dmc.rounds.models import MenuWindow, Round, SchoolRound, SchoolYearStats
from dmc.rounds.rules import RoundState, Windows, check_entry_open, round_state, window_closed
from dmc.schools.models import School, SchoolGrade


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


# --- the calendar, cached per process ------------------------------------------------------------
# Every page asks "which year, which round, in what state" (3-5 times per request before the
# cache). The calendar (a few years x 3 rounds) changes a few times a year, by OBEC, so each
# process keeps it for DMC_CALENDAR_CACHE_SECONDS (1 s, like the demo clock's own cache): a change
# made in this process is seen at once (signals in apps.py drop the cache), one made in another
# process within a second. The state of a round is still computed from the clock on every call,
# so windows opening and closing on time are exact. Writes that must see the latest windows read
# them fresh: ``require_entry_round`` (every edit) and the confirm/close services' own reads.


@dataclass(frozen=True)
class _Calendar:
    loaded_at: float
    years: tuple[int, ...]  # ascending
    rounds: dict[int, tuple[Round, ...]]  # year -> its rounds by number, with academic_year


_calendar: _Calendar | None = None
_calendar_lock = threading.Lock()


def invalidate_calendar() -> None:
    global _calendar
    _calendar = None


def _load_calendar() -> _Calendar:
    from dmc.rounds.models import AcademicYear

    years = tuple(AcademicYear.objects.order_by("year").values_list("year", flat=True))
    by_year: dict[int, list[Round]] = {}
    for r in Round.objects.select_related("academic_year"):
        by_year.setdefault(r.academic_year.year, []).append(r)
    return _Calendar(
        loaded_at=time.monotonic(),
        years=years,
        rounds={y: tuple(rs) for y, rs in by_year.items()},
    )


def calendar() -> _Calendar:
    """The process's copy of the calendar (reloaded when older than the TTL). Its Round objects
    are shared between threads: callers get copies from ``rounds_of_year``."""
    global _calendar
    ttl = float(getattr(settings, "DMC_CALENDAR_CACHE_SECONDS", 0))
    cal = _calendar
    if cal is not None and ttl > 0 and time.monotonic() - cal.loaded_at < ttl:
        return cal
    with _calendar_lock:
        cal = _calendar
        if cal is not None and ttl > 0 and time.monotonic() - cal.loaded_at < ttl:
            return cal
        cal = _load_calendar()
        if ttl > 0:
            _calendar = cal
        return cal


def rounds_of_year(year: int, *, fresh: bool = False) -> list[Round]:
    """The year's rounds by number, with their academic year. ``fresh`` reads the database (for
    a write that must see a window OBEC changed this second); otherwise the cached calendar."""
    if fresh:
        return list(Round.objects.filter(academic_year__year=year).select_related("academic_year"))
    return [copy.copy(r) for r in calendar().rounds.get(year, ())]


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
    rounds = rounds_of_year(year, fresh=True)
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


def round_get(round_id: int) -> Round:
    """A round with its academic year (from the cached calendar; the database when the round is
    newer than the cache), or NOT_FOUND."""
    for rounds in calendar().rounds.values():
        for r in rounds:
            if r.pk == round_id:
                return copy.copy(r)
    found = Round.objects.select_related("academic_year").filter(pk=round_id).first()
    if found is None:
        raise not_found()
    return found


def menu_window(r: Round, menu: str, now: dt.datetime) -> MenuWindow:
    """The round's window for a named menu (3.1.8, 3.2.2 ...); a round without that menu
    refuses as a closed window (the menu is not part of this round)."""
    window = MenuWindow.objects.filter(round=r, menu=menu).first()
    if window is None:
        raise window_closed(
            now=now,
            opens=r.entry_opens_at,
            closes=r.entry_opens_at,
            window_th=f"เมนู {menu}",
            window_en=f"menu {menu}",
        )
    return window


def current_year(now: dt.datetime) -> int | None:
    """The academic year (BE) in progress at ``now``: the latest whose first round has opened,
    else the earliest defined."""
    cal = calendar()
    years = cal.years
    if not years:
        return None
    started = [y for y in years if any(r.entry_opens_at <= now for r in cal.rounds.get(y, ()))]
    return started[-1] if started else years[0]


# --- the school's round page and the dashboards ------------------------------------------------


SCHOOL_STATES: dict[str, tuple[str, str]] = {
    "not_started": ("ยังไม่เริ่ม", "Not started"),
    "has_errors": ("มีข้อผิดพลาด", "Has errors"),
    "ready": ("พร้อมยืนยัน", "Ready"),
    "confirmed": ("ยืนยันแล้ว", "Confirmed"),
    "certified": ("รับรองแล้ว", "Certified"),
    "acknowledged": ("เขตรับทราบแล้ว", "Acknowledged"),
}


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    check: Check
    count: int
    explained: int

    @property
    def open(self) -> int:
        return self.count if self.check.severity != Severity.QUERY else self.count - self.explained


@dataclass(frozen=True)
class SchoolProgress:
    school: School
    students: int
    counted: int
    blocking: int
    blocked_students: int
    rooms: list[tuple[str, int, int]]
    sr: SchoolRound | None
    items: list[ChecklistItem]

    @property
    def state(self) -> str:
        sr = self.sr
        if sr is not None and sr.acknowledged_at:
            return "acknowledged"
        if sr is not None and sr.certified_at:
            return "certified"
        if sr is not None and sr.confirmed_at:
            return "confirmed"
        if self.blocking or self.rooms:
            return "has_errors"
        return "not_started" if self.students == 0 else "ready"

    @property
    def readiness(self) -> int:
        """Per cent of students with nothing blocking (0 when rooms disagree)."""
        if self.students == 0:
            return 0
        score = round(100 * (self.students - self.blocked_students) / self.students)
        return min(score, 99) if (self.rooms or self.blocking) else score

    @property
    def blocking_total(self) -> int:
        return self.blocking + len(self.rooms)


def _progress(
    school: School, s: SchoolYearStats | None, rooms: dict[str, int], sr: SchoolRound | None
) -> SchoolProgress:
    from dmc.rounds import checks
    from dmc.rounds.stats import BLOCKED_STUDENTS, blocking_count, students_by_grade

    totals = s.totals if s else {}
    counts = s.checks if s else {}
    by_key: dict[str, list[int]] = {}
    for token, n in counts.items():
        key = token.rstrip("!")
        if key in CHECKS:
            cell = by_key.setdefault(key, [0, 0])
            cell[0] += n
            if token.endswith("!"):
                cell[1] += n
    order = {sev: i for i, sev in enumerate(Severity)}
    items = sorted(
        (ChecklistItem(k, CHECKS[k], n, e) for k, (n, e) in by_key.items()),
        key=lambda it: (order[it.check.severity], it.key),
    )
    return SchoolProgress(
        school=school,
        students=sum(c["M"] + c["F"] for c in totals.values()),
        counted=sum(c["cM"] + c["cF"] for c in totals.values()),
        blocking=blocking_count(counts),
        blocked_students=counts.get(BLOCKED_STUDENTS, 0),
        rooms=checks.rooms_problems(students_by_grade(totals), rooms),
        sr=sr,
        items=items,
    )


def school_progress(school: School, r: Round) -> SchoolProgress:
    """One school's checklist and state in a round (from the maintained stats)."""
    from dmc.rounds.stats import current_stats

    year = r.academic_year.year
    s = current_stats(school.pk, year)  # no lock unless it must be rebuilt
    rooms = dict(
        SchoolGrade.objects.filter(school=school, academic_year=year).values_list("grade", "rooms")
    )
    sr = (
        SchoolRound.objects.select_related(
            "confirmed_by", "certified_by", "acknowledged_by", "snapshot"
        )
        .filter(school=school, round=r)
        .first()
    )
    return _progress(school, s, rooms, sr)


def area_progress(schools: list[School], r: Round) -> list[SchoolProgress]:
    """Every listed school's state in one pass: three queries, whatever the number of schools."""
    year = r.academic_year.year
    ids = [s.pk for s in schools]
    stats_by = {
        s.school_id: s
        for s in SchoolYearStats.objects.filter(school_id__in=ids, academic_year=year)
    }
    rooms_by: dict[int, dict[str, int]] = {}
    for school_id, grade, rooms in SchoolGrade.objects.filter(
        school_id__in=ids, academic_year=year
    ).values_list("school_id", "grade", "rooms"):
        rooms_by.setdefault(school_id, {})[grade] = rooms
    sr_by = {sr.school_id: sr for sr in SchoolRound.objects.filter(round=r, school_id__in=ids)}
    return [
        _progress(s, stats_by.get(s.pk), rooms_by.get(s.pk, {}), sr_by.get(s.pk)) for s in schools
    ]
