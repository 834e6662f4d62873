"""Per-head budget arithmetic: pure, Decimal only.

For one school: ``amount(item) = Σ_level heads(level, basis) × rate(item, level, semester)``,
quantised to 0.01 baht ROUND_HALF_UP. Area and national totals are sums of the rounded school
amounts, so they always equal the sum of the schools shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from dmc.budget.rates import RateTable

CENT = Decimal("0.01")


def heads_by_level(table: RateTable, by_grade: Mapping[str, int]) -> dict[str, int]:
    out = {level.code: 0 for level in table.levels}
    for grade, n in by_grade.items():
        level = table.level_of(grade)
        if level is not None:
            out[level] += n
    return out


def school_amounts(
    table: RateTable,
    semester: int,
    counted_by_grade: Mapping[str, int],
    disadvantaged_by_grade: Mapping[str, int],
) -> dict[str, Decimal]:
    """Item code -> the school's amount for the semester (rounded to the satang)."""
    counted = heads_by_level(table, counted_by_grade)
    disadvantaged = heads_by_level(table, disadvantaged_by_grade)
    out: dict[str, Decimal] = {}
    for item in table.items:
        heads = counted if item.basis == "counted" else disadvantaged
        exact = sum(
            (Decimal(heads[level]) * item.rates[level][semester - 1] for level in heads),
            Decimal(0),
        )
        out[item.code] = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return out


def add(into: dict[str, Decimal], amounts: Mapping[str, Decimal]) -> None:
    for code, value in amounts.items():
        into[code] = into.get(code, Decimal("0.00")) + value
