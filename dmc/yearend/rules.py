"""The end-of-year rules for one student (seed letter L8, with L2/L9 and D3), as pure
functions: each returns the normalised value or raises the rule's ``DmcError``.

Menu order and dates (L8) are ``dmc.rounds.rules.check_year_end_step``; what is still pending for
a student is ``dmc.rounds.checks.year_end_pending`` (the checklist keys ``L8.*``).
"""

from __future__ import annotations

import re

from dmc.core.codes import CODES, TERMINAL_GRADES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.normalize import clean_text

YEARS_STUDIED_MIN, YEARS_STUDIED_MAX = 1, 15
PASS, FAIL = "pass", "fail"
_RESULT_WORDS = {
    "pass": PASS,
    "passed": PASS,
    "p": PASS,
    "ได้": PASS,
    "สอบได้": PASS,
    "ผ่าน": PASS,
    "เลื่อนชั้น": PASS,
    "จบ": PASS,
    "fail": FAIL,
    "failed": FAIL,
    "f": FAIL,
    "ตก": FAIL,
    "สอบตก": FAIL,
    "ไม่ผ่าน": FAIL,
    "ซ้ำชั้น": FAIL,
}
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def check_sat_exam(*, tracked_318: bool) -> None:
    """L2/L9: only students who sat the final exam get a result; 3.1.8 students did not."""
    if tracked_318:
        raise DmcError(ErrorCode.YEAR_END_TRACKED, http_status=409)


def check_result(value: object) -> str:
    """3.2.2: passed or failed, never blank. Accepts the codes, Thai and English words and the
    code list's labels."""
    text = clean_text(str(value or "")).casefold()
    result = _RESULT_WORDS.get(text) or CODES["year_result"].lookup(text)
    if result not in (PASS, FAIL):
        raise DmcError(ErrorCode.YEAR_RESULT_REQUIRED, fields={"result": ["year_result_required"]})
    return result


def check_years_studied(value: object) -> int:
    """3.2.2: the number of years studied, a whole number 1-15."""
    text = clean_text(str(value if value is not None else "")).translate(_THAI_DIGITS)
    if text.endswith(".0"):  # Excel hands whole numbers over as floats
        text = text[:-2]
    if not text.isdigit() or not YEARS_STUDIED_MIN <= int(text) <= YEARS_STUDIED_MAX:
        raise DmcError(
            ErrorCode.YEARS_STUDIED_RANGE,
            fields={"years_studied": ["years_studied_range"]},
            low=YEARS_STUDIED_MIN,
            high=YEARS_STUDIED_MAX,
            value=text or "-",
        )
    return int(text)


def _codes(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_text(str(v)) for v in value if clean_text(str(v))]
    return [p for p in (clean_text(x) for x in re.split(r"[,;/|\n]+", str(value))) if p]


def check_evaluations(*, year_result: str, value: object) -> str:
    """3.2.2.1: a repeater's evaluations not passed, at least one, from the code list. Returns the
    sorted codes joined by commas."""
    if year_result != FAIL:
        raise DmcError(ErrorCode.NOT_REPEATER, http_status=409)
    codes = set()
    for item in _codes(value):
        code = CODES["failed_evaluation"].lookup(item.translate(_THAI_DIGITS))
        if code is None:
            raise DmcError(
                ErrorCode.CODE_UNKNOWN,
                fields={"failed_evaluations": ["code_unknown"]},
                value=item,
                list_th="เกณฑ์การประเมิน",
                list_en="evaluation",
            )
        codes.add(code)
    if not codes:
        raise DmcError(
            ErrorCode.EVALUATIONS_REQUIRED, fields={"failed_evaluations": ["evaluations_required"]}
        )
    return ",".join(sorted(codes))


def is_graduate(*, year_result: str, grade: str) -> bool:
    """Passed a terminal grade (ป.6, ม.3, ม.6, ปวช.3): graduates (D3: never withdrawn)."""
    return year_result == PASS and grade in TERMINAL_GRADES


def check_destination(*, year_result: str, grade: str, value: object) -> str:
    """3.2.2.2: a graduate's destination, from the code list, never blank."""
    if not is_graduate(year_result=year_result, grade=grade):
        raise DmcError(ErrorCode.NOT_GRADUATE, http_status=409)
    text = clean_text(str(value or "")).translate(_THAI_DIGITS)
    if not text:
        raise DmcError(
            ErrorCode.DESTINATION_REQUIRED, fields={"destination": ["destination_required"]}
        )
    code = CODES["graduate_destination"].lookup(text)
    if code is None:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            fields={"destination": ["code_unknown"]},
            value=text,
            list_th="การศึกษาต่อ/ปลายทาง",
            list_en="destination",
        )
    return code
