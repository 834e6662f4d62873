"""The seed letter's rules that belong to later operations (movements, year end), tested at the
rule level: each one allows and refuses. The services of issues 4 and 5 call these functions."""

from __future__ import annotations

import datetime as dt

import pytest

from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.rulebook import RULES
from dmc.rounds.rules import (
    Windows,
    check_confirm_window,
    check_id_correction_open,
    check_year_end_step,
)
from dmc.students import rules

OPENS = bangkok(2022, 3, 1, 0, 0)
CLOSES = bangkok(2022, 4, 30, 16, 30)
W = Windows(
    entry_opens_at=bangkok(2021, 11, 15, 8, 0),
    entry_closes_at=CLOSES,
    confirm_opens_at=bangkok(2022, 4, 30, 8, 0),
    confirm_closes_at=CLOSES,
    area_ack_closes_at=bangkok(2022, 5, 1, 23, 59),
)


def _refused(code: ErrorCode, fn: object, *args: object, **kwargs: object) -> DmcError:
    with pytest.raises(DmcError) as exc:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert exc.value.code == code
    return exc.value


def test_l1_id_corrections_close_at_the_deadline() -> None:
    check_id_correction_open(CLOSES, bangkok(2022, 4, 30, 16, 29, 59))
    err = _refused(
        ErrorCode.ID_CORRECTION_CLOSED,
        check_id_correction_open,
        CLOSES,
        bangkok(2022, 4, 30, 16, 30, 0),
    )
    assert "30 เม.ย. 2565 16:30:00" in err.message_in("th")


def test_l2_year_end_roster_is_exam_takers_or_tracked() -> None:
    rules.check_year_end_roster(round_number=3, sat_exam=True, tracked_318=False)
    rules.check_year_end_roster(round_number=3, sat_exam=False, tracked_318=True)
    rules.check_year_end_roster(round_number=1, sat_exam=None, tracked_318=False)
    _refused(
        ErrorCode.NOT_EXAM_TAKER,
        rules.check_year_end_roster,
        round_number=3,
        sat_exam=None,
        tracked_318=False,
    )


def test_l4_no_next_year_applicants_in_round_3() -> None:
    ends = dt.date(2022, 3, 31)
    rules.check_not_next_year_applicant(round_number=3, admitted_on=ends, year_ends_on=ends)
    rules.check_not_next_year_applicant(
        round_number=1, admitted_on=dt.date(2022, 5, 16), year_ends_on=ends
    )
    _refused(
        ErrorCode.NEXT_YEAR_APPLICANT,
        rules.check_not_next_year_applicant,
        round_number=3,
        admitted_on=dt.date(2022, 4, 1),
        year_ends_on=ends,
    )


def test_l5_add_in_round_3_only_for_exam_takers_here() -> None:
    rules.check_year_end_add(round_number=3, sat_exam_here=True)
    rules.check_year_end_add(round_number=2, sat_exam_here=False)
    _refused(
        ErrorCode.ADD_NOT_EXAM_TAKER, rules.check_year_end_add, round_number=3, sat_exam_here=False
    )


def test_l6_leave_in_round_3_only_before_the_exam() -> None:
    exam = dt.date(2022, 2, 21)
    rules.check_year_end_leave(round_number=3, left_on=dt.date(2022, 2, 20), exam_starts_on=exam)
    rules.check_year_end_leave(round_number=2, left_on=dt.date(2022, 3, 1), exam_starts_on=exam)
    _refused(
        ErrorCode.LEFT_AFTER_EXAM,
        rules.check_year_end_leave,
        round_number=3,
        left_on=exam,
        exam_starts_on=exam,
    )


def test_l7_dropout_needs_the_area_approval() -> None:
    rules.check_dropout(consultation_approved=True)
    _refused(ErrorCode.DROPOUT_NOT_APPROVED, rules.check_dropout, consultation_approved=False)


@pytest.mark.parametrize(
    ("menu", "at", "pending", "code"),
    [
        ("3.2.2", bangkok(2022, 3, 1, 0, 0), {}, None),
        ("3.2.2", bangkok(2022, 2, 28, 23, 59, 59), {}, ErrorCode.WINDOW_CLOSED),
        ("3.2.2", bangkok(2022, 4, 30, 16, 30), {}, ErrorCode.WINDOW_CLOSED),
        ("3.2.2.1", bangkok(2022, 3, 2), {"3.2.2": 0}, None),
        ("3.2.2.1", bangkok(2022, 3, 2), {"3.2.2": 3}, ErrorCode.YEAR_END_ORDER),
        ("3.2.2.2", bangkok(2022, 3, 2), {"3.2.2": 0, "3.2.2.1": 1}, ErrorCode.YEAR_END_ORDER),
        ("3.2.2.2", bangkok(2022, 3, 2), {"3.2.2": 0, "3.2.2.1": 0}, None),
    ],
)
def test_l8_year_end_menus_open_on_their_date_and_run_in_order(
    menu: str, at: dt.datetime, pending: dict[str, int], code: ErrorCode | None
) -> None:
    call = lambda: check_year_end_step(  # noqa: E731
        menu, opens=OPENS, closes=CLOSES, now=at, pending_before=pending
    )
    if code is None:
        call()
    else:
        err = _refused(code, call)
        if code == ErrorCode.YEAR_END_ORDER:
            assert "3.2.2" in err.message_in("th")


def test_l9_and_d3_who_cannot_be_withdrawn() -> None:
    rules.check_withdrawable(tracked_318=False, graduated=False)
    _refused(
        ErrorCode.TRACKED_CANNOT_WITHDRAW,
        rules.check_withdrawable,
        tracked_318=True,
        graduated=False,
    )
    _refused(
        ErrorCode.GRADUATE_NOT_WITHDRAWN,
        rules.check_withdrawable,
        tracked_318=False,
        graduated=True,
    )


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (bangkok(2022, 4, 30, 7, 59, 59), ErrorCode.CONFIRM_WINDOW_CLOSED),
        (bangkok(2022, 4, 30, 8, 0, 0), None),
        (bangkok(2022, 4, 30, 16, 29, 59), None),
        (bangkok(2022, 4, 30, 16, 30, 0), ErrorCode.CONFIRM_WINDOW_CLOSED),
    ],
)
def test_l10_confirm_window_edges(at: dt.datetime, code: ErrorCode | None) -> None:
    if code is None:
        check_confirm_window(W, at)
    else:
        err = _refused(code, check_confirm_window, W, at)
        assert "30 เม.ย. 2565 08:00:00" in err.message_in("th")


def test_l10_nothing_after_close() -> None:
    closed = Windows(**{**W.__dict__, "closed_at": bangkok(2022, 4, 30, 12, 0)})
    _refused(ErrorCode.ROUND_CLOSED, check_confirm_window, closed, bangkok(2022, 4, 30, 12, 0))


def test_d2_grade_or_room_change_needs_a_reason() -> None:
    rules.check_grade_change(old=("05", 1), new=("05", 1), reason="")
    rules.check_grade_change(old=("05", 1), new=("05", 2), reason="ห้องผิด")
    _refused(
        ErrorCode.GRADE_CHANGE_REASON,
        rules.check_grade_change,
        old=("05", 1),
        new=("06", 1),
        reason="  ",
    )


def test_every_rule_code_has_both_languages() -> None:
    from dmc.core.errors import MESSAGES

    for rule in RULES.values():
        for code in rule.codes:
            th, en = MESSAGES[code]
            assert th and en and th != en, (rule.id, code)
