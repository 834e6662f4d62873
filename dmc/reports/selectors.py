"""Scoped report reads: totals (school / area / nation, live or sealed) with their breakdowns and
drill-down lists, confirmation progress, dropouts, disadvantaged students, and five years.

Numbers shown are the counted students (D4: aged 4-20) by sex, the rooms, and the students the
age rule leaves out (``excluded``) as their own column. Area and national totals come from the
roll-up (``rollup.area_cells``); a school's from its stats row or its sealed confirm snapshot;
the drill-down lists read the same source (enrolments live, ``SnapshotRow`` sealed), so a list
always has as many students as the number it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.codes import CODES, GRADES
from dmc.core.errors import DmcError, ErrorCode, not_found, not_in_scope
from dmc.core.i18n import tr
from dmc.reports import rollup
from dmc.reports.models import LIVE, SchoolShare
from dmc.rounds import selectors as round_selectors
from dmc.rounds.models import Round, SchoolRound, SchoolYearStats, Snapshot, SnapshotRow
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.students.models import Enrolment, Person

GRADE_ORDER = [e["code"] for e in GRADES]
SEXES = ("M", "F")
KINDS = ("counted", "excluded", "all")
DRILL_LIMIT = 2000  # rows shown on a page (the XLSX has them all)


# --- where the numbers come from ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """``live`` (current data) or the sealed confirm snapshots of one round."""

    year: int
    round: Round | None = None

    @property
    def key(self) -> int:
        return LIVE if self.round is None else self.round.pk

    @property
    def param(self) -> str:
        return "live" if self.round is None else str(self.round.number)

    @property
    def official(self) -> bool:
        return self.round is not None and self.round.closed_at is not None

    def label(self) -> str:
        if self.round is None:
            return tr("ข้อมูลปัจจุบัน (ยังไม่ยืนยัน)", "Current data (not confirmed)")
        if self.official:
            return tr(
                f"ข้อมูลที่ยืนยันแล้ว ระยะที่ {self.round.number} (ปิดรอบแล้ว ข้อมูลทางการ)",
                f"Confirmed data, round {self.round.number} (closed: official)",
            )
        return tr(
            f"ข้อมูลที่ยืนยันแล้ว ระยะที่ {self.round.number} (เฉพาะโรงเรียนที่ยืนยันแล้ว)",
            f"Confirmed data, round {self.round.number} (schools that confirmed so far)",
        )


def source_of(year: int | str | None, src: str | None) -> Source:
    """Parse ``year`` (BE) and ``src`` ("live" or a round number 1-3). Raises VALIDATION (400)
    for malformed values and ROUND_NOT_FOUND (404) for a round that does not exist."""
    now = clock.now()
    if year in (None, ""):
        y = round_selectors.current_year(now)
        if y is None:
            raise DmcError(ErrorCode.ROUND_NOT_FOUND, http_status=404, year="-")
    else:
        text = str(year)
        if not text.isdigit() or not 2400 <= int(text) <= 2700:
            raise _bad("year", tr("ปีการศึกษาเป็นพุทธศักราช 4 หลัก", "academic year: 4-digit BE"))
        y = int(text)
    if src in (None, "", "live"):
        return Source(y)
    if src not in ("1", "2", "3"):
        raise _bad("src", tr("live หรือเลขระยะ 1–3", "live or a round number 1-3"))
    r = (
        Round.objects.select_related("academic_year")
        .filter(academic_year__year=y, number=int(src))
        .first()
    )
    if r is None:
        raise DmcError(ErrorCode.ROUND_NOT_FOUND, http_status=404, year=y)
    return Source(y, r)


def _bad(name: str, hint: str) -> DmcError:
    err = DmcError(ErrorCode.VALIDATION, http_status=400)
    err.fields = {name: [hint]}
    return err


# --- the table ------------------------------------------------------------------------------------


@dataclass
class Line:
    key: str  # grade code, or a school / area code in a breakdown
    label: str
    m: int = 0  # all active students, male
    f: int = 0
    cm: int = 0  # counted (D4), male
    cf: int = 0
    rooms: int = 0
    link: str = ""
    hidden: set[str] = field(default_factory=set)  # suppressed cells ("cm", "cf", "counted", ...)

    def add(self, v: Sequence[int]) -> None:
        self.m += v[0]
        self.f += v[1]
        self.cm += v[2]
        self.cf += v[3]
        self.rooms += v[4]

    @property
    def counted(self) -> int:
        return self.cm + self.cf

    @property
    def excluded(self) -> int:
        return self.m + self.f - self.counted

    @property
    def students(self) -> int:
        return self.m + self.f

    def value(self, name: str) -> int | None:
        if name in self.hidden:
            return None
        return int(getattr(self, name))


COLUMNS = ("cm", "cf", "counted", "rooms", "excluded")
DRILL = {
    "cm": ("M", "counted"),
    "cf": ("F", "counted"),
    "counted": ("", "counted"),
    "excluded": ("", "excluded"),
}


def column_headers() -> list[str]:
    return [
        tr("ชาย", "Male"),
        tr("หญิง", "Female"),
        tr("รวม", "Total"),
        tr("ห้องเรียน", "Rooms"),
        tr("ไม่นับตามเกณฑ์อายุ (ต่ำกว่า 4 / เกิน 20 ปี)", "Not counted (under 4 / over 20)"),
    ]


@dataclass
class Totals:
    scope: str  # "school" | "area" | "nation"
    code: str
    name: str
    source: Source
    lines: list[Line]  # per grade
    total: Line
    parts: list[Line] = field(default_factory=list)  # per school (area) / per area (nation)
    parts_total: Line | None = None
    missing: list[str] = field(default_factory=list)  # sealed: schools not confirmed
    suppressed: int = 0


def _grade_lines(cells: dict[str, list[int]]) -> tuple[list[Line], Line]:
    lines = []
    total = Line("all", tr("รวมทุกชั้น", "All grades"))
    for code in GRADE_ORDER:
        v = cells.get(code)
        if not v or not any(v):
            continue
        line = Line(code, GRADES.label(code, _lang()))
        line.add(v)
        total.add(v)
        lines.append(line)
    return lines, total


def _lang() -> str:
    from django.utils import translation

    return "en" if (translation.get_language() or "th").startswith("en") else "th"


def _merge(into: dict[str, list[int]], cells: dict[str, list[int]]) -> None:
    for grade, v in cells.items():
        acc = into.setdefault(grade, [0] * rollup.WIDTH)
        for i, x in enumerate(v):
            acc[i] += x


def _school_cells(school: School, source: Source) -> dict[str, list[int]] | None:
    """A school's cells (None: sealed and the school has no confirmed snapshot)."""
    if source.round is None:
        s = SchoolYearStats.objects.filter(school=school, academic_year=source.year).first()
        rooms = dict(
            SchoolGrade.objects.filter(school=school, academic_year=source.year).values_list(
                "grade", "rooms"
            )
        )
        return rollup.cells_from_totals(s.totals if s else {}, rooms)
    snap = _sealed_snapshot(school, source)
    if snap is None:
        return None
    totals = snap.totals or {}
    return rollup.cells_from_totals(totals, {g: int(c.get("rooms", 0)) for g, c in totals.items()})


def _sealed_snapshot(school: School, source: Source) -> Snapshot | None:
    sr = (
        SchoolRound.objects.select_related("snapshot")
        .filter(school=school, round=source.round, confirmed_at__isnull=False)
        .first()
    )
    return sr.snapshot if sr is not None else None


def require_area(actor: Actor, code: str) -> AreaOffice:
    area = AreaOffice.objects.filter(code=code).first()
    if area is None:
        raise not_found()
    if not (actor.is_obec or (actor.is_area and actor.area_id == area.pk)):
        raise not_in_scope()
    return area


def require_school(actor: Actor, smis_code: str) -> School:
    school = School.objects.select_related("area").filter(smis_code=smis_code).first()
    if school is None:
        raise not_found()
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()
    return school


def school_totals(*, actor: Actor, smis_code: str, source: Source) -> Totals:
    school = require_school(actor, smis_code)
    cells = _school_cells(school, source)
    lines, total = _grade_lines(cells or {})
    return Totals(
        "school",
        school.smis_code,
        school.name,
        source,
        lines,
        total,
        missing=[school.smis_code] if cells is None else [],
    )


def area_totals(*, actor: Actor, code: str, source: Source) -> Totals:
    """The area's totals from the roll-up, and each school's from its share (they add up)."""
    area = require_area(actor, code)
    cells: dict[str, list[int]] = {}
    for (_a, grade), v in rollup.area_cells(source.year, source.key, [area.pk]).items():
        cells[grade] = v
    lines, total = _grade_lines(cells)
    schools = list(
        School.objects.filter(area=area)
        .order_by("smis_code")
        .values_list("pk", "smis_code", "name")
    )
    shares = dict(
        SchoolShare.objects.filter(
            academic_year=source.year, round_key=source.key, area_ref=area.pk
        ).values_list("school_id", "cells")
    )
    parts = []
    parts_total = Line("all", tr("รวม", "Total"))
    missing = []
    confirmed: set[int] = set()
    if source.round is not None:
        confirmed = set(
            SchoolRound.objects.filter(
                round=source.round, school__area=area, confirmed_at__isnull=False
            ).values_list("school_id", flat=True)
        )
    for pk, smis, name in schools:
        share = shares.get(pk)
        if source.round is not None and pk not in confirmed:
            missing.append(smis)
            continue
        line = Line(smis, name)
        for v in (share or {}).values():
            line.add(v)
        parts_total.add([line.m, line.f, line.cm, line.cf, line.rooms])
        parts.append(line)
    return Totals("area", area.code, area.name, source, lines, total, parts, parts_total, missing)


def nation_totals(*, actor: Actor, source: Source, public: bool = False) -> Totals:
    """National totals by grade and per area. OBEC sees every number; an area office sees the
    other areas' numbers with small cells suppressed (and ``public`` suppresses for everyone)."""
    if not (actor.is_obec or actor.is_area):
        raise not_in_scope()
    by_area: dict[int, dict[str, list[int]]] = {}
    cells: dict[str, list[int]] = {}
    for (area_id, grade), v in rollup.area_cells(source.year, source.key).items():
        by_area.setdefault(area_id, {})[grade] = v
        _merge(cells, {grade: v})
    lines, total = _grade_lines(cells)
    parts = []
    parts_total = Line("all", tr("รวม", "Total"))
    for pk, code, name in AreaOffice.objects.order_by("code").values_list("pk", "code", "name"):
        line = Line(code, name)
        for v in by_area.get(pk, {}).values():
            line.add(v)
        parts_total.add([line.m, line.f, line.cm, line.cf, line.rooms])
        if not line.students and not line.rooms:
            continue
        parts.append(line)
    t = Totals(
        "nation", "TH", tr("ทั้งประเทศ", "Whole country"), source, lines, total, parts, parts_total
    )
    if public or not actor.is_obec:
        own = None
        if not public and actor.is_area:
            own = (
                AreaOffice.objects.filter(pk=actor.area_id or 0)
                .values_list("code", flat=True)
                .first()
            )
        t.suppressed = suppress_lines([p for p in parts if p.key != own], parts_total)
    return t


def suppress_lines(lines: list[Line], total: Line | None) -> int:
    """Small-cell suppression (1-4) on report lines, by the public statistics' rule
    (``exchange.public.suppress``): marks the cells hidden, returns how many."""
    from dmc.exchange.public import suppress

    keys = ["cm", "cf", "counted", "excluded"]
    rows = [{k: line.value(k) for k in keys} for line in lines]
    totals: dict[str, Any] = {k: total.value(k) if total else 0 for k in keys}
    n = suppress(rows, totals, keys=keys)
    for line, row in zip(lines, rows, strict=True):
        line.hidden |= {k for k in keys if row[k] is None}
    return n


# --- drill-down -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Student:
    enrolment_id: int
    student_no: str
    person_id_masked: str
    name: str
    grade: str
    room: int
    sex: str
    birth_date: dt.date
    counted: bool


def _drill_filters(grade: str, sex: str, kind: str) -> tuple[str, str, str]:
    if grade not in ("", "all") and grade not in GRADE_ORDER:
        raise _bad("grade", tr("รหัสชั้น 01–18 หรือ all", "grade code 01-18 or all"))
    if sex not in ("", "M", "F"):
        raise _bad("sex", tr("M หรือ F", "M or F"))
    if kind not in KINDS:
        raise _bad("kind", tr("counted, excluded หรือ all", "counted, excluded or all"))
    return ("" if grade == "all" else grade), sex, kind


def drill_students(
    *,
    actor: Actor,
    smis_code: str,
    source: Source,
    grade: str = "",
    sex: str = "",
    kind: str = "counted",
    limit: int | None = DRILL_LIMIT,
) -> tuple[School, list[Student], int]:
    """The students behind one number of a school (scoped): (school, rows, how many in all).
    Citizen IDs are masked. Area and OBEC reads of the list, and every full export
    (``limit=None``, the XLSX), are audit-logged (PDPA)."""
    from dmc.core import audit
    from dmc.core.ids import mask_person_id

    school = require_school(actor, smis_code)
    grade, sex, kind = _drill_filters(grade, sex, kind)
    out: list[Student] = []
    if source.round is None:
        qs = Enrolment.objects.filter(
            school=school, academic_year=source.year, status=Enrolment.Status.ACTIVE
        )
        if grade:
            qs = qs.filter(grade=grade)
        if sex:
            qs = qs.filter(person__sex=sex)
        if kind != "all":
            qs = qs.filter(counted=(kind == "counted"))
        n = qs.count()
        qs = qs.select_related("person").order_by("grade", "room", "student_no", "pk")
        for e in qs[:limit] if limit else qs:
            p = e.person
            out.append(
                Student(
                    e.pk,
                    e.student_no,
                    mask_person_id(p.person_id),
                    f"{p.first_name} {p.last_name}",
                    e.grade,
                    e.room,
                    p.sex,
                    p.birth_date,
                    e.counted,
                )
            )
    else:
        snap = _sealed_snapshot(school, source)
        if snap is None:
            return school, [], 0
        rows = SnapshotRow.objects.filter(snapshot=snap)
        if grade:
            rows = rows.filter(grade=grade)
        if sex:
            rows = rows.filter(sex=sex)
        if kind != "all":
            rows = rows.filter(counted=(kind == "counted"))
        n = rows.count()
        picked = list(rows.order_by("grade", "room", "enrolment_id")[:limit] if limit else rows)
        people = Person.objects.in_bulk([r.person_id for r in picked])
        numbers = dict(
            Enrolment.objects.filter(pk__in=[r.enrolment_id for r in picked]).values_list(
                "pk", "student_no"
            )
        )
        for r in picked:
            who = people.get(r.person_id)
            out.append(
                Student(
                    r.enrolment_id,
                    numbers.get(r.enrolment_id, ""),
                    mask_person_id(who.person_id) if who else "",
                    f"{who.first_name} {who.last_name}" if who else "",
                    r.grade,
                    r.room,
                    r.sex,
                    r.birth_date,
                    r.counted,
                )
            )
    exported = limit is None  # the whole list, for a file: an identifiable export
    if exported or not actor.is_school:
        audit.record(
            actor=actor,
            action="report.students_export" if exported else "report.students_read",
            target=school,
            after={
                "year": source.year,
                "source": source.param,
                "grade": grade or "all",
                "sex": sex or "all",
                "kind": kind,
                "rows": n,
            },
            reason=tr("ดูรายชื่อนักเรียนจากรายงานยอดนักเรียน", "Student list from the totals report"),
            school_id=school.pk,
            area_id=school.area_id,
        )
    return school, out, n


def cell_by_school(
    *, actor: Actor, code: str, source: Source, grade: str, sex: str, kind: str
) -> tuple[AreaOffice, list[tuple[str, str, int]], int]:
    """One number of an area broken down by school: (area, [(smis, name, n)], total)."""
    area = require_area(actor, code)
    grade, sex, kind = _drill_filters(grade, sex, kind)
    names = dict(School.objects.filter(area=area).values_list("pk", "smis_code"))
    titles = dict(School.objects.filter(area=area).values_list("smis_code", "name"))
    rows = []
    for school_id, cells in SchoolShare.objects.filter(
        academic_year=source.year, round_key=source.key, area_ref=area.pk
    ).values_list("school_id", "cells"):
        n = sum(_pick(v, sex, kind) for g, v in cells.items() if not grade or g == grade)
        if n and school_id in names:
            rows.append((names[school_id], titles[names[school_id]], n))
    rows.sort()
    return area, rows, sum(r[2] for r in rows)


def cell_by_area(
    *, actor: Actor, source: Source, grade: str, sex: str, kind: str
) -> list[tuple[str, str, int]]:
    """One national number broken down by area (OBEC only)."""
    if not actor.is_obec:
        raise not_in_scope()
    grade, sex, kind = _drill_filters(grade, sex, kind)
    sums: dict[int, int] = {}
    for (area_id, g), v in rollup.area_cells(source.year, source.key).items():
        if not grade or g == grade:
            sums[area_id] = sums.get(area_id, 0) + _pick(v, sex, kind)
    areas = AreaOffice.objects.filter(pk__in=list(sums)).values_list("pk", "code", "name")
    return sorted((code, name, sums[pk]) for pk, code, name in areas if sums[pk])


def _pick(v: Sequence[int], sex: str, kind: str) -> int:
    m, f, cm, cf = v[0], v[1], v[2], v[3]
    if kind == "counted":
        return {"M": cm, "F": cf}.get(sex, cm + cf)
    if kind == "excluded":
        return {"M": m - cm, "F": f - cf}.get(sex, m + f - cm - cf)
    return {"M": m, "F": f}.get(sex, m + f)


# --- confirmation progress ------------------------------------------------------------------------


@dataclass
class Progress:
    round: Round
    rows: list[
        tuple[str, str, int, int, int, int]
    ]  # code, name, schools, confirmed, certified, ack
    total: tuple[int, int, int, int]
    day: dt.date  # the deadline day (local)
    hours: list[tuple[int, int, int]]  # hour 0..24 -> cumulative confirmed, certified by then
    before_day: tuple[int, int]


def progress(*, actor: Actor, round_id: int, area_code: str | None = None) -> Progress:
    """Who confirmed, certified and was acknowledged, per school (an area) or per area (OBEC),
    and how confirmations built up over the deadline day."""
    r = round_selectors.round_get(round_id)
    if actor.is_school:
        raise not_in_scope()
    area = None
    if actor.is_area or area_code:
        area = require_area(actor, area_code or _own_area_code(actor))
    schools = School.objects.all() if area is None else School.objects.filter(area=area)
    srs = SchoolRound.objects.filter(round=r)
    if area is not None:
        srs = srs.filter(school__area=area)
    rows: list[tuple[str, str, int, int, int, int]] = []
    if area is None:
        counts = {
            a: (n, c, ce, ak)
            for a, n, c, ce, ak in schools.values("area_id")
            .annotate(
                n=Count("pk"),
                c=Count("rounds", filter=Q(rounds__round=r, rounds__confirmed_at__isnull=False)),
                ce=Count("rounds", filter=Q(rounds__round=r, rounds__certified_at__isnull=False)),
                ak=Count(
                    "rounds", filter=Q(rounds__round=r, rounds__acknowledged_at__isnull=False)
                ),
            )
            .values_list("area_id", "n", "c", "ce", "ak")
        }
        for pk, code, name in AreaOffice.objects.order_by("code").values_list("pk", "code", "name"):
            if pk in counts:
                rows.append((code, name, *counts[pk]))
    else:
        by_school = {
            sid: (ca, ce, ak)
            for sid, ca, ce, ak in srs.values_list(
                "school_id", "confirmed_at", "certified_at", "acknowledged_at"
            )
        }
        for pk, smis, name in schools.order_by("smis_code").values_list("pk", "smis_code", "name"):
            ca, ce, ak = by_school.get(pk, (None, None, None))
            rows.append(
                (smis, name, 1, int(ca is not None), int(ce is not None), int(ak is not None))
            )
    total = (
        sum(x[2] for x in rows),
        sum(x[3] for x in rows),
        sum(x[4] for x in rows),
        sum(x[5] for x in rows),
    )
    day = clock.local(r.confirm_closes_at).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=clock.BANGKOK)
    hours_c = [0] * 25
    hours_ce = [0] * 25
    before = [0, 0]
    for confirmed, certified in srs.values_list("confirmed_at", "certified_at"):
        for i, stamp in ((0, confirmed), (1, certified)):
            if stamp is None:
                continue
            offset = (stamp - start).total_seconds() / 3600
            if offset < 0:
                before[i] += 1
            elif offset < 24:
                (hours_c if i == 0 else hours_ce)[int(offset) + 1] += 1
    cum: list[tuple[int, int, int]] = []
    n_conf, n_cert = before
    for h in range(25):
        n_conf += hours_c[h]
        n_cert += hours_ce[h]
        cum.append((h, n_conf, n_cert))
    return Progress(r, rows, total, day, cum, (before[0], before[1]))


def _own_area_code(actor: Actor) -> str:
    code = AreaOffice.objects.filter(pk=actor.area_id or 0).values_list("code", flat=True).first()
    if code is None:
        raise not_in_scope()
    return code


# --- dropouts, disadvantaged, five years ----------------------------------------------------------


def _scope_q(actor: Actor) -> Q:
    """Enrolments in the actor's scope."""
    if actor.is_obec:
        return Q()
    if actor.is_area:
        return Q(school__area_id=actor.area_id)
    return Q(school_id=actor.school_id or 0)


def _by_code(
    pairs: Iterable[tuple[str, str, int]], codelist: str
) -> list[tuple[str, str, int, int]]:
    """[(code, sex, n)] -> [(code, label, male, female)] in code-list order."""
    table: dict[str, list[int]] = {}
    for code, sex, n in pairs:
        cell = table.setdefault(code or "", [0, 0])
        cell[0 if sex == "M" else 1] += n
    lang = _lang()
    out = []
    for entry in CODES[codelist]:
        if entry["code"] in table:
            m, f = table.pop(entry["code"])
            out.append((entry["code"], str(entry[lang]), m, f))
    for code, (m, f) in sorted(table.items()):
        out.append((code, code or tr("ไม่ระบุ", "Not given"), m, f))
    return out


def dropouts(*, actor: Actor, year: int) -> list[tuple[str, str, int, int]]:
    """Dropouts (status dropout) of the year by reason and sex, in the actor's scope."""
    qs = Enrolment.objects.filter(
        _scope_q(actor), academic_year=year, status=Enrolment.Status.DROPOUT
    )
    pairs = qs.values_list("dropout_reason", "person__sex").annotate(n=Count("pk"))
    return _by_code(pairs, "dropout_reason")


def disadvantaged(*, actor: Actor, year: int) -> list[tuple[str, str, int, int]]:
    """Active students of the year with a disadvantage category, by category and sex."""
    qs = Enrolment.objects.filter(
        _scope_q(actor), academic_year=year, status=Enrolment.Status.ACTIVE
    ).exclude(person__disadvantaged__in=["", "00"])
    pairs = qs.values_list("person__disadvantaged", "person__sex").annotate(n=Count("pk"))
    return _by_code(pairs, "disadvantaged")


def five_years(*, actor: Actor, year: int) -> list[tuple[int, str, Line]]:
    """Counted students per year for the last five years in the actor's scope: the latest
    closed round's sealed counts where there is one, else the live counts (labelled)."""
    from dmc.rounds.models import AcademicYear

    years = list(
        AcademicYear.objects.filter(year__gt=year - 5, year__lte=year)
        .order_by("year")
        .values_list("year", flat=True)
    )
    closed = {}
    for y, pk, number in (
        Round.objects.filter(academic_year__year__in=years, closed_at__isnull=False)
        .order_by("number")
        .values_list("academic_year__year", "pk", "number")
    ):
        closed[y] = (pk, number)
    out = []
    for y in years:
        key, label = LIVE, tr("ข้อมูลปัจจุบัน", "current data")
        if y in closed:
            key = closed[y][0]
            label = tr(f"ปิดรอบระยะที่ {closed[y][1]}", f"closed round {closed[y][1]}")
        line = Line(str(y), str(y))
        if actor.is_school:
            share = (
                SchoolShare.objects.filter(
                    school_id=actor.school_id or 0, academic_year=y, round_key=key
                )
                .values_list("cells", flat=True)
                .first()
            )
            for v in (share or {}).values():
                line.add(v)
        else:
            areas = None if actor.is_obec else [actor.area_id or 0]
            for v in rollup.area_cells(y, key, areas).values():
                line.add(v)
        out.append((y, label, line))
    return out
