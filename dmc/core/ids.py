"""Identifiers: the 13-digit citizen ID (checksum) and the G-code; input normalisation.

Pure functions. ``normalize_*`` clean what is unambiguous (Thai digits, dashes, spaces, Excel's
scientific notation and trailing ``.0``) and refuse what is not, raising ``DmcError``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from dmc.core.codes import PROVINCES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import to_arabic_digits

DOCUMENT_TYPES = {"I": "บัตรประชาชน", "P": "หนังสือเดินทาง", "A": "บัตรต่างด้าว", "O": "ไม่มีเอกสาร"}
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.'`\"]")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def check_digit(first12: str) -> int:
    """d13 = (11 - (sum of d_i * (14 - i), i = 1..12) mod 11) mod 10."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def is_valid_citizen_id(value: str) -> bool:
    return (
        len(value) == 13 and value.isascii() and value.isdigit()
        and check_digit(value[:12]) == int(value[12])
    )  # fmt: skip


def _clean(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float):
        # A spreadsheet turned the ID into a number; a float keeps 13 digits exactly.
        return f"{raw:.0f}" if raw.is_integer() else str(raw)  # inf/nan: their text, refused
    if isinstance(raw, int):
        return str(raw)
    text = to_arabic_digits(str(raw)).strip()
    if _SCIENTIFIC.match(text):
        # "1.10370012345E+12": digits past the mantissa are lost if Excel rounded them, but when
        # the mantissa carries all 13 digits the value is exact; the checksum decides.
        try:
            dec = Decimal(text)
        except InvalidOperation:
            return text
        if dec == dec.to_integral_value():
            return str(int(dec))
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return _SEPARATORS.sub("", text)


def normalize_citizen_id(raw: object) -> str:
    """Return the bare 13 digits of a valid citizen ID or raise CITIZEN_ID_FORMAT / _CHECKSUM.

    A number that lost its leading zero in a spreadsheet (12 digits) is restored when the restored
    13-digit form passes the checksum; the first digit may be 0-8 (persons without registration
    status use 0).
    """
    text = _clean(raw)
    if len(text) == 12 and text.isdigit() and is_valid_citizen_id("0" + text):
        text = "0" + text
    if len(text) != 13 or not text.isdigit():
        raise DmcError(ErrorCode.CITIZEN_ID_FORMAT, length=len(text), fields={"citizen_id": []})
    if text[0] == "9":
        raise DmcError(ErrorCode.CITIZEN_ID_FORMAT, length=13)
    expected = check_digit(text[:12])
    if expected != int(text[12]):
        raise DmcError(ErrorCode.CITIZEN_ID_CHECKSUM, expected=expected)
    return text


def normalize_gcode(raw: object) -> str:
    """``G`` + 2-digit BE year + 2-digit province + 8-digit number, e.g. ``G644200000001``."""
    text = _SEPARATORS.sub("", to_arabic_digits(str(raw or "")).strip()).upper()
    if not re.fullmatch(r"G\d{12}", text):
        raise DmcError(ErrorCode.GCODE_FORMAT)
    province = text[3:5]
    if province not in PROVINCES:
        raise DmcError(ErrorCode.GCODE_PROVINCE, province=province)
    return text


def normalize_person_id(raw: object) -> tuple[str, str]:
    """Return (id, kind) with kind ``citizen`` or ``gcode``."""
    text = str(raw or "").strip()
    if text[:1] in {"G", "g"}:
        return normalize_gcode(text), "gcode"
    return normalize_citizen_id(raw), "citizen"


def normalize_document_type(raw: object) -> str:
    text = str(raw or "I").strip().upper() or "I"
    if text not in DOCUMENT_TYPES:
        raise DmcError(ErrorCode.DOCUMENT_TYPE, value=text)
    return text


def mask_person_id(value: str) -> str:
    """Show only the last four characters: ``x-xxxx-xxxx4-56-7`` / ``Gxxxxxxxx0001``."""
    if value.startswith("G"):
        return "G" + "x" * (len(value) - 5) + value[-4:]
    if len(value) != 13:
        return "x" * len(value)
    return f"x-xxxx-xxxx{value[9]}-{value[10:12]}-{value[12]}"


def format_citizen_id(value: str) -> str:
    if len(value) == 13 and value.isdigit():
        return f"{value[0]}-{value[1:5]}-{value[5:10]}-{value[10:12]}-{value[12]}"
    return value
