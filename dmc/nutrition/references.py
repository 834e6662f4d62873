"""Growth references: versioned, pluggable, loaded from data files (SPEC §9.1).

Two kinds of file, both documented in ``docs/nutrition.md``:

* ``dmc-growth-reference/1`` (JSON): LMS tables (WHO 2006 under 5, WHO 2007 5-19). A measure
  ``y`` at ``x`` gives ``z = ((y/M)**L - 1) / (L*S)`` (``ln(y/M)/S`` when ``L == 0``).
* ``dmc-growth-cutoffs/1`` (CSV): cut-off tables as the Thai Department of Health publishes them
  (the measure at -2, -1.5, +1.5, +2 and +3 SD for each age or height). A measure is banded by
  comparing it with the cut-offs directly; no z-score is produced.

A *scheme* is an ordered list of references; each child is measured against the first one
whose age range covers them, and the result names the reference (name + version) it used.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import itertools
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings

from dmc.core.errors import DmcError, ErrorCode

DATA_DIR = Path(__file__).resolve().parent / "data"
LMS_FORMAT = "dmc-growth-reference/1"
CUTOFF_FORMAT = "dmc-growth-cutoffs/1"
DAYS_PER_MONTH = 30.4375  # WHO: 365.25 / 12

# indicators: height-for-age, weight-for-height, BMI-for-age
HFA, WFH, BMI = "hfa", "wfh", "bmi"
# the x axis of an indicator's table
AGE_DAYS, AGE_MONTHS, HEIGHT_CM = "age_days", "age_months", "height_cm"
# cut-off columns of a DoH file, lowest first
CUTOFF_COLUMNS = ("sd_m2", "sd_m1_5", "sd_p1_5", "sd_p2", "sd_p3")


@dataclass(frozen=True)
class Lookup:
    """What a reference says about one measure: a z-score (LMS) or the cut-offs (DoH)."""

    z: float | None = None
    cutoffs: tuple[float, ...] | None = None  # measure values at -2, -1.5, +1.5, +2[, +3] SD
    reason: tuple[str, str] | None = None  # (thai, english) when the reference cannot say


@dataclass
class Reference:
    """One versioned reference: which ages it covers and how it answers each indicator."""

    name: str
    version: str
    kind: str  # "lms" | "cutoffs"
    label_th: str
    label_en: str
    source: str
    example: bool
    min_age_days: int
    max_age_days: int  # inclusive
    weight_indicator: str  # WFH or BMI
    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name} {self.version}"

    def covers(self, age_days: int) -> bool:
        return self.min_age_days <= age_days <= self.max_age_days

    def lookup(self, indicator: str, sex: str, age_days: int, y: float, height: float) -> Lookup:
        table = self.tables[indicator]
        if table.x_kind == HEIGHT_CM:
            x = height
        elif table.x_kind == AGE_DAYS:
            x = float(age_days)
        else:
            x = age_days / DAYS_PER_MONTH
        return table.lookup(sex, x, y)


@dataclass
class Table:
    """One indicator of one reference: per sex, rows sorted by x."""

    indicator: str
    x_kind: str
    kind: str  # "lms" | "cutoffs"
    xs: dict[str, list[float]]
    values: dict[str, list[tuple[float, ...]]]

    def range(self, sex: str) -> tuple[float, float]:
        return self.xs[sex][0], self.xs[sex][-1]

    def _row(self, sex: str, x: float) -> tuple[float, ...] | None:
        """The row at x, linearly interpolated between the two rows around it."""
        xs = self.xs[sex]
        if not xs or x < xs[0] - 1e-9 or x > xs[-1] + 1e-9:
            return None
        i = bisect.bisect_left(xs, x)
        if i < len(xs) and abs(xs[i] - x) < 1e-9:
            return self.values[sex][i]
        lo, hi = xs[i - 1], xs[i]
        t = (x - lo) / (hi - lo)
        a, b = self.values[sex][i - 1], self.values[sex][i]
        return tuple(p + (q - p) * t for p, q in zip(a, b, strict=True))

    def lookup(self, sex: str, x: float, y: float) -> Lookup:
        row = self._row(sex, x)
        if row is None:
            lo, hi = self.range(sex)
            what_th, what_en = {
                HEIGHT_CM: ("ส่วนสูง", "height"),
                AGE_DAYS: ("อายุ (วัน)", "age (days)"),
                AGE_MONTHS: ("อายุ (เดือน)", "age (months)"),
            }[self.x_kind]
            return Lookup(
                reason=(
                    f"{what_th} {x:g} อยู่นอกช่วงของเกณฑ์อ้างอิง ({lo:g}-{hi:g})",
                    f"{what_en} {x:g} is outside the reference's range ({lo:g}-{hi:g})",
                )
            )
        if self.kind == "cutoffs":
            return Lookup(cutoffs=row)
        return Lookup(z=lms_z(y, *row, restricted=self.indicator != HFA))


def lms_z(y: float, l: float, m: float, s: float, *, restricted: bool = False) -> float:  # noqa: E741
    """The LMS z-score; ``restricted`` applies WHO's rule beyond +/-3 SD for weight-based
    indicators (the distance past 3 SD is measured in units of the 2-3 SD interval)."""

    def at(z: float) -> float:
        return m * math.exp(s * z) if l == 0 else m * (1 + l * s * z) ** (1 / l)

    z = math.log(y / m) / s if l == 0 else ((y / m) ** l - 1) / (l * s)
    if restricted and z > 3:
        sd3, sd2 = at(3), at(2)
        z = 3 + (y - sd3) / (sd3 - sd2)
    elif restricted and z < -3:
        sd3, sd2 = at(-3), at(-2)
        z = -3 + (y - sd3) / (sd2 - sd3)
    return z


# --- loading -------------------------------------------------------------------------------------


def _invalid(source: str, line: int | str, reason_th: str, reason_en: str) -> DmcError:
    return DmcError(
        ErrorCode.NUTRITION_REFERENCE_INVALID,
        http_status=400,
        source=source,
        line=line,
        reason_th=reason_th,
        reason_en=reason_en,
    )


def load_lms(path: Path) -> Reference:
    """A ``dmc-growth-reference/1`` JSON file (the shipped WHO tables)."""
    src = path.name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _invalid(src, "-", "อ่านไฟล์ JSON ไม่ได้", f"not readable JSON ({exc})") from exc
    if doc.get("format") != LMS_FORMAT:
        raise _invalid(src, "format", f"ต้องเป็น {LMS_FORMAT}", f"format must be {LMS_FORMAT}")
    tables: dict[str, Table] = {}
    for name, ind in doc["indicators"].items():
        xs: dict[str, list[float]] = {}
        vals: dict[str, list[tuple[float, ...]]] = {}
        for sex, rows in ind["rows"].items():
            xs[sex] = [float(r[0]) for r in rows]
            vals[sex] = [(float(r[1]), float(r[2]), float(r[3])) for r in rows]
        tables[name] = Table(name, ind["x"], "lms", xs, vals)
    age_table = tables[HFA]
    lo, hi = age_table.range("M")
    if age_table.x_kind == AGE_MONTHS:
        min_days, max_days = math.ceil(lo * DAYS_PER_MONTH), math.floor(hi * DAYS_PER_MONTH)
    else:
        min_days, max_days = int(lo), int(hi)
    return Reference(
        name=doc["name"],
        version=str(doc["version"]),
        kind="lms",
        label_th=doc.get("label_th", doc["name"]),
        label_en=doc.get("label_en", doc["name"]),
        source=doc.get("source", ""),
        example=bool(doc.get("example", False)),
        min_age_days=min_days,
        max_age_days=max_days,
        weight_indicator=WFH if WFH in tables else BMI,
        tables=tables,
    )


def _number(text: str, src: str, line: int, column: str) -> float:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise _invalid(
            src,
            line,
            f"คอลัมน์ {column}: '{text}' ไม่ใช่ตัวเลข",
            f"column {column}: '{text}' is not a number",
        ) from exc
    if not value.is_finite():
        raise _invalid(src, line, f"คอลัมน์ {column}: ต้องเป็นตัวเลข", f"column {column}: not finite")
    return float(value)


REQUIRED_HEADERS = ("name", "version", "ages_months")


def parse_cutoffs(text: str, src: str = "file") -> Reference:
    """A ``dmc-growth-cutoffs/1`` CSV (the Thai DoH reference). Refuses anything malformed with
    ``NUTRITION_REFERENCE_INVALID`` naming the line and what to fix."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != f"# {CUTOFF_FORMAT}":
        raise _invalid(
            src,
            1,
            f"บรรทัดแรกต้องเป็น '# {CUTOFF_FORMAT}'",
            f"the first line must be '# {CUTOFF_FORMAT}'",
        )
    meta: dict[str, str] = {}
    body_start = len(lines)
    for i, raw in enumerate(lines[1:], start=2):
        if not raw.startswith("#"):
            body_start = i - 1
            break
        key, sep, value = raw[1:].partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    for key in REQUIRED_HEADERS:
        if not meta.get(key):
            raise _invalid(
                src,
                "header",
                f"ไม่มีบรรทัดหัวไฟล์ '# {key}: ...'",
                f"missing the header line '# {key}: ...'",
            )
    ages = meta["ages_months"].split("-")
    try:
        min_m, max_m = int(ages[0]), int(ages[1])
        if not 0 <= min_m < max_m <= 240:
            raise ValueError
    except (ValueError, IndexError) as exc:
        raise _invalid(
            src,
            "ages_months",
            "ages_months ต้องเป็นช่วงเดือน เช่น 72-228",
            "ages_months must be a month range such as 72-228",
        ) from exc
    reader = csv.reader(io.StringIO("\n".join(lines[body_start:])))
    header = next(reader, None)
    expected = ["indicator", "sex", "x", *CUTOFF_COLUMNS]
    if header is None or [h.strip() for h in header] != expected:
        raise _invalid(
            src,
            body_start + 1,
            "หัวตารางต้องเป็น " + ",".join(expected),
            "the column header must be " + ",".join(expected),
        )
    xs: dict[str, dict[str, list[float]]] = {HFA: {}, WFH: {}}
    vals: dict[str, dict[str, list[tuple[float, ...]]]] = {HFA: {}, WFH: {}}
    for n, row in enumerate(reader, start=body_start + 2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(expected):
            raise _invalid(
                src,
                n,
                f"ต้องมี {len(expected)} คอลัมน์ (พบ {len(row)})",
                f"expected {len(expected)} columns (found {len(row)})",
            )
        indicator, sex = row[0].strip(), row[1].strip()
        if indicator not in (HFA, WFH):
            raise _invalid(
                src,
                n,
                f"ตัวชี้วัด '{indicator}' ไม่รู้จัก (ใช้ hfa หรือ wfh)",
                f"unknown indicator '{indicator}' (use hfa or wfh)",
            )
        if sex not in ("M", "F"):
            raise _invalid(src, n, f"เพศ '{sex}' ต้องเป็น M หรือ F", f"sex '{sex}' must be M or F")
        x = _number(row[2], src, n, "x")
        cells = [c.strip() for c in row[3:]]
        if indicator == HFA:
            if cells[4]:
                raise _invalid(
                    src,
                    n,
                    "ส่วนสูงตามอายุไม่มีเกณฑ์ +3 SD: เว้นคอลัมน์ sd_p3 ว่าง",
                    "height-for-age has no +3 SD line: leave sd_p3 empty",
                )
            cells = cells[:4]
        cuts = tuple(_number(c, src, n, col) for c, col in zip(cells, CUTOFF_COLUMNS, strict=False))
        if any(b <= a for a, b in itertools.pairwise(cuts)) or cuts[0] <= 0:
            raise _invalid(
                src,
                n,
                "ค่าเกณฑ์ต้องเป็นบวกและเพิ่มขึ้นจาก -2 SD ไปหา +SD",
                "the cut-offs must be positive and increase from -2 SD upwards",
            )
        seen = xs[indicator].setdefault(sex, [])
        if seen and x <= seen[-1]:
            raise _invalid(
                src,
                n,
                f"ค่า x ต้องเรียงจากน้อยไปมากและไม่ซ้ำภายใน {indicator}/{sex}",
                f"x must increase strictly within {indicator}/{sex}",
            )
        seen.append(x)
        vals[indicator].setdefault(sex, []).append(cuts)
    for indicator in (HFA, WFH):
        for sex in ("M", "F"):
            if len(xs[indicator].get(sex, [])) < 2:
                raise _invalid(
                    src,
                    "-",
                    f"ไม่มีตาราง {indicator} ของเพศ {sex} (ต้องมีอย่างน้อย 2 แถว)",
                    f"no {indicator} table for sex {sex} (at least 2 rows needed)",
                )
    return Reference(
        name=meta["name"],
        version=meta["version"],
        kind="cutoffs",
        label_th=meta.get("label_th", meta["name"]),
        label_en=meta.get("label_en", meta["name"]),
        source=meta.get("source", ""),
        example=meta.get("example", "").lower() in ("true", "yes", "1"),
        min_age_days=math.ceil(min_m * DAYS_PER_MONTH),
        max_age_days=math.floor((max_m + 1) * DAYS_PER_MONTH) - 1,
        weight_indicator=WFH,
        tables={
            HFA: Table(HFA, AGE_MONTHS, "cutoffs", xs[HFA], vals[HFA]),
            WFH: Table(WFH, HEIGHT_CM, "cutoffs", xs[WFH], vals[WFH]),
        },
    )


def load_cutoffs(path: Path) -> Reference:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _invalid(
            path.name, "-", "อ่านไฟล์ไม่ได้ (ต้องเป็น UTF-8)", f"not readable as UTF-8 ({exc})"
        ) from exc
    return parse_cutoffs(text, path.name)


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheme:
    """A selectable choice: references tried in order by the child's age."""

    key: str
    label_th: str
    label_en: str
    references: tuple[Reference, ...]

    def for_age(self, age_days: int) -> Reference | None:
        for ref in self.references:
            if ref.covers(age_days):
                return ref
        return None

    @property
    def example(self) -> bool:
        return any(r.example for r in self.references)


def _extra_dirs() -> list[Path]:
    extra = getattr(settings, "DMC_NUTRITION_DIR", "") or ""
    return [Path(extra)] if extra else []


@functools.cache
def schemes() -> dict[str, Scheme]:
    """Every scheme: ``who`` (WHO 2006 under 61 months, WHO 2007 to 19 years) and one per DoH
    cut-off file found (``doh-…``: the file for its ages, WHO for the rest)."""
    who06 = load_lms(DATA_DIR / "who-2006.json")
    who07 = load_lms(DATA_DIR / "who-2007.json")
    out = {"who": Scheme("who", "องค์การอนามัยโลก (WHO 2006/2007)", "WHO 2006/2007", (who06, who07))}
    for folder in [DATA_DIR, *_extra_dirs()]:
        for path in sorted(folder.glob("*.csv")):
            ref = load_cutoffs(path)
            key = "doh-" + path.stem.removeprefix("doh-")
            suffix_th = " (ตัวเลขตัวอย่าง)" if ref.example else ""
            suffix_en = " (example figures)" if ref.example else ""
            out[key] = Scheme(
                key,
                f"{ref.label_th} {ref.version}{suffix_th} + WHO",
                f"{ref.label_en} {ref.version}{suffix_en} + WHO",
                (ref, who06, who07),
            )
    return out


def default_scheme() -> str:
    wanted = getattr(settings, "DMC_NUTRITION_REFERENCE", "") or "who"
    return wanted if wanted in schemes() else "who"


def scheme(key: str | None) -> Scheme:
    found = schemes().get(key or default_scheme())
    if found is None:
        raise DmcError(
            ErrorCode.NUTRITION_REFERENCE_UNKNOWN,
            http_status=400,
            key=key or "",
            known=", ".join(schemes()),
        )
    return found


def describe(ref: Reference) -> dict[str, Any]:
    return {
        "name": ref.name,
        "version": ref.version,
        "kind": ref.kind,
        "example": ref.example,
        "source": ref.source,
    }
