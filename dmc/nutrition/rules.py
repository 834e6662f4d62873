"""Nutritional status (ภาวะโภชนาการ) of one child: pure functions, no ORM, no clock.

Bands follow the Department of Health (กรมอนามัย) with cut-offs at ±1.5, ±2 and +3 SD (SPEC §9.1):

weight (weight-for-height, or BMI-for-age where the reference has no weight-for-height)
    z < -2 ผอม · -2 ≤ z < -1.5 ค่อนข้างผอม · -1.5 ≤ z ≤ +1.5 สมส่วน · +1.5 < z ≤ +2 ท้วม ·
    +2 < z ≤ +3 เริ่มอ้วน · z > +3 อ้วน
height (height-for-age)
    z < -2 เตี้ย · -2 ≤ z < -1.5 ค่อนข้างเตี้ย · -1.5 ≤ z ≤ +1.5 สูงตามเกณฑ์ · +1.5 < z ≤ +2 ค่อนข้างสูง ·
    z > +2 สูง

z-scores are rounded to two decimals (half up) before banding, as WHO's tools report them, so a
boundary is decided the same way on every machine. Cut-off tables (DoH) are compared with the
measure directly under the same convention (below a lower line; at or below an upper line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dmc.nutrition.references import BMI, HFA, Lookup, Reference, Scheme


@dataclass(frozen=True)
class Band:
    key: str
    th: str
    en: str
    at_risk: bool


WEIGHT_BANDS = (
    Band("wasted", "ผอม", "Wasted", True),
    Band("rather_thin", "ค่อนข้างผอม", "Rather thin", False),
    Band("proportionate", "สมส่วน", "Proportionate", False),
    Band("plump", "ท้วม", "Plump", False),
    Band("overweight", "เริ่มอ้วน", "Overweight", True),
    Band("obese", "อ้วน", "Obese", True),
)
HEIGHT_BANDS = (
    Band("stunted", "เตี้ย", "Stunted", True),
    Band("rather_short", "ค่อนข้างเตี้ย", "Rather short", False),
    Band("normal_height", "สูงตามเกณฑ์", "Normal height", False),
    Band("rather_tall", "ค่อนข้างสูง", "Rather tall", False),
    Band("tall", "สูง", "Tall", False),
)
NOT_CLASSIFIED = Band("not_classified", "จำแนกไม่ได้", "Not classified", False)
BANDS = {b.key: b for b in (*WEIGHT_BANDS, *HEIGHT_BANDS, NOT_CLASSIFIED)}

# WHO's flags for implausible z-scores
Z_LIMITS = {HFA: 6.0, "wfh": 5.0, BMI: 5.0}
# the L3 plausibility limits (research dmc-domain §13)
HEIGHT_LIMITS = (Decimal(45), Decimal(200))
WEIGHT_LIMITS = (Decimal(8), Decimal(150))
BMI_LIMITS = (Decimal(8), Decimal(60))
TWO = Decimal("0.01")


def round_z(z: float) -> Decimal:
    return Decimal(repr(z)).quantize(TWO, rounding=ROUND_HALF_UP)


def band_of_z(z: Decimal, bands: tuple[Band, ...]) -> Band:
    """The band of a rounded z-score (see the module docstring for the boundaries)."""
    if z < -2:
        return bands[0]
    if z < Decimal("-1.5"):
        return bands[1]
    if z <= Decimal("1.5"):
        return bands[2]
    if z <= 2:
        return bands[3]
    if len(bands) == 5 or z <= 3:
        return bands[4]
    return bands[5]


def band_of_value(y: float, cutoffs: tuple[float, ...], bands: tuple[Band, ...]) -> Band:
    """The band of a measure against cut-off values at -2, -1.5, +1.5, +2[, +3] SD."""
    if y < cutoffs[0]:
        return bands[0]
    if y < cutoffs[1]:
        return bands[1]
    if y <= cutoffs[2]:
        return bands[2]
    if y <= cutoffs[3]:
        return bands[3]
    if len(bands) == 5 or y <= cutoffs[4]:
        return bands[4]
    return bands[5]


@dataclass(frozen=True)
class Measure:
    """One indicator's answer: the band, the z-score when the reference gives one, or why not."""

    indicator: str
    band: Band
    z: Decimal | None = None
    reason_th: str = ""
    reason_en: str = ""


@dataclass(frozen=True)
class Result:
    """A child's nutritional status and the reference (name + version) it was measured with."""

    age_days: int | None
    reference: str  # "WHO 2007 2007", "Thai DoH 2564-example", or "" when none applied
    reference_example: bool
    weight: Measure
    height: Measure

    @property
    def at_risk(self) -> bool:
        return self.weight.band.at_risk or self.height.band.at_risk

    @property
    def classified(self) -> bool:
        return NOT_CLASSIFIED not in (self.weight.band, self.height.band)


def _not(indicator: str, th: str, en: str) -> Measure:
    return Measure(indicator, NOT_CLASSIFIED, None, th, en)


def age_in_days(birth_date: dt.date, as_of: dt.date) -> int:
    return (as_of - birth_date).days


def _measure(
    ref: Reference, indicator: str, sex: str, age_days: int, y: float, height: float
) -> Measure:
    bands = HEIGHT_BANDS if indicator == HFA else WEIGHT_BANDS
    found: Lookup = ref.lookup(indicator, sex, age_days, y, height)
    if found.reason is not None:
        return _not(indicator, *found.reason)
    if found.cutoffs is not None:
        return Measure(indicator, band_of_value(y, found.cutoffs, bands))
    assert found.z is not None
    z = round_z(found.z)
    limit = Z_LIMITS[indicator]
    if abs(z) > Decimal(repr(limit)):
        return _not(
            indicator,
            f"ค่า z = {z} เกิน ±{limit:g} SD: น่าจะบันทึกน้ำหนักหรือส่วนสูงผิด",
            f"z = {z} is beyond ±{limit:g} SD: the weight or height is probably mistyped",
        )
    return Measure(indicator, band_of_z(z, bands), z)


def classify(
    *,
    sex: str,
    birth_date: dt.date | None,
    as_of: dt.date,
    weight_kg: Decimal | None,
    height_cm: Decimal | None,
    scheme: Scheme,
) -> Result:
    """Classify one child at ``as_of`` (the round's as-of date). Never raises for bad data: a
    missing or implausible measure, or an age no reference covers, gives "not classified" with
    the reason."""
    if birth_date is None or birth_date >= as_of:
        reason = ("ไม่มีวันเกิด หรือวันเกิดไม่ถูกต้อง", "no valid birth date")
        return Result(None, "", False, _not("weight", *reason), _not(HFA, *reason))
    age = age_in_days(birth_date, as_of)
    ref = scheme.for_age(age)
    if ref is None:
        reason = (
            f"อายุ {age // 365} ปี อยู่นอกช่วงของเกณฑ์อ้างอิง {scheme.label_th}",
            f"age {age // 365} years is outside the reference {scheme.label_en}",
        )
        return Result(age, "", False, _not("weight", *reason), _not(HFA, *reason))
    weight_ind = ref.weight_indicator
    problems: dict[str, tuple[str, str]] = {}
    if height_cm is None:
        problems["h"] = ("ไม่มีส่วนสูง", "height missing")
    elif not HEIGHT_LIMITS[0] <= height_cm <= HEIGHT_LIMITS[1]:
        problems["h"] = (
            f"ส่วนสูง {height_cm} ซม. ผิดปกติ (ต้องอยู่ระหว่าง 45-200)",
            f"height {height_cm} cm is implausible (45-200)",
        )
    if weight_kg is None:
        problems["w"] = ("ไม่มีน้ำหนัก", "weight missing")
    elif not WEIGHT_LIMITS[0] <= weight_kg <= WEIGHT_LIMITS[1]:
        problems["w"] = (
            f"น้ำหนัก {weight_kg} กก. ผิดปกติ (ต้องอยู่ระหว่าง 8-150)",
            f"weight {weight_kg} kg is implausible (8-150)",
        )
    if not problems and height_cm is not None and weight_kg is not None:
        bmi = weight_kg / (height_cm / 100) ** 2
        if not BMI_LIMITS[0] <= bmi <= BMI_LIMITS[1]:
            problems["w"] = (
                f"ดัชนีมวลกาย {bmi:.1f} ผิดปกติ (ต้องอยู่ระหว่าง 8-60)",
                f"BMI {bmi:.1f} is implausible (8-60)",
            )
    if "h" in problems:
        height = _not(HFA, *problems["h"])
    else:
        assert height_cm is not None
        height = _measure(ref, HFA, sex, age, float(height_cm), float(height_cm))
    if "w" in problems or "h" in problems:
        weight = _not(weight_ind, *(problems.get("w") or problems["h"]))
    else:
        assert weight_kg is not None and height_cm is not None
        h = float(height_cm)
        y = float(weight_kg) if weight_ind != BMI else float(weight_kg) / (h / 100) ** 2
        weight = _measure(ref, weight_ind, sex, age, y, h)
    return Result(age, ref.key, ref.example, weight, height)
