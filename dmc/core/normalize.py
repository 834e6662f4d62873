"""Input normalisation shared by forms, the API and imports: dates, numbers, names.

Unambiguous forms are normalised (Thai digits, BE or CE years, Excel serial dates, stray
whitespace); anything else raises ``DmcError`` naming the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import BE_OFFSET, to_arabic_digits

_DATE = re.compile(r"^(\d{1,2})[/\-. ](\d{1,2})[/\-. ](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Excel serial numbers are taken as dates only in 1927-2119 (10000-80000), so a bare year such
# as "2553" is never mistaken for one.
_SERIAL_MIN, _SERIAL_MAX = 10_000, 80_000
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
_REPEATED_MARK = re.compile("([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\\1+")


def clean_text(value: object) -> str:
    """NFC, no control characters, single spaces, trimmed; repeated Thai marks collapsed."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii():
        if text.isprintable():  # the common case (codes, numbers, dates): spaces only
            return " ".join(text.split())
    else:
        text = unicodedata.normalize("NFC", text)
    printable = text.isprintable()
    if not printable:  # a control/format character (or a tab, newline, odd space)
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t")
    if not text.isascii():
        text = text.replace("\u0e4d\u0e32", "\u0e33")  # decomposed sara am (nikhahit + sara aa)
        if _REPEATED_MARK.search(text):
            text = _REPEATED_MARK.sub(r"\1", text)
    if printable:  # the only whitespace is " " (same result as the pattern, faster)
        return " ".join(text.split())
    return _SPACES.sub(" ", text).strip()


def parse_date(value: object, *, field: str = "date") -> dt.date:
    """Accept dd/mm/yyyy (BE if the year > 2400, else CE), yyyy-mm-dd, an Excel serial number,
    a ``date`` (a spreadsheet date cell typed with a BE year, e.g. 2553-07-05, is taken as BE);
    Thai digits allowed. Raises DATE_FORMAT or DATE_RANGE."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.year <= 2400:
            return value
        try:
            return value.replace(year=value.year - BE_OFFSET)
        except ValueError as exc:  # 29 Feb of a year that is not leap once converted
            shown = value.isoformat()
            raise DmcError(
                ErrorCode.DATE_FORMAT, value=shown, fields={field: ["date_format"]}
            ) from exc
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _SERIAL_MIN <= value < _SERIAL_MAX:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise DmcError(ErrorCode.DATE_FORMAT, value=value, fields={field: ["date_format"]})
    text = to_arabic_digits(clean_text(value))
    if re.fullmatch(r"\d{5}(\.0+)?", text) and _SERIAL_MIN <= float(text) < _SERIAL_MAX:
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    m = _DATE.match(text)
    if m:
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _ISO.match(text)
        if not m:
            raise DmcError(ErrorCode.DATE_FORMAT, value=text, fields={field: ["date_format"]})
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    if year > 2400:
        year -= BE_OFFSET
    try:
        result = dt.date(year, month, day)
    except ValueError as exc:
        raise DmcError(ErrorCode.DATE_FORMAT, value=text, fields={field: ["date_format"]}) from exc
    if not 1900 <= result.year <= 2100:
        raise DmcError(ErrorCode.DATE_RANGE, value=text, fields={field: ["date_range"]})
    return result


def parse_decimal(value: object, *, field: str, places: int = 1) -> Decimal | None:
    """A number with Thai digits or a comma decimal separator; blank -> None."""
    if value is None:
        return None
    text = to_arabic_digits(clean_text(value)).replace(" ", "")
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")  # 1,000 or 1,000.5: thousands separators
    elif _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")  # 35,5: a decimal comma
    if text in {"", "-"}:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise DmcError(
            ErrorCode.NUMBER_FORMAT, value=text, fields={field: ["number_format"]}
        ) from exc
    if not number.is_finite():
        raise DmcError(ErrorCode.NUMBER_FORMAT, value=text, fields={field: ["number_format"]})
    try:
        return number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation as exc:  # too many digits to hold (e.g. 1e400)
        raise DmcError(
            ErrorCode.NUMBER_FORMAT, value=text[:20], fields={field: ["number_format"]}
        ) from exc
