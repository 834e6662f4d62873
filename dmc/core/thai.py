"""Thai text and Buddhist-era dates: digits, BE <-> CE, display, a sortable collation key.

Pure functions, no ORM and no clock.
"""

from __future__ import annotations

import datetime as dt
import re

BE_OFFSET = 543
THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_TO_ARABIC = str.maketrans(THAI_DIGITS, "0123456789")
_TO_THAI = str.maketrans("0123456789", THAI_DIGITS)

MONTHS_TH = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
MONTHS_TH_ABBR = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
MONTHS_EN_ABBR = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def to_arabic_digits(text: str) -> str:
    return text.translate(_TO_ARABIC)


def to_thai_digits(text: str) -> str:
    return text.translate(_TO_THAI)


def be_year(year_ce: int) -> int:
    return year_ce + BE_OFFSET


def ce_year(year_be: int) -> int:
    return year_be - BE_OFFSET


def format_date_be(value: dt.date, *, style: str = "short") -> str:
    """``short``: 05/07/2553 (the DMC file form); ``long``: 5 กรกฎาคม 2553;
    ``abbr``: 5 ก.ค. 2553."""
    y = be_year(value.year)
    if style == "short":
        return f"{value.day:02d}/{value.month:02d}/{y}"
    if style == "long":
        return f"{value.day} {MONTHS_TH[value.month - 1]} {y}"
    return f"{value.day} {MONTHS_TH_ABBR[value.month - 1]} {y}"


def format_datetime_be(value: dt.datetime) -> str:
    """e.g. 30 เม.ย. 2565 16:30:00 (the caller passes a Bangkok-local datetime)."""
    return f"{format_date_be(value.date(), style='abbr')} {value:%H:%M:%S}"


def format_date_en(value: dt.date) -> str:
    return f"{value.day} {MONTHS_EN_ABBR[value.month - 1]} {value.year}"


# --- collation -----------------------------------------------------------------------------------
# Thai dictionary order: a leading vowel (เ แ โ ใ ไ) sorts after the consonant it precedes in
# writing, and tone marks and other diacritics only break ties. Thai consonants are already in
# alphabetical order in Unicode. The key is ASCII (hex of code points) so that every database
# orders it the same way under a binary collation.
_LEADING_VOWELS = "เแโใไ"
_TONE_AND_MARKS = re.compile("[\u0e47-\u0e4e]")
_SWAP = re.compile(f"([{_LEADING_VOWELS}])([\u0e01-\u0e2e])")


def collation_key(text: str) -> str:
    """An ASCII key whose byte order is Thai dictionary order (primary, then the marks)."""
    text = text.strip()
    primary = _SWAP.sub(r"\2\1", _TONE_AND_MARKS.sub("", text))
    secondary = _SWAP.sub(r"\2\1", text)
    if not text or max(text) < "\ud800":  # the common case: UTF-16 is the code points
        return primary.encode("utf-16-be").hex() + "~" + secondary.encode("utf-16-be").hex()
    return (
        "".join(f"{ord(c):04x}" for c in primary)
        + "~"
        + "".join(f"{ord(c):04x}" for c in secondary)
    )
