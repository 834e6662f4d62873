"""Per-head subsidy rate tables (SPEC §9.2): versioned, effective-dated data files
(``dmc-budget-rates/1`` JSON, documented in ``docs/nutrition.md``), never hard-coded figures.

A table lists the levels (which grade codes each covers) and the items; each item has a basis
(``counted``: students counted under D4; ``disadvantaged``: counted students with one of the
table's ``disadvantaged_codes``, or any category but 00 when it lists none) and, per level, the
rate per head for semester 1 and semester 2.
``round_semester`` says which semester a round's sealed counts fund.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings

from dmc.core.errors import DmcError, ErrorCode

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT = "dmc-budget-rates/1"
BASES = ("counted", "disadvantaged")


@dataclass(frozen=True)
class Level:
    code: str
    th: str
    en: str
    grades: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    code: str
    th: str
    en: str
    basis: str
    rates: dict[str, tuple[Decimal, Decimal]]  # level -> (semester 1, semester 2)


@dataclass(frozen=True)
class RateTable:
    name: str
    name_en: str
    version: str
    example: bool
    effective_from: dt.date
    note_th: str
    note_en: str
    rounding: str
    disadvantaged_codes: tuple[str, ...]  # categories that count as poor (empty: any but 00)
    round_semester: dict[int, int]
    levels: tuple[Level, ...]
    items: tuple[Item, ...]

    @property
    def key(self) -> str:
        return self.version

    def level_of(self, grade: str) -> str | None:
        for level in self.levels:
            if grade in level.grades:
                return level.code
        return None


def _invalid(source: str, where: str, th: str, en: str) -> DmcError:
    return DmcError(
        ErrorCode.BUDGET_RATES_INVALID,
        http_status=400,
        source=source,
        where=where,
        reason_th=th,
        reason_en=en,
    )


def _money(value: Any, src: str, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise _invalid(
            src, where, f"'{value}' ไม่ใช่จำนวนเงิน", f"'{value}' is not an amount"
        ) from exc
    if not amount.is_finite() or amount < 0:
        raise _invalid(src, where, "จำนวนเงินต้องไม่ติดลบ", "an amount must not be negative")
    return amount


def parse(doc: Any, src: str = "file") -> RateTable:
    """Validate and build a rate table; refuses anything malformed with BUDGET_RATES_INVALID."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _invalid(src, "format", f"ต้องเป็น {FORMAT}", f"format must be {FORMAT}")
    for key in ("name", "version", "effective_from", "levels", "items", "round_semester"):
        if key not in doc:
            raise _invalid(src, key, f"ไม่มี '{key}'", f"'{key}' is missing")
    try:
        effective = dt.date.fromisoformat(str(doc["effective_from"]))
    except ValueError as exc:
        raise _invalid(
            src, "effective_from", "วันที่ต้องเป็น YYYY-MM-DD (ค.ศ.)", "a date must be YYYY-MM-DD"
        ) from exc
    levels = []
    seen_grades: set[str] = set()
    for code, spec in doc["levels"].items():
        grades = tuple(spec.get("grades", []))
        for g in grades:
            if not (len(g) == 2 and g.isdigit() and "01" <= g <= "18") or g in seen_grades:
                raise _invalid(
                    src,
                    f"levels.{code}",
                    f"รหัสชั้น '{g}' ไม่ถูกต้องหรือซ้ำ",
                    f"grade code '{g}' is invalid or repeated",
                )
            seen_grades.add(g)
        levels.append(Level(code, spec.get("th", code), spec.get("en", code), grades))
    level_codes = {lv.code for lv in levels}
    items = []
    for i, spec in enumerate(doc["items"]):
        where = f"items[{i}]"
        code = spec.get("code", "")
        if not code or spec.get("basis") not in BASES:
            raise _invalid(
                src,
                where,
                "รายการต้องมี code และ basis เป็น counted หรือ disadvantaged",
                "an item needs a code and a basis of counted or disadvantaged",
            )
        rates: dict[str, tuple[Decimal, Decimal]] = {}
        for level, pair in spec.get("rates", {}).items():
            if level not in level_codes:
                raise _invalid(
                    src, f"{where}.{level}", f"ไม่มีระดับ '{level}'", f"unknown level '{level}'"
                )
            if not isinstance(pair, list) or len(pair) != 2:
                raise _invalid(
                    src,
                    f"{where}.{level}",
                    "อัตราต้องเป็น [ภาคเรียนที่ 1, ภาคเรียนที่ 2]",
                    "a rate must be [semester 1, semester 2]",
                )
            rates[level] = (
                _money(pair[0], src, f"{where}.{level}"),
                _money(pair[1], src, f"{where}.{level}"),
            )
        missing = level_codes - set(rates)
        if missing:
            raise _invalid(
                src,
                where,
                f"ไม่มีอัตราของระดับ {', '.join(sorted(missing))}",
                f"no rate for level(s) {', '.join(sorted(missing))}",
            )
        items.append(
            Item(
                code,
                spec.get("th", code),
                spec.get("en", code),
                spec["basis"],
                rates,
            )
        )
    try:
        round_semester = {int(k): int(v) for k, v in doc["round_semester"].items()}
    except (ValueError, AttributeError) as exc:
        raise _invalid(
            src, "round_semester", 'ต้องเป็น {"1": 1, ...}', 'must be {"1": 1, ...}'
        ) from exc
    if any(v not in (1, 2) for v in round_semester.values()):
        raise _invalid(src, "round_semester", "ภาคเรียนต้องเป็น 1 หรือ 2", "a semester is 1 or 2")
    return RateTable(
        name=str(doc["name"]),
        name_en=str(doc.get("name_en", doc["name"])),
        version=str(doc["version"]),
        example=bool(doc.get("example", False)),
        effective_from=effective,
        note_th=str(doc.get("note_th", "")),
        note_en=str(doc.get("note_en", "")),
        rounding=str(doc.get("rounding", "")),
        disadvantaged_codes=tuple(str(c) for c in doc.get("disadvantaged_codes", [])),
        round_semester=round_semester,
        levels=tuple(levels),
        items=tuple(items),
    )


def load(path: Path) -> RateTable:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _invalid(path.name, "-", "อ่านไฟล์ JSON ไม่ได้", f"not readable JSON ({exc})") from exc
    return parse(doc, path.name)


@functools.cache
def tables() -> tuple[RateTable, ...]:
    """Every rate table shipped or placed in ``DMC_BUDGET_DIR``, oldest first."""
    folders = [DATA_DIR]
    extra = getattr(settings, "DMC_BUDGET_DIR", "") or ""
    if extra:
        folders.append(Path(extra))
    found = [load(p) for folder in folders for p in sorted(folder.glob("*.json"))]
    return tuple(sorted(found, key=lambda t: (t.effective_from, t.version)))


def table_for(day: dt.date, version: str | None = None) -> RateTable:
    """The table in effect on ``day`` (the latest whose effective_from is on or before it), or
    the named version."""
    candidates = [t for t in tables() if (t.version == version if version else True)]
    in_effect = [t for t in candidates if t.effective_from <= day]
    if not in_effect:
        raise DmcError(ErrorCode.BUDGET_NO_RATES, http_status=404, date=day.isoformat())
    return in_effect[-1]
