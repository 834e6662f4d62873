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


# --- the seed letter's time rules ---------------------------------------------------------------

YEAR_END_MENUS = ("3.2.2", "3.2.2.1", "3.2.2.2")  # L8: in this order
MENU_LABELS = {
    "3.2.2": ("3.2.2 ผลการเรียน (เลื่อนชั้น/ซ้ำชั้น)", "3.2.2 results (pass/fail)"),
    "3.2.2.1": ("3.2.2.1 นักเรียนซ้ำชั้น", "3.2.2.1 repeaters"),
    "3.2.2.2": ("3.2.2.2 นักเรียนจบการศึกษา", "3.2.2.2 graduates"),
    "3.1.8": ("3.1.8 ยังไม่สามารถจำหน่ายได้", "3.1.8 tracked, not withdrawable"),
}


def check_id_correction_open(deadline: dt.datetime, now: dt.datetime) -> None:
    """L1: ID-correction requests close at the round's ID-correction deadline."""
    if now >= deadline:
        raise DmcError(
            ErrorCode.ID_CORRECTION_CLOSED,
            http_status=409,
            deadline=format_datetime_be(local(deadline)),
        )


def check_confirm_window(w: Windows, now: dt.datetime) -> None:
    """L10: confirm/certify only inside the confirm window (and never after close)."""
    if w.closed_at is not None and now >= w.closed_at:
        raise DmcError(ErrorCode.ROUND_CLOSED, http_status=409)
    if not inside(w.confirm_opens_at, w.confirm_closes_at, now):
        raise DmcError(
            ErrorCode.CONFIRM_WINDOW_CLOSED,
            http_status=409,
            now=format_datetime_be(local(now)),
            opens=format_datetime_be(local(w.confirm_opens_at)),
            closes=format_datetime_be(local(w.confirm_closes_at)),
        )


def check_year_end_step(
    menu: str,
    *,
    opens: dt.datetime,
    closes: dt.datetime,
    now: dt.datetime,
    pending_before: dict[str, int],
) -> None:
    """L8: a year-end menu works from its opening date, and only once every earlier step is
    complete (``pending_before`` maps each earlier menu to its students still pending)."""
    th, en = MENU_LABELS[menu]
    if not inside(opens, closes, now):
        raise window_closed(
            now=now, opens=opens, closes=closes, window_th=f"เมนู {th}", window_en=f"menu {en}"
        )
    for previous in YEAR_END_MENUS[: YEAR_END_MENUS.index(menu)]:
        pending = pending_before.get(previous, 0)
        if pending:
            raise DmcError(
                ErrorCode.YEAR_END_ORDER,
                http_status=409,
                previous=previous,
                menu=menu,
                pending=pending,
            )
