"""Year-end results as a spreadsheet: a prefilled workbook of the school's students to fill in
Excel, and its import (CSV or XLSX, read with the same defences as the student-list import).

Columns are found by their header (Thai or English), so the order does not matter. A row's
result/years go to step 3.2.2, its evaluations to 3.2.2.1 and its destination to 3.2.2.2; the
steps run in that order through ``services.record_step`` (same rules, menu dates and L8 order
as the web grid and the API). Refusals name the spreadsheet row.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.core.codes import CODES, GRADES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import tr
from dmc.core.normalize import clean_text
from dmc.exchange.reader import SCHOOL, open_table, too_large
from dmc.exchange.xlsx import CellValue, write_table
from dmc.rounds.rules import YEAR_END_MENUS
from dmc.schools.models import School
from dmc.students.models import Enrolment
from dmc.yearend.services import Entry, Refusal, StepOutcome, record_step

COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # key: (Thai header, English header, other accepted names)
    "student_no": ("เลขประจำตัวนักเรียน", "Student number", ("student_no", "เลขประจำตัว")),
    "grade": ("ชั้น", "Grade", ()),
    "room": ("ห้อง", "Room", ()),
    "name": ("ชื่อ-นามสกุล", "Name", ()),
    "result": ("ผลการเรียน (สอบได้/สอบตก)", "Result (pass/fail)", ("ผลการเรียน", "result")),
    "years_studied": ("จำนวนปีที่เรียน", "Years studied", ("years_studied",)),
    "failed_evaluations": (
        "เกณฑ์ที่ไม่ผ่าน (รหัส เช่น 1,3)",
        "Evaluations not passed (codes, e.g. 1,3)",
        ("เกณฑ์ที่ไม่ผ่าน", "failed_evaluations"),
    ),
    "destination": (
        "การศึกษาต่อ/ปลายทาง (รหัส)",
        "Destination (code)",
        ("การศึกษาต่อ", "destination"),
    ),
}
REQUIRED = ("student_no",)
_RESULT_LABEL = {"pass": ("สอบได้", "pass"), "fail": ("สอบตก", "fail")}


def _key(text: object) -> str:
    return clean_text(str(text or "")).casefold()


_ALIASES = {
    _key(name): key for key, (th, en, others) in COLUMNS.items() for name in (th, en, key, *others)
}


def results_workbook(school: School, year: int, language: str = "th") -> bytes:
    """Every active student of the school with the results entered so far, ready to fill in."""
    headers = [th if language == "th" else en for th, en, _ in COLUMNS.values()]
    rows: list[list[CellValue]] = []
    for e in (
        Enrolment.objects.filter(school=school, academic_year=year, status="active")
        .select_related("person")
        .order_by("grade", "room", "student_no")
    ):
        result = _RESULT_LABEL.get(e.year_result, ("", ""))[0 if language == "th" else 1]
        rows.append(
            [
                e.student_no,
                GRADES.label(e.grade, language),
                e.room,
                f"{e.person.first_name} {e.person.last_name}",
                "3.1.8" if e.tracked_318 else result,
                e.years_studied,
                e.failed_evaluations,
                e.destination,
            ]
        )
    legend = (
        "; ".join(f"{c['code']}={c[language]}" for c in CODES["failed_evaluation"])
        + " | "
        + "; ".join(f"{c['code']}={c[language]}" for c in CODES["graduate_destination"])
    )
    rows.append(["", "", "", legend, "", "", "", ""])
    return write_table(
        tr(
            f"ผลการเรียนสิ้นปี {school.smis_code} {year}", f"Year-end results {school.smis_code} {year}"
        ),
        headers,
        rows,
        widths=[16, 8, 6, 28, 22, 14, 24, 22],
    )


@dataclass
class ImportOutcome:
    rows: int = 0
    saved: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "saved": self.saved,
            "unchanged": self.unchanged,
            "refused": [r.__dict__ for r in sorted(self.refused, key=lambda r: r.row or 0)],
            "dry_run": self.dry_run,
        }


class _DryRunError(Exception):
    pass


def _columns(header: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, text in enumerate(header):
        key = _ALIASES.get(_key(text))
        if key and key not in found:
            found[key] = i
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
    if missing or not ({"result", "failed_evaluations", "destination"} & found.keys()):
        missing += [] if missing else [COLUMNS["result"][0]]
        raise DmcError(ErrorCode.YEAR_END_HEADER, missing=", ".join(missing))
    return found


def _cell(values: list[Any], col: int | None) -> Any:
    if col is None or col >= len(values):
        return None
    v = values[col]
    return None if v is None or clean_text(str(v)) == "" else v


def _student_no(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value or ""))


def read_entries(
    path: Path, filename: str, school: School, year: int
) -> tuple[int, dict[str, list[Entry]], list[Refusal]]:
    """The file's rows as step entries (per menu), and the rows refused before any step."""
    ids = dict(
        Enrolment.objects.filter(school=school, academic_year=year, status="active").values_list(
            "student_no", "pk"
        )
    )
    per_menu: dict[str, list[Entry]] = {m: [] for m in YEAR_END_MENUS}
    refused: list[Refusal] = []
    count = 0
    with open_table(path, filename=filename, limits=SCHOOL) as table:
        cols = _columns(table.header)
        for number, values in table:
            no = _student_no(_cell(values, cols["student_no"]))
            result = _cell(values, cols.get("result"))
            if result is not None and clean_text(str(result)) == "3.1.8":
                continue  # the workbook marks 3.1.8 students; nothing to record
            cells = [
                _cell(values, cols.get(k))
                for k in ("result", "years_studied", "failed_evaluations", "destination")
            ]
            if not no and all(c is None for c in cells):
                continue  # a note row (the workbook's code legend), nothing to record
            count += 1
            if not no or no not in ids:
                err = DmcError(ErrorCode.YEAR_END_STUDENT_UNKNOWN, value=no or "-", year=year)
                refused.append(Refusal(0, number, err.code.value, err.message, {}))
                continue
            years = _cell(values, cols.get("years_studied"))
            if result is not None or years is not None:
                per_menu["3.2.2"].append(Entry(ids[no], result, years, row=number))
            evaluations = _cell(values, cols.get("failed_evaluations"))
            if evaluations is not None:
                per_menu["3.2.2.1"].append(
                    Entry(ids[no], failed_evaluations=str(evaluations), row=number)
                )
            destination = _cell(values, cols.get("destination"))
            if destination is not None:
                per_menu["3.2.2.2"].append(Entry(ids[no], destination=destination, row=number))
    return count, per_menu, refused


def import_results(
    *,
    actor: Actor,
    school: School,
    year: int,
    path: Path,
    filename: str = "",
    strict: bool = False,
    dry_run: bool = False,
) -> ImportOutcome:
    """Import a results file (see the module docstring). ``strict``: any refusal refuses the
    whole file (VALIDATION with ``refusals``); ``dry_run``: everything checked, nothing kept."""
    count, per_menu, refused = read_entries(path, filename, school, year)
    outcome = ImportOutcome(rows=count, refused=list(refused), dry_run=dry_run)
    try:
        with transaction.atomic():
            for menu in YEAR_END_MENUS:
                entries = per_menu[menu]
                if not entries:
                    continue
                try:
                    step: StepOutcome = record_step(
                        actor=actor,
                        school=school,
                        year=year,
                        menu=menu,
                        entries=entries,
                        strict=False,
                    )
                except DmcError as exc:
                    if exc.code not in (ErrorCode.YEAR_END_ORDER,):
                        raise
                    outcome.refused.extend(
                        Refusal(e.enrolment_id, e.row, exc.code.value, exc.message, {})
                        for e in entries
                    )
                    continue
                outcome.saved += len(step.saved)
                outcome.unchanged += len(step.unchanged)
                outcome.refused.extend(step.refused)
            if strict and outcome.refused:
                error = DmcError(
                    ErrorCode.VALIDATION,
                    http_status=400,
                    fields={str(r.row): [r.message] for r in outcome.refused},
                )
                error.refusals = outcome.refused  # type: ignore[attr-defined]
                raise error
            if dry_run:
                raise _DryRunError
    except _DryRunError:
        pass
    outcome.refused.sort(key=lambda r: r.row or 0)
    return outcome


def store_upload(chunks: Iterable[bytes], limit: int | None = SCHOOL.max_bytes) -> Path:
    """Write an upload to a private temporary file (bounded by ``limit``); the caller deletes it."""
    folder = Path(settings.VAR_DIR) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="yearend-", dir=folder)
    size = 0
    with os.fdopen(fd, "wb") as fh:
        for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                fh.close()
                Path(name).unlink(missing_ok=True)
                raise too_large(size, limit)
            fh.write(chunk)
    return Path(name)
