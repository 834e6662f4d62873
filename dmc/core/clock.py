"""The one server clock.

Every service reads time from ``now()``. Outside production (tests, the demo) the clock can be
moved: tests with ``frozen(...)`` (process-wide, so a live server thread sees it too) and the
demo with ``set_clock(...)``, stored in the database so every worker process agrees. In
production (``DMC_CLOCK_SETTABLE`` is forced off) it is the system clock and cannot be set.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from dmc.core.errors import DmcError, ErrorCode

BANGKOK = ZoneInfo("Asia/Bangkok")

_override: dt.datetime | None = None
_db_cache: tuple[float, dt.timedelta | None, dt.datetime | None] | None = None
_DB_CACHE_SECONDS = 1.0


def bangkok(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    """An aware datetime given in Bangkok wall-clock time (CE year)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=BANGKOK)


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(BANGKOK)


def settable() -> bool:
    return bool(getattr(settings, "DMC_CLOCK_SETTABLE", False))


def _from_db() -> tuple[dt.timedelta | None, dt.datetime | None]:
    global _db_cache
    mono = time.monotonic()
    if _db_cache and mono - _db_cache[0] < _DB_CACHE_SECONDS:
        return _db_cache[1], _db_cache[2]
    from dmc.core.models import ClockSetting

    row = ClockSetting.objects.filter(pk=1).first()
    offset = dt.timedelta(seconds=row.offset_seconds) if row and row.offset_seconds else None
    frozen_at = row.frozen_at if row else None
    _db_cache = (mono, offset, frozen_at)
    return offset, frozen_at


def now() -> dt.datetime:
    """The current server time (aware, UTC)."""
    real = timezone.now()
    if not settable():
        return real
    if _override is not None:
        return _override
    try:
        offset, frozen_at = _from_db()
    except Exception:
        return real
    if frozen_at is not None:
        return frozen_at
    return real + offset if offset else real


def today() -> dt.date:
    return local(now()).date()


def invalidate_cache() -> None:
    global _db_cache
    _db_cache = None


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Tests: stop the clock at ``at`` for this process."""
    global _override
    if not settable():
        raise DmcError(ErrorCode.CLOCK_LOCKED, http_status=403)
    previous, _override = _override, at
    try:
        yield
    finally:
        _override = previous


def set_clock(at: dt.datetime | None, *, freeze: bool = False) -> None:
    """Demo: move the shared clock so that it reads ``at`` now (``None`` resets to real time)."""
    if not settable():
        raise DmcError(ErrorCode.CLOCK_LOCKED, http_status=403)
    from dmc.core.models import ClockSetting

    if at is None:
        ClockSetting.objects.update_or_create(
            pk=1, defaults={"offset_seconds": 0, "frozen_at": None}
        )
    elif freeze:
        ClockSetting.objects.update_or_create(pk=1, defaults={"offset_seconds": 0, "frozen_at": at})
    else:
        offset = int((at - timezone.now()).total_seconds())
        ClockSetting.objects.update_or_create(
            pk=1, defaults={"offset_seconds": offset, "frozen_at": None}
        )
    invalidate_cache()
