"""Citizen ID checksum, G-codes and input normalisation (rule level, no database)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmc.core.errors import DmcError, ErrorCode
from dmc.core.ids import (
    check_digit,
    is_valid_citizen_id,
    mask_person_id,
    normalize_citizen_id,
    normalize_document_type,
    normalize_gcode,
    normalize_person_id,
)
from dmc.core.thai import to_thai_digits

# A real-format example: 1-1037-00123-45-? with its check digit computed by hand:
# weights 13..2 over 1,1,0,3,7,0,0,1,2,3,4,5 = 13+12+0+30+63+0+0+6+10+12+12+10 = 168;
# 168 mod 11 = 3; (11 - 3) mod 10 = 8.
KNOWN = "1103700123458"

first12 = st.text(alphabet="0123456789", min_size=12, max_size=12).filter(lambda s: s[0] != "9")


def test_check_digit_matches_hand_computation() -> None:
    assert check_digit(KNOWN[:12]) == 8
    assert is_valid_citizen_id(KNOWN)


@given(first12)
def test_every_prefix_with_its_check_digit_is_accepted(prefix: str) -> None:
    cid = prefix + str(check_digit(prefix))
    assert normalize_citizen_id(cid) == cid


@given(first12, st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_refused(prefix: str, delta: int) -> None:
    wrong = prefix + str((check_digit(prefix) + delta) % 10)
    with pytest.raises(DmcError) as exc:
        normalize_citizen_id(wrong)
    assert exc.value.code == ErrorCode.CITIZEN_ID_CHECKSUM


@given(first12)
def test_dashes_spaces_and_thai_digits_are_normalised(prefix: str) -> None:
    cid = prefix + str(check_digit(prefix))
    dashed = f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}"
    assert normalize_citizen_id(dashed) == cid
    assert normalize_citizen_id(" " + cid.replace("1", "1 ", 1) + " ") == cid
    assert normalize_citizen_id(to_thai_digits(dashed)) == cid


def test_leading_zero_id_is_accepted_and_kept_as_text() -> None:
    head = "012345678901"
    cid = head + str(check_digit(head))
    assert normalize_citizen_id(cid) == cid
    # Excel dropped the leading zero: the 12-digit number is restored when the checksum agrees
    assert normalize_citizen_id(int(cid)) == cid
    assert normalize_citizen_id(cid[1:]) == cid


def test_excel_mangled_numbers_are_restored() -> None:
    assert normalize_citizen_id(float(KNOWN)) == KNOWN
    assert normalize_citizen_id(KNOWN + ".0") == KNOWN
    assert normalize_citizen_id("1.103700123458E+12") == KNOWN


def test_excel_rounded_scientific_id_is_refused_not_guessed() -> None:
    # 1.10370012E+12 lost digits: what is left fails the checksum, and we refuse it
    with pytest.raises(DmcError) as exc:
        normalize_citizen_id("1.10370012E+12")
    assert exc.value.code in (ErrorCode.CITIZEN_ID_CHECKSUM, ErrorCode.CITIZEN_ID_FORMAT)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", ErrorCode.CITIZEN_ID_FORMAT),
        ("123", ErrorCode.CITIZEN_ID_FORMAT),
        ("11037001234580", ErrorCode.CITIZEN_ID_FORMAT),
        ("1103700l23458", ErrorCode.CITIZEN_ID_FORMAT),
        ("9" + KNOWN[1:], ErrorCode.CITIZEN_ID_FORMAT),
        (KNOWN[:12] + "9", ErrorCode.CITIZEN_ID_CHECKSUM),
    ],
    ids=[
        "empty_case",
        "short_case",
        "long_case",
        "letter_case",
        "first_digit_9_case",
        "checksum_case",
    ],
)
def test_bad_citizen_ids_are_refused(raw: str, code: ErrorCode) -> None:
    with pytest.raises(DmcError) as exc:
        normalize_citizen_id(raw)
    assert exc.value.code == code


def test_checksum_message_says_the_expected_digit_in_thai_and_english() -> None:
    with pytest.raises(DmcError) as exc:
        normalize_citizen_id(KNOWN[:12] + "1")
    assert "ควรเป็น 8" in exc.value.message_in("th")
    assert "should be 8" in exc.value.message_in("en")


def test_gcode_accepted() -> None:
    assert normalize_gcode("G644200000001") == "G644200000001"
    assert normalize_gcode(" g64-42-00000001 ") == "G644200000001"
    assert normalize_person_id("G644200000001") == ("G644200000001", "gcode")
    assert normalize_person_id(KNOWN) == (KNOWN, "citizen")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("G64420000001", ErrorCode.GCODE_FORMAT),  # 11 digits
        ("G6442000000012", ErrorCode.GCODE_FORMAT),  # 13 digits
        ("GX44200000001", ErrorCode.GCODE_FORMAT),
        ("G640000000001", ErrorCode.GCODE_PROVINCE),  # province 00 does not exist
        ("G642800000001", ErrorCode.GCODE_PROVINCE),  # nor 28
    ],
)
def test_bad_gcodes_are_refused(raw: str, code: ErrorCode) -> None:
    with pytest.raises(DmcError) as exc:
        normalize_gcode(raw)
    assert exc.value.code == code


@given(st.text(max_size=20))
def test_normalisers_never_crash(raw: str) -> None:
    for fn in (normalize_citizen_id, normalize_gcode, normalize_person_id):
        with contextlib.suppress(DmcError):
            fn(raw)


def test_document_types() -> None:
    assert normalize_document_type("p") == "P"
    assert normalize_document_type("") == "I"
    with pytest.raises(DmcError) as exc:
        normalize_document_type("X")
    assert exc.value.code == ErrorCode.DOCUMENT_TYPE


def test_masking_shows_only_the_last_four() -> None:
    assert mask_person_id(KNOWN) == "x-xxxx-xxxx3-45-8"
    assert KNOWN[:9] not in mask_person_id(KNOWN)
    assert mask_person_id("G644200000001") == "Gxxxxxxxx0001"


@pytest.mark.parametrize("raw", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_a_non_finite_or_huge_spreadsheet_number_is_refused_not_a_crash(raw: float) -> None:
    """Found by the row-parser fuzzer (issue 9): int(inf) raised OverflowError."""
    with pytest.raises(DmcError):
        normalize_person_id(raw)
