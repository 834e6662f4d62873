"""Thai digits, Buddhist-era dates, collation, and input normalisation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmc.core.errors import DmcError, ErrorCode
from dmc.core.normalize import clean_text, parse_date, parse_decimal
from dmc.core.thai import (
    collation_key,
    format_date_be,
    format_datetime_be,
    to_arabic_digits,
    to_thai_digits,
)


def test_thai_digits_round_trip() -> None:
    assert to_arabic_digits("๑๒๓/๔๕") == "123/45"
    assert to_thai_digits("2565") == "๒๕๖๕"


def test_be_formats() -> None:
    d = dt.date(2022, 4, 30)
    assert format_date_be(d) == "30/04/2565"
    assert format_date_be(d, style="long") == "30 เมษายน 2565"
    assert format_date_be(d, style="abbr") == "30 เม.ย. 2565"
    assert format_datetime_be(dt.datetime(2022, 4, 30, 16, 30)) == "30 เม.ย. 2565 16:30:00"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("05/07/2553", dt.date(2010, 7, 5)),
        ("5/7/2010", dt.date(2010, 7, 5)),
        ("๐๕/๐๗/๒๕๕๓", dt.date(2010, 7, 5)),
        ("05-07-2553", dt.date(2010, 7, 5)),
        ("2010-07-05", dt.date(2010, 7, 5)),
        (40364, dt.date(2010, 7, 5)),  # Excel serial
        ("40364", dt.date(2010, 7, 5)),
        (dt.datetime(2010, 7, 5, 0, 0), dt.date(2010, 7, 5)),
    ],
)
def test_dates_accepted(raw: object, expected: dt.date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2553", "hello", "2553", "05/07/53", "00/00/0000", ""])
def test_dates_refused(raw: str) -> None:
    with pytest.raises(DmcError) as exc:
        parse_date(raw)
    assert exc.value.code in (ErrorCode.DATE_FORMAT, ErrorCode.DATE_RANGE)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_be_format_parses_back(d: dt.date) -> None:
    assert parse_date(format_date_be(d)) == d


def test_decimals() -> None:
    assert parse_decimal("๓๕,๕", field="w") == Decimal("35.5")
    assert parse_decimal(" 120 ", field="h") == Decimal("120.0")
    assert parse_decimal("", field="h") is None
    assert parse_decimal("1,000", field="w") == Decimal("1000.0")
    assert parse_decimal("1,234.56", field="w", places=2) == Decimal("1234.56")
    assert parse_decimal("35,25", field="w", places=2) == Decimal("35.25")
    for bad in ("abc", "NaN", "inf"):
        with pytest.raises(DmcError) as exc:
            parse_decimal(bad, field="w")
        assert exc.value.code == ErrorCode.NUMBER_FORMAT


def test_clean_text_collapses_spaces_and_repeated_marks() -> None:
    assert clean_text("  สม   ชาย \t") == "สม ชาย"
    assert clean_text("ก่่อง") == "ก่อง"
    assert clean_text("น\u0e4d\u0e32") == "นำ"


def test_thai_collation_orders_like_a_dictionary() -> None:
    # leading vowels sort by the consonant after them; tone marks only break ties
    names = [
        "เอกชัย",
        "กนกวรรณ",
        "ไพโรจน์",
        "ขวัญใจ",
        "ก้อง",
        "ณัฐ",
        "ใจดี",
        "สมชาย",
        "บุญมี",
        "กง",
        "อรุณ",
        "เกศินี",
    ]
    expected = [
        "กง",
        "กนกวรรณ",
        "ก้อง",
        "เกศินี",
        "ขวัญใจ",
        "ใจดี",
        "ณัฐ",
        "บุญมี",
        "ไพโรจน์",
        "สมชาย",
        "อรุณ",
        "เอกชัย",
    ]
    assert sorted(names, key=collation_key) == expected


def test_collation_key_is_ascii() -> None:
    assert collation_key("เด็กชาย สมชาย").isascii()


# --- issue 9: the validators never crash (anything in -> a value or a DmcError) ------------------

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(allow_nan=True),
    st.dates(),
    st.datetimes(),
    st.text(max_size=40),
    st.text(alphabet="๐๑๒๓๔๕๖๗๘๙0123456789/-.,: eE+", max_size=24),
)


@given(ANYTHING)
def test_parse_date_answers_a_date_or_a_dmc_error(raw: object) -> None:
    try:
        value: object = parse_date(raw, field="birth_date")
    except DmcError as exc:
        value = exc
    if isinstance(value, DmcError):
        assert value.code in (ErrorCode.DATE_FORMAT, ErrorCode.DATE_RANGE, ErrorCode.REQUIRED)
        assert value.message
    else:
        assert isinstance(value, dt.date)


@given(ANYTHING)
def test_parse_decimal_answers_a_bounded_number_or_a_dmc_error(raw: object) -> None:
    try:
        value: object = parse_decimal(raw, field="weight_kg")
    except DmcError as exc:
        value = exc
    if isinstance(value, DmcError):
        assert value.message
    else:
        assert value is None or isinstance(value, Decimal)
        assert value is None or (value.is_finite() and value == value.quantize(Decimal("0.1")))


@given(ANYTHING)
def test_clean_text_is_idempotent_text(raw: object) -> None:
    once = clean_text(raw)
    assert isinstance(once, str)
    assert clean_text(once) == once
    assert "\x00" not in once
