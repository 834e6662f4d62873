"""Round windows and states: pure functions of the windows and a given instant.

A window is half-open, ``opens <= now < closes``: with a close of 16:30:00 a request at 16:29:59
is inside and one at 16:30:00 is outside, decided by the server clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from dmc.core.clock import local
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import format_datetime_be


class RoundState(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CONFIRM_WINDOW = "confirm_window"
    AREA_ACK = "area_ack"
    CLOSED = "closed"
    PUBLISHED = "published"


STATE_LABELS: dict[RoundState, tuple[str, str]] = {
    RoundState.NOT_OPEN: ("ยังไม่เปิด", "Not open"),
    RoundState.OPEN: ("เปิดบันทึกข้อมูล", "Open for entry"),
    RoundState.CONFIRM_WINDOW: ("ช่วงยืนยันข้อมูล", "Confirm window"),
    RoundState.AREA_ACK: ("เขตพื้นที่รับทราบ", "Area acknowledgement"),
    RoundState.CLOSED: ("ปิดรอบแล้ว", "Closed"),
    RoundState.PUBLISHED: ("เผยแพร่แล้ว", "Published"),
}


@dataclass(frozen=True)
class Windows:
    entry_opens_at: dt.datetime
    entry_closes_at: dt.datetime
    confirm_opens_at: dt.datetime
    confirm_closes_at: dt.datetime
    area_ack_closes_at: dt.datetime
    closed_at: dt.datetime | None = None
    published_at: dt.datetime | None = None


def inside(opens: dt.datetime, closes: dt.datetime, now: dt.datetime) -> bool:
    return opens <= now < closes


def round_state(w: Windows, now: dt.datetime) -> RoundState:
    if w.published_at is not None and now >= w.published_at:
        return RoundState.PUBLISHED
    if w.closed_at is not None and now >= w.closed_at:
        return RoundState.CLOSED
    if now < w.entry_opens_at:
        return RoundState.NOT_OPEN
    if now < w.confirm_opens_at:
        return RoundState.OPEN
    if now < w.confirm_closes_at:
        return RoundState.CONFIRM_WINDOW
    return RoundState.AREA_ACK


def window_closed(
    *, now: dt.datetime, opens: dt.datetime, closes: dt.datetime, window_th: str, window_en: str
) -> DmcError:
    return DmcError(
        ErrorCode.WINDOW_CLOSED,
        http_status=409,
        now=format_datetime_be(local(now)),
        opens=format_datetime_be(local(opens)),
        closes=format_datetime_be(local(closes)),
        window_th=window_th,
        window_en=window_en,
    )


def check_entry_open(w: Windows, now: dt.datetime) -> None:
    """Student and school data may change only while entry is open and the round not closed.

    Raises WINDOW_CLOSED naming the entry window.
    """
    closed = w.closed_at is not None and now >= w.closed_at
    if closed or not inside(w.entry_opens_at, w.entry_closes_at, now):
        raise window_closed(
            now=now,
            opens=w.entry_opens_at,
            closes=w.entry_closes_at,
            window_th="บันทึกข้อมูล",
            window_en="data entry",
        )
