"""Public statistics per area and round in DMC's ``restpublicstat`` shape (SPEC §8).

DMC publishes ``{success, data: [...]}`` per area and round, one row per school with, for every
level อ.1 … ปวช.3, the keys ``"<level> ชาย"``, ``"<level> หญิง"`` and ``"<level> ห้อง"``, and a
total row last (consumers skip it). We keep that shape (the Thai keys ``รหัสเขต`` and
``รหัสโรงเรียน`` too) and add ``schoolCode``/``schoolName`` and a few fields that say what the
numbers are.

Counts are never live data:

* a closed round (one with a CLOSE snapshot) publishes the official counts: for each school in
  the close snapshot, the CONFIRM snapshot it sealed (matched by its hash) — ``source: "close"``;
* otherwise the schools that have confirmed (and not cancelled) publish their confirm snapshot's
  counts, provisionally — ``source: "confirm"``; schools that have not confirmed are listed in
  ``missing`` with no numbers.

Head counts are the officially counted students (D4: ages 4–20). Rooms are the school's rooms
per grade at confirmation.

Small cells are suppressed: a count of 1–4 (never 0) becomes ``null``, and when a level×sex
column has exactly one suppressed school cell while its total is shown, the next smallest
non-zero cell of that column is suppressed too, so the total cannot give the small one away.
Totals of 1–4 are suppressed the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from dmc.core.codes import GRADES
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.rounds.models import Round, SchoolRound, Snapshot
from dmc.schools.models import AreaOffice, School

SMALL = range(1, 5)  # 1..4 children: suppressed
LEVELS: list[tuple[str, str]] = [(e["code"], e["th"]) for e in GRADES]  # ("01", "อ.1") …
SEXES = (("cM", "ชาย"), ("cF", "หญิง"))
COUNT_KEYS = [f"{label} {sex}" for _, label in LEVELS for _, sex in SEXES]

SOURCE_NOTES = {
    "close": (
        "ข้อมูลทางการ จากข้อมูลที่โรงเรียนยืนยันไว้ ณ วันปิดรอบ",
        "Official: the schools' confirmed data sealed when the round closed",
    ),
    "confirm": (
        "ข้อมูลเบื้องต้น รอบยังไม่ปิด แสดงเฉพาะโรงเรียนที่ยืนยันข้อมูลแล้ว อาจเปลี่ยนแปลงได้",
        "Provisional: the round is not closed; only schools that have confirmed are shown and"
        " the numbers may still change",
    ),
}
SUPPRESSION_NOTE = (
    "ช่องที่มีนักเรียน 1–4 คน และช่องที่อาจใช้คำนวณย้อนกลับจากยอดรวมได้ แสดงเป็น null"
    " เพื่อคุ้มครองข้อมูลส่วนบุคคล นับเฉพาะนักเรียนอายุ 4–20 ปี",
    "Cells of 1–4 students, and cells that would let one be worked out from the totals, are"
    " null to protect personal data. Only students aged 4–20 are counted",
)


def _official_snapshots(r: Round, schools: list[School]) -> tuple[str, dict[int, Snapshot]]:
    """(source, school id -> the confirm snapshot whose counts are published)."""
    by_code = {s.smis_code: s for s in schools}
    close = Snapshot.objects.filter(round=r, kind=Snapshot.Kind.CLOSE).order_by("-taken_at").first()
    if close is not None:
        sealed = {
            row[0]: row[1]
            for row in close.totals.get("schools", [])
            if isinstance(row, list) and len(row) >= 2 and row[0] in by_code
        }
        found: dict[int, Snapshot] = {}
        for snap in Snapshot.objects.filter(
            round=r,
            kind=Snapshot.Kind.CONFIRM,
            school__in=[by_code[code] for code in sealed],
            sha256__in=list(sealed.values()),
        ).select_related("school"):
            assert snap.school is not None
            if sealed.get(snap.school.smis_code) == snap.sha256:
                found[snap.school.pk] = snap
        return "close", found
    confirmed = SchoolRound.objects.filter(
        round=r,
        school__in=schools,
        confirmed_at__isnull=False,
        snapshot__isnull=False,
        snapshot__cancelled_at__isnull=True,
    ).select_related("snapshot")
    return "confirm", {sr.school_id: sr.snapshot for sr in confirmed if sr.snapshot is not None}


def _counts(snapshot: Snapshot) -> dict[str, int]:
    out: dict[str, int] = {}
    totals = snapshot.totals or {}
    for code, label in LEVELS:
        cell = totals.get(code) or {}
        for key, sex in SEXES:
            out[f"{label} {sex}"] = int(cell.get(key, 0))
        out[f"{label} ห้อง"] = int(cell.get("rooms", 0))
    return out


def suppress(
    rows: list[dict[str, Any]], totals: dict[str, Any], keys: Sequence[str] = COUNT_KEYS
) -> int:
    """Null the small cells of ``rows`` and ``totals`` in place (primary 1–4, then one
    complementary cell per column where the total would reveal a lone small cell); returns how
    many cells were suppressed. ``keys`` are the columns (the report tables pass theirs)."""
    hidden = 0
    for key in keys:
        small = [row for row in rows if row[key] in SMALL]
        total_small = totals[key] in SMALL
        if len(small) == 1 and not total_small:
            others = [row for row in rows if row[key] is not None and row[key] > 4]
            if others:
                small.append(min(others, key=lambda row: row[key]))
        for row in small:
            row[key] = None
            hidden += 1
        if total_small:
            totals[key] = None
            hidden += 1
    return hidden


def public_stats(*, area_code: str, year: int, round_no: int) -> dict[str, Any]:
    """The area's statistics for one round. Raises NOT_FOUND (404) for an unknown area and
    ROUND_NOT_FOUND (404) for an unknown year/round."""
    area = AreaOffice.objects.filter(code=area_code).first()
    if area is None:
        raise not_found()
    r = (
        Round.objects.select_related("academic_year")
        .filter(academic_year__year=year, number=round_no)
        .first()
    )
    if r is None:
        raise DmcError(ErrorCode.ROUND_NOT_FOUND, http_status=404, year=year)
    schools = list(School.objects.filter(area=area).order_by("smis_code"))
    source, snapshots = _official_snapshots(r, schools)

    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    totals: dict[str, Any] = dict.fromkeys(COUNT_KEYS, 0)
    totals.update({f"{label} ห้อง": 0 for _, label in LEVELS})
    for school in schools:
        snap = snapshots.get(school.pk)
        if snap is None:
            missing.append(school.smis_code)
            continue
        counts = _counts(snap)
        for key, value in counts.items():
            totals[key] += value
        rows.append(
            {
                "รหัสเขต": area.code,
                "รหัสโรงเรียน": school.smis_code,
                "schoolCode": school.smis_code,
                "schoolName": school.name,
                **counts,
            }
        )
    suppressed = suppress(rows, totals)
    total_row = {
        "รหัสเขต": area.code,
        "รหัสโรงเรียน": "",
        "schoolCode": "",
        "schoolName": "รวม",
        **totals,
    }
    return {
        "success": True,
        "area": area.code,
        "areaName": area.name,
        "year": year,
        "round": round_no,
        "asOf": r.as_of_date.isoformat() if r.as_of_date else None,
        "source": source,
        "official": source == "close",
        "sourceNote": SOURCE_NOTES[source][0],
        "sourceNoteEn": SOURCE_NOTES[source][1],
        "note": SUPPRESSION_NOTE[0],
        "noteEn": SUPPRESSION_NOTE[1],
        "suppressedCells": suppressed,
        "levels": [label for _, label in LEVELS],
        "schools": len(rows),
        "missing": missing,
        "data": [*rows, total_row],
        "totals": totals,
    }


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def render(payload: dict[str, Any]) -> bytes:
    """Canonical JSON bytes (the ETag is a hash of exactly these)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
