"""The school import of DMC's 39-column student list (web, CLI and API share this module).

read (``reader``) → normalise and check each row (``rows.parse_row`` and ``validate_person``: the
same rules as the forms) → file-level checks (the school code is this school's; a later row
repeating an ID or a student number is refused, naming the first) → classify against the
database → preview, or commit.

Each good row is one of:

* ``new`` — a person not known nationally: added (person + enrolment), as ``student_add``;
* ``transfer_in`` — a known person not active anywhere this year: enrolled here, as
  ``transfer_in`` (their sex and birth date must agree with the national record);
* ``update`` — a person active at this school: the changed personal fields, student number,
  weight and height are written (a grade/room change is a correction with a reason, D2, and the
  3.1.8 flag has its own menu: both refused);
* ``unchanged`` — the same, with nothing to change: nothing is written (so importing the same file
  twice is a no-op: no version bump, no audit event).

A person active at *another* school is refused (``enrolment_active_elsewhere``, D1): the message
sends the school to transfer-in, which opens a duplicate case. In the end-of-year round (3) new
and transferred-in students need the declaration that everyone new in the file sat this year's
final exam here (L5), else ``add_not_exam_taker``.

The entry window and D8 (a confirmed school is read-only) are checked before the file is read and
again inside the commit's transaction. Good rows are committed and bad rows reported (and
downloadable as a quarantine XLSX); ``strict`` commits nothing when any row is bad.

The commit is one transaction with set-based writes: persons and enrolments are locked in the
services' order (persons, then enrolments), created with ``bulk_create`` and changed with
``bulk_update`` (versions bumped as the services do), with one audit event per change (the same
actions the services write, bulk-inserted) and one ``import.commit`` event with the counts and
the file's SHA-256. Statistics are rebuilt once for the school at the end instead of being moved
row by row. A concurrent write that trips a database constraint (D1, a student number) makes the
whole commit start again on the new state, at most three times.

Personal data: nothing here logs names or IDs; errors carry the uploaded values back to the
uploader only, and another school is named only inside the uploader's scope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dmc.accounts.actor import Actor
from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode, conflict, not_found
from dmc.core.i18n import lang
from dmc.core.ids import normalize_person_id
from dmc.core.models import AuditEvent
from dmc.core.normalize import clean_text
from dmc.core.thai import collation_key, format_date_be, to_arabic_digits
from dmc.exchange.format import HEADER, NO, YES
from dmc.exchange.reader import SCHOOL, Limits, open_table, too_large
from dmc.exchange.rows import ParsedRow, RowError, parse_row
from dmc.exchange.xlsx import column_width, write_table_to
from dmc.rounds import stats
from dmc.rounds.models import Round, SchoolRound
from dmc.rounds.rules import check_entry_open
from dmc.rounds.selectors import require_entry_round, windows
from dmc.schools.models import School, SchoolGrade
from dmc.students import rules
from dmc.students.models import Enrolment, Person
from dmc.students.services import (
    _AUDIT_ENROLMENT,
    PERSON_FIELDS,
    _other_school_name,
    _require_school_write,
    validate_person,
)

CHUNK = 500
ATTEMPTS = 3
#: ``progress(stage, done, total)``: stage "check" (rows read and checked; total 0 while the file
#: is still being read) or "write" (rows written of those that change something)
ProgressFn = Callable[[str, int, int], None]
PROGRESS_EVERY = 250
YEAR_END_ROUND = 3
#: the personal fields the file carries (disability is not one of DMC's 39 columns)
FILE_PERSON_FIELDS = tuple(f for f in PERSON_FIELDS if f != "disability")
MEASURE_FIELDS = ("student_no", "weight_kg", "height_cm")

COL_SCHOOL, COL_ID, COL_GRADE, COL_ROOM = "รหัสโรงเรียน", "เลขประจำตัวประชาชน", "ชั้น", "ห้อง"
COL_STUDENT_NO, COL_318 = "เลขประจำตัวนักเรียน", "ยังไม่สามารถจำหน่ายได้ (3.1.8)"
#: a person field -> its column (to place ``validate_person``'s refusals)
FIELD_COLUMN: dict[str, str] = {
    "title_code": "คำนำหน้าชื่อ", "first_name": "ชื่อ", "last_name": "นามสกุล", "sex": "เพศ",
    "birth_date": "วันเกิด", "blood": "กลุ่มเลือด", "religion": "ศาสนา", "race": "เชื้อชาติ",
    "nationality": "สัญชาติ", "house_no": "บ้านเลขที่", "moo": "หมู่", "street": "ถนน/ซอย",
    "subdistrict": "ตำบล", "district": "อำเภอ", "province": "จังหวัด",
    "guardian_first_name": "ชื่อผู้ปกครอง", "guardian_last_name": "นามสกุลผู้ปกครอง",
    "guardian_occupation": "อาชีพของผู้ปกครอง",
    "guardian_relation": "ความเกี่ยวข้องของผู้ปกครองกับนักเรียน", "father_first_name": "ชื่อบิดา",
    "father_last_name": "นามสกุลบิดา", "father_occupation": "อาชีพของบิดา",
    "mother_first_name": "ชื่อมารดา", "mother_last_name": "นามสกุลมารดา",
    "mother_occupation": "อาชีพของมารดา", "disadvantaged": "ความด้อยโอกาส",
    "scout": "เป็นลูกเสือ/เนตรนาร", "redcross": "เป็นยุวกาชาด", "swimming": "ทักษะการว่ายน้ำ",
    "student_no": COL_STUDENT_NO, "weight_kg": "น้ำหนัก", "height_cm": "ส่วนสูง",
}  # fmt: skip
#: the hint added to a D1 refusal in an import
ELSEWHERE_HINT = (
    "หากนักเรียนย้ายมาเรียนที่โรงเรียนนี้แล้ว ให้ใช้เมนูรับย้ายเข้า ระบบจะเปิดเรื่องนักเรียนซ้ำซ้อนให้สำนักงานเขตพื้นที่ตัดสิน",
    "If the student now studies here, use Transfer in: it opens a duplicate case for the area"
    " office to decide",
)
ERROR_COLUMN = "ข้อผิดพลาด (แก้ไขแล้วนำเข้าใหม่ได้เลย)"
ORIGINAL_ROW_COLUMN = "แถวในไฟล์เดิม"


class Kind(StrEnum):
    NEW = "new"
    TRANSFER_IN = "transfer_in"
    UPDATE = "update"
    UNCHANGED = "unchanged"


KIND_LABELS: dict[str, tuple[str, str]] = {
    Kind.NEW: ("นักเรียนใหม่ (เพิ่ม)", "New students (added)"),
    Kind.TRANSFER_IN: ("รับย้ายเข้า (มีข้อมูลในระบบแล้ว)", "Transfers in (known nationally)"),
    Kind.UPDATE: ("แก้ไขข้อมูลนักเรียนของโรงเรียน", "Updates to this school's students"),
    Kind.UNCHANGED: ("ไม่มีการเปลี่ยนแปลง", "Unchanged"),
    "rejected": ("แถวที่มีข้อผิดพลาด (ไม่นำเข้า)", "Rows with errors (not imported)"),
}


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    strict: bool = False
    sat_exam: bool = False  # round 3: everyone new in the file sat this year's final exam here


@dataclass
class Result:
    """What an import found (dry run) or did (commit)."""

    sha256: str
    school_code: str
    year: int
    round_number: int
    options: Options
    rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in Kind})
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    seconds: float = 0.0
    file_kind: str = ""
    encoding: str = ""

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    @property
    def accepted(self) -> int:
        """Rows committed (or, in a dry run, that would be); none in strict mode with errors."""
        if self.options.strict and self.rejected:
            return 0
        return self.rows - self.rejected

    @property
    def changed(self) -> int:
        return sum(self.counts[k] for k in (Kind.NEW, Kind.TRANSFER_IN, Kind.UPDATE))

    def as_json(self) -> dict[str, Any]:
        """SPEC §10's shape: rows, accepted, rejected, errors."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class _Item:
    """One good row and what it does."""

    row: ParsedRow
    data: dict[str, Any]  # the validated person fields
    kind: Kind = Kind.NEW
    person: Person | None = None
    enrolment: Enrolment | None = None
    person_changes: dict[str, Any] = field(default_factory=dict)
    enrolment_changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Parsed:
    rows: int
    good: list[_Item]
    errors: dict[int, list[RowError]]
    file_kind: str
    encoding: str


# --- the window ---


def entry_round(year: int, round_number: int | None, school: School) -> Round:
    """The round the import writes into: entry open for the school now (with a late-entry
    extension), not confirmed (D8) and, when ``round_number`` is given, that round. Raises
    ROUND_NOT_FOUND, WINDOW_CLOSED, CONFIRMED_READ_ONLY, IMPORT_ROUND_MISMATCH (409)."""
    now = clock.now()
    r = require_entry_round(year, now, school.pk)
    if round_number is None or r.number == round_number:
        return r
    wanted = Round.objects.filter(academic_year__year=year, number=round_number).first()
    if wanted is not None and _entry_open(wanted, now):  # overlapping entry windows
        sr = SchoolRound.objects.filter(school=school, round=wanted).first()
        if sr is not None and sr.confirmed_at is not None:
            raise DmcError(ErrorCode.CONFIRMED_READ_ONLY, http_status=409)
        return wanted
    raise DmcError(
        ErrorCode.IMPORT_ROUND_MISMATCH,
        http_status=409,
        open_round=r.number,
        round=round_number,
        year=year,
    )


def _entry_open(r: Round, now: dt.datetime) -> bool:
    try:
        check_entry_open(windows(r), now)
    except DmcError:
        return False
    return True


# --- reading ---


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


_SPACE = re.compile(r"\s+")


def _header_key(value: object) -> str:
    return _SPACE.sub("", clean_text(str(value or "")).lstrip("\ufeff")).casefold()


_HEADER_KEYS = [_header_key(h) for h in HEADER]


def column_order(header: list[Any]) -> list[int] | None:
    """Where each of the 39 columns is in ``header``: None when they are the first 39 as DMC
    writes them (whitespace forgiven); a list of positions when they are all there, each once,
    in another order or among other columns. Raises IMPORT_HEADER otherwise."""
    keys = [_header_key(h) for h in header]
    if keys[: len(HEADER)] == _HEADER_KEYS:
        return None
    positions = {}
    for i, key in enumerate(keys):
        if key in _HEADER_KEYS and key not in positions:
            positions[key] = i
    missing = [h for h, k in zip(HEADER, _HEADER_KEYS, strict=True) if k not in positions]
    if missing:
        shown = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
        raise DmcError(ErrorCode.IMPORT_HEADER, missing=shown)
    return [positions[k] for k in _HEADER_KEYS]


def _ordered(values: list[Any], order: list[int] | None) -> list[Any]:
    """The 39 values in DMC's order (a short row padded with None)."""
    if order is None:
        if len(values) < len(HEADER):
            return values + [None] * (len(HEADER) - len(values))
        return values
    return [values[i] if i < len(values) else None for i in order]


def iter_rows(
    path: Path, *, filename: str = "", limits: Limits = SCHOOL
) -> Iterator[tuple[int, list[Any]]]:
    """(row number, the 39 values in DMC's order) of every non-blank data row."""
    with open_table(path, filename=filename, limits=limits) as table:
        order = column_order(table.header)
        for number, values in table:
            yield number, _ordered(values, order)


def _raw_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return to_arabic_digits(clean_text(value))


def _person_data(p: ParsedRow) -> dict[str, Any]:
    return {
        "title_code": p.title_code,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "sex": p.sex,
        "birth_date": p.birth_date,
        **p.person,
    }


def _validation_errors(row: int, exc: DmcError) -> list[RowError]:
    out = []
    for err in getattr(exc, "errors", None) or [exc]:
        names = [n for n in (err.fields or {}) if n in FIELD_COLUMN]
        column = FIELD_COLUMN[names[0]] if names else ""
        out.append(RowError.of(row, column, "", err))
    return out


def read_file(
    path: Path,
    *,
    filename: str,
    school: School,
    as_of: dt.date,
    today: dt.date,
    limits: Limits = SCHOOL,
    progress: ProgressFn | None = None,
) -> _Parsed:
    """Read and check every row without the database: parse, validate, file-level duplicates."""
    errors: dict[int, list[RowError]] = {}
    good: list[_Item] = []
    first_id: dict[str, tuple[int, int]] = {}  # id -> (row, hash of the row's values)
    first_no: dict[str, int] = {}
    count = 0

    def refuse(row: int, column: str, raw: object, code: ErrorCode, **params: Any) -> None:
        errors.setdefault(row, []).append(RowError.of(row, column, raw, DmcError(code, **params)))

    with open_table(path, filename=filename, limits=limits) as table:
        order = column_order(table.header)
        for number, raw in table:
            values = _ordered(raw, order)
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress("check", count, 0)
            parsed, row_errors = parse_row(values, number, as_of=as_of, today=today)
            if row_errors:
                errors.setdefault(number, []).extend(row_errors)
            code = _raw_text(values[0])
            if code != school.smis_code:
                refuse(number, COL_SCHOOL, code, ErrorCode.IMPORT_SCHOOL_MISMATCH,
                       value=code or "-", school=school.smis_code)  # fmt: skip
            # duplicates: the first row with an ID (or student number) keeps it
            pid = parsed.person_id if parsed else _try_id(values[2])
            signature = hash(tuple(str(v).strip() for v in values))
            if pid and pid in first_id:
                first, first_signature = first_id[pid]
                same = first_signature == signature
                refuse(number, COL_ID, values[2], ErrorCode.IMPORT_DUPLICATE_ID, first=first,
                       same_th=" (เหมือนกันทุกช่อง)" if same else "",
                       same_en=" (identical)" if same else "")  # fmt: skip
                continue
            if pid:
                first_id[pid] = (number, signature)
            student_no = parsed.student_no if parsed else _raw_text(values[5])
            if student_no and student_no in first_no:
                refuse(number, COL_STUDENT_NO, student_no, ErrorCode.IMPORT_DUPLICATE_STUDENT_NO,
                       student_no=student_no, first=first_no[student_no])  # fmt: skip
                continue
            if student_no:
                first_no[student_no] = number
            if parsed is None or number in errors:
                continue
            try:
                data = validate_person(_person_data(parsed), on=today, title_on=as_of)
            except DmcError as exc:
                errors.setdefault(number, []).extend(_validation_errors(number, exc))
                continue
            good.append(_Item(row=parsed, data=data))
        kind, encoding = table.kind, table.encoding
    if count == 0:
        raise DmcError(ErrorCode.IMPORT_NO_ROWS)
    if progress is not None:
        progress("check", count, count)
    return _Parsed(count, good, errors, kind, encoding)


def _try_id(raw: object) -> str:
    try:
        return normalize_person_id(raw)[0]
    except DmcError:
        return ""


# --- classifying against the database ---


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _classify(
    items: list[_Item],
    *,
    actor: Actor | None,
    school: School,
    year: int,
    round_number: int,
    options: Options,
    lock: bool,
) -> dict[int, list[RowError]]:
    """Decide each good row's kind and changes (locking what a commit changes, in the
    services' order); returns the rows refused here."""
    errors: dict[int, list[RowError]] = {}

    def refuse(item: _Item, column: str, value: object, exc: DmcError, hint: Any = None) -> None:
        row = item.row.row
        errors.setdefault(row, []).append(RowError.of(row, column, value, exc, hint=hint))

    ids = [it.row.person_id for it in items]
    persons: dict[str, Person] = {}
    for chunk in _chunks(ids):
        qs = Person.objects.filter(person_id__in=chunk)
        if lock:
            qs = qs.select_for_update().order_by("pk")
        persons.update((p.person_id, p) for p in qs)
    known = [p.pk for p in persons.values()]
    active: dict[int, tuple[int, int]] = {}  # person pk -> (enrolment pk, school pk)
    for chunk in _chunks(known):
        for pk, person_pk, school_pk in Enrolment.objects.filter(
            person_id__in=chunk, academic_year=year, status=Enrolment.Status.ACTIVE
        ).values_list("pk", "person_id", "school_id"):
            active[person_pk] = (pk, school_pk)
    here_ids = sorted(pk for pk, school_pk in active.values() if school_pk == school.pk)
    here: dict[int, Enrolment] = {}
    for chunk in _chunks(here_ids):
        enrolments = Enrolment.objects.filter(pk__in=chunk)
        if lock:
            enrolments = enrolments.select_for_update(of=("self",)).order_by("pk")
        here.update((e.pk, e) for e in enrolments)
    others = {
        s.pk: s
        for s in School.objects.filter(
            pk__in={sp for _, sp in active.values() if sp != school.pk}
        ).only("pk", "name", "smis_code", "area_id")
    }
    holders = dict(
        Enrolment.objects.filter(
            school=school, academic_year=year, status=Enrolment.Status.ACTIVE
        ).values_list("student_no", "person_id")
    )
    rooms = dict(
        SchoolGrade.objects.filter(school=school, academic_year=year).values_list("grade", "rooms")
    )
    year_end = round_number == YEAR_END_ROUND

    for item in items:
        p = item.row
        person = persons.get(p.person_id)
        item.person = person
        if person is None:
            item.kind = Kind.NEW
        else:
            holder = active.get(person.pk)
            if holder is None:
                item.kind = Kind.TRANSFER_IN
                differ = [
                    (th, en)
                    for name, th, en in (
                        ("sex", "เพศ", "sex"),
                        ("birth_date", "วันเกิด", "birth date"),
                    )
                    if getattr(person, name) != item.data[name]
                ]
                if differ:
                    refuse(item, COL_ID, p.person_id, DmcError(
                        ErrorCode.IMPORT_IDENTITY_MISMATCH,
                        fields_th="/".join(th for th, _ in differ),
                        fields_en="/".join(en for _, en in differ),
                    ))  # fmt: skip
                    continue
            elif holder[1] != school.pk:
                th, en = _other_school_name(actor, others[holder[1]])
                exc = DmcError(ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE, http_status=409,
                               school_th=th, school_en=en, year=year)  # fmt: skip
                refuse(item, COL_ID, p.person_id, exc, hint=ELSEWHERE_HINT)
                continue
            else:
                item.enrolment = here[holder[0]]
                item.kind = Kind.UPDATE
        if item.kind in (Kind.NEW, Kind.TRANSFER_IN):
            _check_new(item, refuse, rooms, holders, year_end=year_end, options=options)
        else:
            _check_update(item, refuse, holders)
        if item.kind != Kind.NEW:
            assert item.person is not None
            item.person_changes = {
                name: item.data[name]
                for name in FILE_PERSON_FIELDS
                if getattr(item.person, name) != item.data[name]
            }
        if item.kind == Kind.UPDATE and not item.person_changes and not item.enrolment_changes:
            item.kind = Kind.UNCHANGED
    return errors


def _check_new(
    item: _Item,
    refuse: Any,
    rooms: dict[str, int],
    holders: dict[str, int],
    *,
    year_end: bool,
    options: Options,
) -> None:
    p = item.row
    if year_end and not options.sat_exam:  # L5
        refuse(item, "", "", DmcError(ErrorCode.ADD_NOT_EXAM_TAKER, http_status=409))
    try:
        rules.check_grade_room(p.grade, p.room, rooms)  # D6: the school offers it
    except DmcError as exc:
        column = COL_ROOM if exc.code == ErrorCode.ROOM_OUT_OF_RANGE else COL_GRADE
        refuse(item, column, p.room if column == COL_ROOM else p.grade, exc)
    if p.tracked_318:
        refuse(item, COL_318, YES, DmcError(ErrorCode.IMPORT_TRACKED_318, file=YES, current="-"))
    if p.student_no in holders:
        refuse(item, COL_STUDENT_NO, p.student_no,
               conflict(ErrorCode.STUDENT_NO_TAKEN, student_no=p.student_no))  # fmt: skip


def _check_update(item: _Item, refuse: Any, holders: dict[str, int]) -> None:
    p, e = item.row, item.enrolment
    assert e is not None and item.person is not None
    if p.grade != e.grade or p.room != e.room:  # D2: a correction, with a reason, one by one
        column = COL_GRADE if p.grade != e.grade else COL_ROOM
        refuse(item, column, p.grade if column == COL_GRADE else p.room,
               DmcError(ErrorCode.GRADE_CHANGE_REASON))  # fmt: skip
    if p.tracked_318 != e.tracked_318:
        refuse(item, COL_318, YES if p.tracked_318 else NO, DmcError(
            ErrorCode.IMPORT_TRACKED_318, file=YES if p.tracked_318 else NO,
            current=YES if e.tracked_318 else NO,
        ))  # fmt: skip
    if p.student_no != e.student_no and holders.get(p.student_no, item.person.pk) != item.person.pk:
        refuse(item, COL_STUDENT_NO, p.student_no,
               conflict(ErrorCode.STUDENT_NO_TAKEN, student_no=p.student_no))  # fmt: skip
    new = {"student_no": p.student_no, "weight_kg": p.weight_kg, "height_cm": p.height_cm}
    item.enrolment_changes = {k: v for k, v in new.items() if getattr(e, k) != v}


# --- writing ---


def _document_type(person_id: str, kind: str) -> str:
    if kind == Person.IdKind.GCODE:
        return "O"  # no civil registration document
    return "A" if person_id.startswith("0") else "I"


def _write(
    items: list[_Item],
    *,
    actor: Actor | None,
    school: School,
    year: int,
    round_number: int,
    options: Options,
    sha256: str,
    progress: ProgressFn | None = None,
) -> list[AuditEvent]:
    """Apply the classified rows; returns the audit events to insert (one per change)."""
    written = 0

    def wrote(n: int) -> None:  # rows written so far (coarse: after each bulk statement)
        nonlocal written
        if progress is not None and n > written:
            written = min(len(items), n)
            progress("write", written, len(items))

    now = clock.now()
    today = clock.local(now).date()
    stamp = timezone.now()
    reason = f"import sha256:{sha256[:16]}"
    sat_exam = True if (round_number == YEAR_END_ROUND and options.sat_exam) else None
    events: list[AuditEvent] = []

    def event(action: str, target: Person | Enrolment, **kw: Any) -> None:
        events.append(
            audit.build(actor=actor, action=action, target=target, reason=reason, at=now,
                        school_id=school.pk, area_id=school.area_id, **kw)
        )  # fmt: skip

    # new persons, as student_add makes them
    people: list[Person] = []
    for it in items:
        if it.kind != Kind.NEW:
            continue
        p = it.row
        person = Person(
            person_id=p.person_id,
            id_kind=p.id_kind,
            document_type=_document_type(p.person_id, p.id_kind),
            **{k: it.data.get(k, "") for k in PERSON_FIELDS},
        )
        person.name_key = collation_key(f"{person.first_name} {person.last_name}")
        it.person = person
        people.append(person)
    Person.objects.bulk_create(people, batch_size=CHUNK)
    _ensure_pks(people, Person, "person_id")
    wrote(len(people) // 2)
    created_fields = ("person_id", "id_kind", "document_type", *PERSON_FIELDS)
    for person in people:
        event("person.create", person, after=audit.snapshot(person, created_fields))

    # changed persons (transfers in and updates), version bumped as student_update does
    changed_people: list[Person] = []
    person_fields: set[str] = set()
    for it in items:
        changing = it.person
        if it.kind == Kind.NEW or not it.person_changes or changing is None:
            continue
        person = changing
        before = audit.snapshot(person, FILE_PERSON_FIELDS)
        for name, value in it.person_changes.items():
            setattr(person, name, value)
        person_fields.update(it.person_changes)
        person.name_key = collation_key(f"{person.first_name} {person.last_name}")
        person.version += 1
        person.updated_at = stamp
        b, a = audit.diff(before, audit.snapshot(person, FILE_PERSON_FIELDS))
        event("person.update", person, before=b, after=a)
        changed_people.append(person)
    if changed_people:
        Person.objects.bulk_update(
            changed_people,
            sorted(person_fields | {"name_key", "version", "updated_at"}),
            batch_size=CHUNK,
        )

    # new enrolments (adds and transfers in), as enrolment_create makes them
    entering: list[tuple[_Item, Enrolment]] = []
    for it in items:
        if it.kind not in (Kind.NEW, Kind.TRANSFER_IN) or it.person is None:
            continue
        p = it.row
        enrolment = Enrolment(
            person=it.person,
            school=school,
            academic_year=year,
            grade=p.grade,
            room=p.room,
            student_no=p.student_no,
            weight_kg=p.weight_kg,
            height_cm=p.height_cm,
            admitted_on=today,
            sat_exam=sat_exam,
        )
        it.enrolment = enrolment
        entering.append((it, enrolment))
    Enrolment.objects.bulk_create([e for _, e in entering], batch_size=CHUNK)
    _ensure_enrolment_pks([e for _, e in entering], school, year)
    wrote(len(entering))
    for it, enrolment in entering:
        event("enrolment.create", enrolment, after=audit.snapshot(enrolment, _AUDIT_ENROLMENT))
        if it.kind == Kind.TRANSFER_IN:
            claim = {
                "grade": it.row.grade,
                "room": it.row.room,
                "student_no": it.row.student_no,
                "admitted_on": today.isoformat(),
                "sat_exam_here": bool(sat_exam),
            }
            event("enrolment.transfer_in", enrolment, after=claim)

    # changed enrolments of this school's students (student number, weight, height)
    updated: list[Enrolment] = []
    enrolment_fields: set[str] = set()
    for it in items:
        current = it.enrolment
        if it.kind != Kind.UPDATE or not it.enrolment_changes or current is None:
            continue
        enrolment = current
        before = audit.snapshot(enrolment, MEASURE_FIELDS)
        for name, value in it.enrolment_changes.items():
            setattr(enrolment, name, value)
        enrolment_fields.update(it.enrolment_changes)
        enrolment.version += 1
        enrolment.updated_at = stamp
        b, a = audit.diff(before, audit.snapshot(enrolment, MEASURE_FIELDS))
        event("enrolment.update", enrolment, before=b, after=a)
        updated.append(enrolment)
    if updated:
        Enrolment.objects.bulk_update(
            updated, sorted(enrolment_fields | {"version", "updated_at"}), batch_size=CHUNK
        )
    wrote(len(items))
    return events


def _ensure_pks(objs: list[Person], model: type[Person], key: str) -> None:
    """bulk_create sets primary keys where the database returns them (PostgreSQL, SQLite 3.35+);
    otherwise read them back."""
    missing = [o for o in objs if o.pk is None]
    if not missing:
        return
    found: dict[str, int] = {}
    for chunk in _chunks([getattr(o, key) for o in missing]):
        found.update(model.objects.filter(**{f"{key}__in": chunk}).values_list(key, "pk"))
    for o in missing:
        o.pk = found[getattr(o, key)]


def _ensure_enrolment_pks(objs: list[Enrolment], school: School, year: int) -> None:
    missing = [o for o in objs if o.pk is None]
    if not missing:
        return
    found = dict(
        Enrolment.objects.filter(
            school=school, academic_year=year, status=Enrolment.Status.ACTIVE
        ).values_list("person_id", "pk")
    )
    for o in missing:
        o.pk = found[o.person_id]


# --- the whole import ---


def import_file(
    *,
    actor: Actor | None,
    school: School,
    year: int,
    path: str | Path,
    filename: str = "",
    round_number: int | None = None,
    options: Options = Options(),
    limits: Limits = SCHOOL,
    progress: ProgressFn | None = None,
) -> Result:
    """Run the import of one school's file (see the module docstring).

    ``actor=None`` is the system (the CLI): no role scope, but the window and D8 still apply.
    Raises (nothing read or written): NOT_IN_SCOPE/ROLE_NOT_ALLOWED (403), ROUND_NOT_FOUND,
    WINDOW_CLOSED, CONFIRMED_READ_ONLY, IMPORT_ROUND_MISMATCH (409), the file refusals of
    ``reader`` (400) and IMPORT_HEADER / IMPORT_NO_ROWS (400); IMPORT_CONFLICT (409) when
    concurrent writes kept breaking the commit.

    ``progress`` (optional) is called with ("check", rows checked, rows or 0 while reading) and
    ("write", rows written, rows changing) as the import goes (a background job shows it).
    """
    started = time.monotonic()
    path = Path(path)
    _require_school_write(actor, school)
    r = entry_round(year, round_number, school)
    now = clock.now()
    parsed = read_file(
        path,
        filename=filename,
        school=school,
        as_of=stats.as_of_for(year),
        today=clock.local(now).date(),
        limits=limits,
        progress=progress,
    )
    result = Result(
        sha256=file_sha256(path),
        school_code=school.smis_code,
        year=year,
        round_number=r.number,
        options=options,
        rows=parsed.rows,
        file_kind=parsed.file_kind,
        encoding=parsed.encoding,
    )
    for attempt in range(ATTEMPTS):
        try:
            _run(parsed, result, actor=actor, school=school, year=year, options=options,
                 progress=progress)  # fmt: skip
            break
        except IntegrityError as exc:  # a concurrent write won a unique index: start again
            if attempt == ATTEMPTS - 1:
                raise conflict(ErrorCode.IMPORT_CONFLICT) from exc
    result.seconds = time.monotonic() - started
    return result


def _run(
    parsed: _Parsed, result: Result, *, actor: Actor | None, school: School, year: int,
    options: Options, progress: ProgressFn | None = None,
) -> None:  # fmt: skip
    items = [_Item(row=it.row, data=it.data) for it in parsed.good]  # fresh for each attempt
    # a dry run only reads (no write lock: on SQLite a transaction would take it at BEGIN)
    with contextlib.nullcontext() if options.dry_run else transaction.atomic():
        r = entry_round(year, result.round_number, school)  # again, inside the transaction
        refused = _classify(
            items,
            actor=actor,
            school=school,
            year=year,
            round_number=r.number,
            options=options,
            lock=not options.dry_run,
        )
        errors = dict(parsed.errors)
        for row, errs in refused.items():
            errors.setdefault(row, []).extend(errs)
        good = [it for it in items if it.row.row not in errors]
        result.errors = [e for row in sorted(errors) for e in errors[row]]
        result.counts = {k.value: sum(1 for it in good if it.kind == k) for k in Kind}
        result.committed = False
        if options.dry_run or (options.strict and errors):
            return
        changing = [it for it in good if it.kind != Kind.UNCHANGED]
        if progress is not None:
            progress("write", 0, len(changing))
        if not changing:
            result.committed = True  # nothing to change: nothing written, no audit event
            return
        # each updated enrolment's contribution to the school's sums before the change
        before = {
            it.enrolment.pk: stats.contribution(it.enrolment, it.person.sex)
            for it in changing
            if it.kind == Kind.UPDATE and it.enrolment is not None and it.person is not None
        }
        events = _write(
            changing,
            actor=actor,
            school=school,
            year=year,
            round_number=r.number,
            options=options,
            sha256=result.sha256,
            progress=progress,
        )
        stats.enrolments_changed(
            school.pk,
            year,
            [
                (it.enrolment, it.person, before.get(it.enrolment.pk))
                for it in changing
                if it.enrolment is not None and it.person is not None
            ],
        )
        events.append(
            audit.build(
                actor=actor,
                action="import.commit",
                target=school,
                after={
                    "file_sha256": result.sha256,
                    "academic_year": year,
                    "round": r.number,
                    "rows": result.rows,
                    **result.counts,
                    "rejected": result.rejected,
                    "strict": options.strict,
                },
                school_id=school.pk,
                area_id=school.area_id,
            )
        )
        audit.record_many(events)
        result.committed = True


# --- the quarantine file ---


def _cell_text(value: object) -> str:
    """A cell as text, as it was in the file (dates in DMC's dd/mm/BBBB)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return format_date_be(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def error_text(errors: Iterable[tuple[str, str]]) -> str:
    """ "column: message; column: message" (a row-wide error has no column)."""
    return "; ".join(f"{column}: {message}" if column else message for column, message in errors)


def write_quarantine(
    out: IO[bytes],
    path: Path,
    *,
    filename: str,
    errors: dict[int, list[tuple[str, str]]],
    limits: Limits = SCHOOL,
) -> int:
    """The refused rows, in file order, with their original 39 cells (as text, neutralised
    against formulas) then the errors (Thai) and the original row number; returns the number
    of rows. The school fixes the cells and uploads this file as it is."""

    def rows() -> Iterator[list[str | int | None]]:
        for number, values in iter_rows(path, filename=filename, limits=limits):
            row_errors = errors.get(number)
            if row_errors:
                cells: list[str | int | None] = [_cell_text(v) for v in values[: len(HEADER)]]
                yield [*cells, error_text(row_errors), number]

    widths = [column_width(h, 6) for h in HEADER] + [60.0, 10.0]
    return write_table_to(
        out,
        "แถวที่ต้องแก้ไข",
        [*HEADER, ERROR_COLUMN, ORIGINAL_ROW_COLUMN],
        rows(),
        widths=widths,
    )


def quarantine_errors(result: Result, language: str = "th") -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for e in result.errors:
        out.setdefault(e.row, []).append((e.column, e.message_in(language)))
    return out


def summary_lines(result: Result) -> list[str]:
    """A short human summary (the CLI without --json)."""
    en = lang() == "en"
    lines = [
        (f"{result.rows} rows: {result.accepted} accepted, {result.rejected} rejected"
         if en else f"{result.rows} แถว: รับ {result.accepted} ไม่รับ {result.rejected}"),
    ]  # fmt: skip
    for key, (th, english) in KIND_LABELS.items():
        n = result.rejected if key == "rejected" else result.counts.get(key, 0)
        lines.append(f"  {english if en else th}: {n}")
    return lines


# --- stored uploads (the web pages and the API) ---

IMPORTS_DIR = "imports"
KEEP_FOR = dt.timedelta(days=2)
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_STAGES = ("preview", "result")


@dataclass
class Upload:
    """An uploaded file kept server-side under ``MEDIA_ROOT/imports/<id>/`` between the preview
    and the commit, bound to the user and the school. The id is derived from the file's SHA-256,
    the user, the school and the year: the same file gives the same id (and the same preview).
    Uploads older than ``KEEP_FOR`` are deleted when the next one arrives (personal data is not
    kept longer than the import needs)."""

    id: str
    directory: Path
    meta: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.directory / str(self.meta["stored_name"])

    @property
    def filename(self) -> str:
        return str(self.meta["filename"])

    @property
    def options(self) -> Options:
        o = self.meta["options"]
        return Options(strict=bool(o["strict"]), sat_exam=bool(o["sat_exam"]))

    def save(self, stage: str, result: Result) -> dict[str, Any]:
        assert stage in _STAGES
        data = result_data(result)
        write_json(self.directory / f"{stage}.json", data)
        return data

    def load(self, stage: str) -> dict[str, Any] | None:
        assert stage in _STAGES
        target = self.directory / f"{stage}.json"
        if not target.exists():
            return None
        data: dict[str, Any] = json.loads(target.read_text("utf-8"))
        return data

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def latest(self) -> tuple[str, dict[str, Any]] | None:
        """The result if committed, else the preview."""
        for stage in ("result", "preview"):
            data = self.load(stage)
            if data is not None:
                return stage, data
        return None


def result_data(result: Result) -> dict[str, Any]:
    """A result as stored (both languages of every message) and read back by the pages."""
    return {
        "sha256": result.sha256,
        "school_code": result.school_code,
        "year": result.year,
        "round": result.round_number,
        "rows": result.rows,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "changed": result.changed,
        "counts": result.counts,
        "committed": result.committed,
        "dry_run": result.options.dry_run,
        "strict": result.options.strict,
        "sat_exam": result.options.sat_exam,
        "seconds": round(result.seconds, 3),
        "file_kind": result.file_kind,
        "encoding": result.encoding,
        "errors": [
            {
                "row": e.row,
                "column": e.column,
                "value": e.value,
                "code": e.code,
                "message_th": e.message_in("th"),
                "message_en": e.message_in("en"),
            }
            for e in result.errors
        ],
    }


def write_json(target: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (a reader sees the old file or the new one)."""
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    os.replace(tmp, target)


def imports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / IMPORTS_DIR


def purge_old(root: Path, *, keep_for: dt.timedelta = KEEP_FOR) -> int:
    """Delete stored uploads older than ``keep_for``; returns how many."""
    cutoff = time.time() - keep_for.total_seconds()
    removed = 0
    for entry in root.iterdir() if root.exists() else []:
        try:
            if entry.stat().st_mtime < cutoff:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:  # another process purged it first
            continue
    return removed


def _safe_filename(name: str) -> str:
    base = clean_text(Path(name.replace("\\", "/")).name)[:100]
    return base or "upload"


def upload_store(
    *,
    actor: Actor,
    school: School,
    year: int,
    chunks: Iterable[bytes],
    filename: str,
    options: Options,
    limits: Limits = SCHOOL,
) -> Upload:
    """Keep an uploaded file (streamed from ``chunks``; refused with IMPORT_FILE_TOO_LARGE as
    soon as it passes the limit). Role and scope are checked first."""
    _require_school_write(actor, school)
    root = imports_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    purge_old(root)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    head = b""
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if limits.max_bytes is not None and size > limits.max_bytes:
                    raise too_large(size, limits.max_bytes)
                if len(head) < 8:
                    head = (head + chunk)[:8]
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        key = f"{sha}:{actor.user.pk}:{school.pk}:{year}".encode()
        upload_id = hashlib.sha256(key).hexdigest()[:32]
        directory = root / upload_id
        directory.mkdir(exist_ok=True, mode=0o700)
        stored_name = (
            "upload.xlsx" if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) else "upload.csv"
        )
        # The same id is the same bytes: a job may be reading the kept file right now (the same
        # file sent again while its import runs), so it is replaced atomically, never removed;
        # only the previous preview/result are dropped (a new check starts).
        for stage in _STAGES:
            (directory / f"{stage}.json").unlink(missing_ok=True)
        os.replace(tmp, directory / stored_name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    meta = {
        "id": upload_id,
        "sha256": sha,
        "size": size,
        "filename": _safe_filename(filename),
        "stored_name": stored_name,
        "user_id": actor.user.pk,
        "school_id": school.pk,
        "smis_code": school.smis_code,
        "year": year,
        "options": {"strict": options.strict, "sat_exam": options.sat_exam},
        "created": clock.now().isoformat(),
    }
    write_json(directory / "meta.json", meta)
    return Upload(upload_id, directory, meta)


def upload_get(*, actor: Actor, upload_id: str) -> Upload:
    """A stored upload of this user, for a school inside their scope; NOT_FOUND (404) otherwise
    (also for another user's upload: its existence is not revealed)."""
    if not _UPLOAD_ID.fullmatch(upload_id or ""):
        raise not_found()
    directory = imports_root() / upload_id
    try:
        meta = json.loads((directory / "meta.json").read_text("utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise not_found() from exc
    if meta.get("user_id") != actor.user.pk:
        raise not_found()
    school = School.objects.filter(pk=meta.get("school_id")).only("pk", "area_id").first()
    if school is None or not actor.covers_school(school.pk, school.area_id):
        raise not_found()
    upload = Upload(upload_id, directory, meta)
    if not upload.path.exists():
        raise not_found()
    return upload


def stored_error_rows(data: dict[str, Any], language: str = "th") -> list[dict[str, Any]]:
    """A stored result's errors (``result_data``) with the message in ``language``: row, column,
    value, code, message; for the pages and the API's job result."""
    key = "message_en" if language == "en" else "message_th"
    return [
        {"row": e["row"], "column": e["column"], "value": e["value"], "code": e["code"],
         "message": e[key]}
        for e in data["errors"]
    ]  # fmt: skip


def stored_errors(data: dict[str, Any], language: str = "th") -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    key = "message_en" if language == "en" else "message_th"
    for e in data.get("errors", []):
        out.setdefault(int(e["row"]), []).append((str(e["column"]), str(e[key])))
    return out


def quarantine_file(*, actor: Actor, upload: Upload) -> tuple[IO[bytes], str, int]:
    """The quarantine XLSX of an upload's latest result (the commit's, else the preview's) in a
    temporary file at its start, its download name and the row count. Audited like an export
    (it holds the students' personal data)."""
    latest = upload.latest()
    if latest is None:
        raise not_found()
    _, data = latest
    errors = stored_errors(data, "th")
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        n = write_quarantine(out, upload.path, filename=upload.filename, errors=errors)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    school = School.objects.get(pk=upload.meta["school_id"])
    audit.record(
        actor=actor,
        action="export.quarantine",
        target=school,
        after={"rows": n, "file_sha256": upload.meta["sha256"], "format": "xlsx"},
        school_id=school.pk,
        area_id=school.area_id,
    )
    name = f"quarantine_{school.smis_code}_{str(upload.meta['sha256'])[:8]}.xlsx"
    return out, name, n
