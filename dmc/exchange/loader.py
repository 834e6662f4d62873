"""The national bulk loader (``dmc load``, SPEC §8/§11): OBEC loads a whole 39-column file.

1. **Stage.** Stream the CSV (bounded memory), parse every row with ``rows.parse_row`` (the same
   normalisation and rules as the school import), write the good rows into a staging table per
   batch -- PostgreSQL: ``UNLOGGED`` table filled by ``COPY FROM STDIN``; SQLite: a plain table
   filled by ``executemany`` -- and the bad rows into the rejection CSV (the original 39 columns,
   then row, code, column, message). The batch record (``rounds.LoadBatch``) becomes ``staged``.
2. **Merge**, one transaction of set-based SQL (the same statements on both databases):
   rejects rows of unknown schools, grades the school does not offer or rooms it does not have
   (D6), repeated IDs and repeated student numbers of a school within the file (the first row
   wins), persons already active at another school this year (D1) and student numbers taken by
   someone else; upserts the persons (an update only when something differs); inserts the
   enrolments of persons without an active enrolment this year and updates the class data of
   those already active at the same school; rebuilds the touched schools' ``SchoolYearStats``;
   writes one ``load.batch`` audit event; marks the batch ``merged``.
3. **Finish.** Append the set-based rejections to the rejection CSV (a second pass over the
   file picks their original columns) and drop the staging tables.

A batch is named by ``--batch`` or the file's SHA-256. Re-running a merged batch changes
nothing; re-running a killed one restages (``staging``) or merges (``staged``) without
duplicating anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import multiprocessing
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode, render_message
from dmc.core.thai import collation_key
from dmc.exchange.format import HEADER
from dmc.exchange.rows import ParsedRow, RowError, header_problems, parse_row
from dmc.rounds import checks, stats
from dmc.rounds.models import LoadBatch, QueryNote, Round, SchoolYearStats
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.students.models import Enrolment, Person

csv.field_size_limit(1 << 20)

# person columns of the staging table, in Person's names (document_type is derived on insert)
PERSON_FIELDS: tuple[str, ...] = (
    "title_code", "first_name", "last_name", "name_key", "sex", "birth_date", "blood",
    "religion", "race", "nationality", "house_no", "moo", "street", "subdistrict", "district",
    "province", "guardian_first_name", "guardian_last_name", "guardian_occupation",
    "guardian_relation", "father_first_name", "father_last_name", "father_occupation",
    "mother_first_name", "mother_last_name", "mother_occupation", "disadvantaged", "scout",
    "redcross", "swimming",
)  # fmt: skip
ENROL_FIELDS: tuple[str, ...] = ("grade", "room", "weight_kg", "height_cm", "tracked_318")
_TYPES = {
    "row_no": "integer",
    "counted": "boolean",
    "room": "integer",
    "birth_date": "date",
    "weight_kg": "numeric(5,1)",
    "height_cm": "numeric(5,1)",
    "tracked_318": "boolean",
}
STAGE_COLUMNS: tuple[str, ...] = (
    "row_no", "school_code", "person_id", "id_kind", "document_type", "student_no",
    *ENROL_FIELDS, *PERSON_FIELDS, "checks", "counted",
)  # fmt: skip
REJECT_HEADER = (*HEADER, "row", "code", "column", "message")
CHUNK = 2000  # rows per parse job / COPY write / executemany
#: parse in worker processes when the file is at least this big (PostgreSQL only)
PARALLEL_MIN_BYTES = 8 << 20


@dataclass
class LoadResult:
    batch: str
    sha256: str
    state: str
    already_loaded: bool
    rows: int = 0
    staged: int = 0
    rejected: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    enrolments_created: int = 0
    enrolments_updated: int = 0
    schools: int = 0
    rejects_path: str = ""
    rejects_by_code: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    #: peak resident memory (MiB) of this process and of the largest parse worker
    peak_rss_mib: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Progress:
    """A one-line progress bar on stderr: rows, rows/s, % of the file's bytes."""

    def __init__(self, total_bytes: int, out: IO[str] | None, label: str = "stage") -> None:
        self.total = max(total_bytes, 1)
        self.out = out
        self.label = label
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, rows: int, position: int, *, final: bool = False) -> None:
        if self.out is None:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.5:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        pct = min(100.0, 100.0 * position / self.total)
        bar = "#" * int(pct / 4)
        self.out.write(
            f"\r{self.label} [{bar:<25}] {pct:5.1f}%  {rows:,} rows  {rows / elapsed:,.0f} rows/s"
        )
        if final:
            self.out.write("\n")
        self.out.flush()


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _stage_table(batch: LoadBatch) -> str:
    return f"dmc_load_stage_{batch.pk}"


def _table_exists(name: str) -> bool:
    with connection.cursor() as cur:
        return name in connection.introspection.table_names(cur)


# -- reading ---------------------------------------------------------------------------------


def _open_rows(path: Path) -> tuple[IO[str], Iterator[list[str]]]:
    fh = path.open("r", encoding="utf-8-sig", newline="")
    return fh, csv.reader(fh)


def _as_of(year: int, round_no: int) -> dt.date:
    r = Round.objects.filter(academic_year__year=year, number=round_no).first()
    if r is not None and r.as_of_date is not None:
        return r.as_of_date
    return dt.date(year - 543 + 1, 3, 31)  # the end of the academic year, as stats.as_of_for


def _document_type(person_id: str, kind: str) -> str:
    if kind == Person.IdKind.GCODE:
        return "O"
    return "A" if person_id.startswith("0") else "I"


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    s = str(value)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _stage_values(
    p: ParsedRow, year: int, checks_as_of: dt.date, year_end: bool = False
) -> tuple[object, ...]:
    """The staging row of a parsed row, with the checklist text and D4 ``counted`` of the new
    enrolment it becomes, computed by ``stats.checks_text`` (the same function the web forms
    use). What the stage cannot see -- a previous year's height, query notes, the year-end
    results of an enrolment that already exists -- is applied in the merge."""
    person = p.person
    name_key = collation_key(f"{p.first_name} {p.last_name}")
    facts = checks.StudentFacts(
        sex=p.sex,
        title_code=p.title_code,
        birth_date=p.birth_date,
        weight_kg=p.weight_kg,
        height_cm=p.height_cm,
        tracked_318=p.tracked_318,
        year_end=year_end,
        grade=p.grade,
    )
    text, is_counted = stats.checks_text(
        facts, academic_year=year, as_of=checks_as_of, explained=set()
    )
    return (
        p.row, p.school_code, p.person_id, p.id_kind, _document_type(p.person_id, p.id_kind),
        p.student_no, p.grade, p.room, p.weight_kg, p.height_cm, p.tracked_318,
        p.title_code, p.first_name, p.last_name, name_key, p.sex, p.birth_date,
        person["blood"], person["religion"], person["race"], person["nationality"],
        person["house_no"], person["moo"], person["street"], person["subdistrict"],
        person["district"], person["province"], person["guardian_first_name"],
        person["guardian_last_name"], person["guardian_occupation"], person["guardian_relation"],
        person["father_first_name"], person["father_last_name"], person["father_occupation"],
        person["mother_first_name"], person["mother_last_name"], person["mother_occupation"],
        person["disadvantaged"], person["scout"], person["redcross"], person["swimming"],
        text, is_counted,
    )  # fmt: skip


def _reject_line(values: list[str], errors: list[RowError]) -> list[str]:
    first = errors[0]
    message = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors)
    cells = (list(values) + [""] * len(HEADER))[: len(HEADER)]
    return [*cells, str(first.row), first.code, first.column, message]


# -- stage -----------------------------------------------------------------------------------


def _create_stage(table: str) -> None:
    cols = ", ".join(f"{_q(c)} {_TYPES.get(c, 'text')}" for c in STAGE_COLUMNS)
    unlogged = "UNLOGGED " if _is_pg() else ""
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_q(table)}")
        cur.execute(f"DROP TABLE IF EXISTS {_q(table + '_rej')}")
        cur.execute(f"CREATE {unlogged}TABLE {_q(table)} ({cols})")


@dataclass
class _ParseContext:
    as_of: dt.date
    today: dt.date
    year: int
    checks_as_of: dt.date
    copy_text: bool  # PostgreSQL: COPY text lines; SQLite: value tuples
    year_end: bool = False  # L8: the year-end round (results due)


@dataclass
class _Parsed:
    rows: int = 0
    staged: int = 0
    copy: str = ""  # COPY text lines (PostgreSQL)
    values: list[tuple[object, ...]] = field(default_factory=list)  # (SQLite)
    rejects: list[list[str]] = field(default_factory=list)
    by_code: dict[str, int] = field(default_factory=dict)


_CTX: _ParseContext | None = None


def _init_worker(ctx: _ParseContext) -> None:
    global _CTX
    _CTX = ctx


def _parse_chunk(chunk: list[tuple[int, list[str]]]) -> _Parsed:
    """Parse one chunk of (row number, cells): the staging payload, rejection lines, counts.
    Pure (no database): runs in a worker process or in-process."""
    ctx = _CTX
    assert ctx is not None
    out = _Parsed(rows=len(chunk))
    lines: list[str] = []
    for number, values in chunk:
        parsed, errors = parse_row(values, number, as_of=ctx.as_of, today=ctx.today)
        if parsed is None:
            out.rejects.append(_reject_line(values, errors))
            code = errors[0].code
            out.by_code[code] = out.by_code.get(code, 0) + 1
            continue
        staged = _stage_values(parsed, ctx.year, ctx.checks_as_of, ctx.year_end)
        if ctx.copy_text:
            lines.append("\t".join(map(_copy_text, staged)))
        else:
            out.values.append(staged)
        out.staged += 1
    if lines:
        out.copy = "\n".join(lines) + "\n"
    return out


def _chunks(reader: Iterator[list[str]]) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for number, values in enumerate(reader, start=2):
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        chunk.append((number, values))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parsed_chunks(
    reader: Iterator[list[str]], ctx: _ParseContext, *, workers: int
) -> Iterator[_Parsed]:
    """The file's chunks parsed, in file order. ``workers`` > 1 parses in that many forked
    processes with at most 2 chunks per worker in flight (bounded memory); the reading, the
    COPY and the rejection file stay in this process."""
    global _CTX
    if workers <= 1:
        _CTX = ctx
        for chunk in _chunks(reader):
            yield _parse_chunk(chunk)
        return
    mp = multiprocessing.get_context("fork")
    with mp.Pool(workers, initializer=_init_worker, initargs=(ctx,)) as pool:
        pending: deque[AsyncResult[_Parsed]] = deque()
        for chunk in _chunks(reader):
            pending.append(pool.apply_async(_parse_chunk, (chunk,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_workers(path: Path) -> int:
    """Worker processes for parsing: the machine's cores (at most 4) for a big file on
    PostgreSQL, else 1 (in-process; SQLite has a single writer anyway)."""
    if not _is_pg() or path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def stage(
    batch: LoadBatch,
    path: Path,
    rejects_path: Path,
    *,
    progress: IO[str] | None = None,
    workers: int | None = None,
) -> tuple[int, int, dict[str, int]]:
    """Parse the file into the batch's staging table; returns (rows, staged, rejects by code)."""
    table = _stage_table(batch)
    checks_as_of = stats.as_of_for(batch.academic_year)
    year_end = stats.year_end_due(batch.academic_year)
    ctx = _ParseContext(
        year_end=year_end,
        as_of=_as_of(batch.academic_year, batch.round_number),
        today=clock.today(),
        year=batch.academic_year,
        checks_as_of=checks_as_of,
        copy_text=_is_pg(),
    )
    if workers is None:
        workers = default_workers(path)
    bar = Progress(path.stat().st_size, progress)
    rows = staged = 0
    by_code: dict[str, int] = {}
    fh, reader = _open_rows(path)
    with transaction.atomic(), fh, rejects_path.open("w", encoding="utf-8", newline="") as rej:
        _create_stage(table)
        problems = header_problems(next(reader, []))
        if problems:
            raise DmcError(
                ErrorCode.CODE_UNKNOWN,
                value="-",
                list_th="หัวตาราง 39 คอลัมน์ของ DMC",
                list_en="DMC's 39-column header",
            )
        out = csv.writer(rej, lineterminator="\n")
        out.writerow(REJECT_HEADER)
        sink = _PgSink(table) if _is_pg() else _SqliteSink(table)
        try:
            for part in parsed_chunks(reader, ctx, workers=workers):
                rows += part.rows
                staged += part.staged
                out.writerows(part.rejects)
                for code, n in part.by_code.items():
                    by_code[code] = by_code.get(code, 0) + n
                if part.copy:
                    sink.write(part.copy)
                for values in part.values:
                    sink.add(values)
                bar.update(rows, fh.buffer.tell())  # type: ignore[attr-defined]
        finally:
            sink.close()
        bar.update(rows, path.stat().st_size, final=True)
        LoadBatch.objects.filter(pk=batch.pk).update(
            state=LoadBatch.State.STAGED,
            rows=rows,
            staged=staged,
            counts={
                "parse": by_code,
                "checks_as_of": checks_as_of.isoformat(),
                "checks_year_end": year_end,
            },
        )
    batch.refresh_from_db()
    return rows, staged, by_code


class _PgSink:
    """COPY FROM STDIN into the staging table, text format written by hand (no per-value
    adaptation in Python)."""

    def __init__(self, table: str) -> None:
        cols = ", ".join(_q(c) for c in STAGE_COLUMNS)
        self._cursor = connection.cursor()
        self._cm = self._cursor.cursor.copy(f"COPY {_q(table)} ({cols}) FROM STDIN")
        self._copy = self._cm.__enter__()
        self._buf: list[str] = []

    def add(self, values: tuple[object, ...]) -> None:
        self._buf.append("\t".join(map(_copy_text, values)))
        if len(self._buf) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            self._copy.write("\n".join(self._buf) + "\n")
            self._buf = []

    def write(self, text: str) -> None:
        """COPY text lines made elsewhere (the parse workers)."""
        self._flush()
        self._copy.write(text)

    def close(self) -> None:
        exc = sys.exc_info()
        if exc[0] is None:
            self._flush()
        self._cm.__exit__(*exc)
        self._cursor.close()


class _SqliteSink:
    def __init__(self, table: str) -> None:
        cols = ", ".join(_q(c) for c in STAGE_COLUMNS)
        marks = ", ".join(["%s"] * len(STAGE_COLUMNS))
        self._sql = f"INSERT INTO {_q(table)} ({cols}) VALUES ({marks})"  # nosec B608 # table names from _meta; values bound
        self._buf: list[tuple[object, ...]] = []

    def add(self, values: tuple[object, ...]) -> None:
        self._buf.append(
            tuple(str(v) if not isinstance(v, str | int | bool | type(None)) else v for v in values)
        )
        if len(self._buf) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            with connection.cursor() as cur:
                cur.executemany(self._sql, self._buf)  # type: ignore[arg-type]
            self._buf = []

    def write(self, text: str) -> None:
        raise NotImplementedError("SQLite stages value tuples (add), not COPY text")

    def close(self) -> None:
        if sys.exc_info()[0] is None:
            self._flush()


# -- merge -----------------------------------------------------------------------------------


def _merge_sql(table: str, year: int) -> list[tuple[str, str, list[Any]]]:
    """(label, SQL, params) of the set-based checks, in order: each inserts the rows it rejects
    into ``<stage>_rej`` (row_no, code, column, value, detail), skipping rows already rejected."""
    s, rej = _q(table), _q(table + "_rej")
    school, grade = _q(School._meta.db_table), _q(SchoolGrade._meta.db_table)
    person, enrol = _q(Person._meta.db_table), _q(Enrolment._meta.db_table)
    ok = f"NOT EXISTS (SELECT 1 FROM {rej} r WHERE r.row_no = s.row_no)"  # nosec B608 # table names from _meta; values bound
    ins = f"INSERT INTO {rej} (row_no, code, col, value, detail)"
    return [
        (
            "unknown school",
            f"""{ins} SELECT s.row_no, 'school_unknown', 'รหัสโรงเรียน', s.school_code, ''
            FROM {s} s WHERE NOT EXISTS (SELECT 1 FROM {school} sc
                                        WHERE sc.smis_code = s.school_code)""",  # nosec B608 # table names from _meta; values bound
            [],
        ),
        (
            "grade/room (D6)",
            f"""{ins} SELECT s.row_no,
                   CASE WHEN g.id IS NULL THEN 'grade_not_offered' ELSE 'room_out_of_range' END,
                   CASE WHEN g.id IS NULL THEN 'ชั้น' ELSE 'ห้อง' END,
                   CASE WHEN g.id IS NULL THEN s.grade ELSE CAST(s.room AS text) END,
                   COALESCE(CAST(g.rooms AS text), '')
            FROM {s} s JOIN {school} sc ON sc.smis_code = s.school_code
            LEFT JOIN {grade} g ON g.school_id = sc.id AND g.academic_year = %s
                                AND g.grade = s.grade
            WHERE (g.id IS NULL OR s.room > g.rooms) AND {ok}""",  # nosec B608 # table names from _meta; values bound
            [year],
        ),
        (
            "repeated ID",
            f"""{ins} SELECT d.row_no, 'duplicate_in_file', 'เลขประจำตัวประชาชน', d.person_id,
                   CAST(d.first_row AS text)
            FROM (SELECT s.row_no, s.person_id,
                         MIN(s.row_no) OVER (PARTITION BY s.person_id) AS first_row
                  FROM {s} s WHERE {ok}) d
            WHERE d.row_no > d.first_row""",  # nosec B608 # table names from _meta; values bound
            [],
        ),
        (
            "repeated student number",
            f"""{ins} SELECT d.row_no, 'duplicate_in_file', 'เลขประจำตัวนักเรียน', d.student_no,
                   CAST(d.first_row AS text)
            FROM (SELECT s.row_no, s.student_no,
                         MIN(s.row_no) OVER (PARTITION BY s.school_code, s.student_no)
                           AS first_row
                  FROM {s} s WHERE {ok}) d
            WHERE d.row_no > d.first_row""",  # nosec B608 # table names from _meta; values bound
            [],
        ),
        (
            "active elsewhere (D1)",
            f"""{ins} SELECT s.row_no, 'enrolment_active_elsewhere', 'เลขประจำตัวประชาชน',
                   s.person_id, other.smis_code || ' ' || other.name
            FROM {s} s JOIN {person} p ON p.person_id = s.person_id
            JOIN {enrol} e ON e.person_id = p.id AND e.academic_year = %s AND e.status = 'active'
            JOIN {school} other ON other.id = e.school_id
            WHERE other.smis_code <> s.school_code AND {ok}""",  # nosec B608 # table names from _meta; values bound
            [year],
        ),
        (
            "student number taken",
            f"""{ins} SELECT s.row_no, 'student_no_taken', 'เลขประจำตัวนักเรียน', s.student_no, ''
            FROM {s} s JOIN {school} sc ON sc.smis_code = s.school_code
            JOIN {enrol} e ON e.school_id = sc.id AND e.academic_year = %s
                          AND e.status = 'active' AND e.student_no = s.student_no
            JOIN {person} p ON p.id = e.person_id
            WHERE p.person_id <> s.person_id AND {ok}""",  # nosec B608 # table names from _meta; values bound
            [year],
        ),
    ]


def _count(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return int(cur.fetchone()[0])


def _exec(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return max(cur.rowcount, 0)


def _refresh_stats(
    batch: LoadBatch, touched: list[int], table: str, ok: str, now: dt.datetime
) -> None:
    """The touched schools' checklist and ``SchoolYearStats``, after the merge.

    The staged rows carry their checks as of the stage (``stats.checks_text``). Enrolments
    whose checks also depend on something the stage could not see -- a previous year's height
    (L3.height_drop) or a query note (``key!``) -- are evaluated again with ``stats.evaluate``.
    A school whose enrolments outside this file may have stale checks (no stats row for the
    year, or one as of another date, or the reference date moved since the stage) gets a full
    ``stats.rebuild``; every other school's stats come from one GROUP BY over the stored checks
    (``stats.rebuild_from_stored``)."""
    year = batch.academic_year
    as_of = stats.as_of_for(year)
    year_end = stats.year_end_due(year)
    enrol, person = _q(Enrolment._meta.db_table), _q(Person._meta.db_table)
    school, note = _q(School._meta.db_table), _q(QueryNote._meta.db_table)
    s = _q(table)
    staged_as_of = batch.counts.get("checks_as_of")
    if staged_as_of != as_of.isoformat() or batch.counts.get("checks_year_end") != year_end:
        full = set(touched)
    else:
        fresh = set(
            SchoolYearStats.objects.filter(academic_year=year, as_of=as_of).values_list(
                "school_id", flat=True
            )
        )
        with connection.cursor() as cur:
            # schools with enrolments this file did not write and no current stats row
            cur.execute(
                f"""SELECT DISTINCT e.school_id FROM {enrol} e
                WHERE e.academic_year = %s AND e.status = 'active' AND e.created_at < %s
                  AND e.school_id IN (SELECT sc.id FROM {school} sc
                                      WHERE sc.smis_code IN (SELECT s.school_code FROM {s} s))""",  # nosec B608 # table names from _meta; values bound
                [year, now],
            )
            full = {r[0] for r in cur.fetchall()} - fresh
        full &= set(touched)
        # enrolments of this file whose checks need what the stage could not see: those that
        # existed before (their year-end results, notes), and those with last year's height
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT e.id FROM {s} s JOIN {person} p ON p.person_id = s.person_id
                JOIN {enrol} e ON e.person_id = p.id AND e.academic_year = %s
                              AND e.status = 'active'
                WHERE {ok} AND (
                  e.created_at < %s
                  OR EXISTS (SELECT 1 FROM {note} n WHERE n.enrolment_id = e.id)
                  OR EXISTS (SELECT 1 FROM {enrol} prev WHERE prev.person_id = e.person_id
                             AND prev.academic_year = %s AND prev.height_cm IS NOT NULL))""",  # nosec B608 # table names from _meta; values bound
                [year, now, year - 1],
            )
            again = [r[0] for r in cur.fetchall()]
        for i in range(0, len(again), 2000):
            _evaluate_again(again[i : i + 2000], year, as_of, year_end)
    for school_obj in School.objects.filter(pk__in=sorted(full)).iterator(chunk_size=500):
        stats.rebuild(school_obj, year)
    stats.rebuild_from_stored([sid for sid in touched if sid not in full], year, as_of)
    # the stats above were written in bulk (no signals): bring the report roll-up (issue 7) along
    from dmc.reports import rollup

    ordered = sorted(touched)
    for i in range(0, len(ordered), 2000):
        rollup.resync_schools(ordered[i : i + 2000], year)


def _evaluate_again(enrolment_ids: list[int], year: int, as_of: dt.date, year_end: bool) -> None:
    enrolments = list(Enrolment.objects.filter(pk__in=enrolment_ids).select_related("person"))
    stats.reevaluate(enrolments, year, as_of=as_of, year_end=year_end)


def merge(batch: LoadBatch, result: LoadResult) -> None:
    """The set-based validate-and-merge, one transaction (marks the batch merged)."""
    table = _stage_table(batch)
    year = batch.academic_year
    s, rej = _q(table), _q(table + "_rej")
    person, enrol = _q(Person._meta.db_table), _q(Enrolment._meta.db_table)
    school = _q(School._meta.db_table)
    now = timezone.now()
    t0 = time.monotonic()
    with transaction.atomic():
        locked = LoadBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.state == LoadBatch.State.MERGED:
            return
        _exec(f"DROP TABLE IF EXISTS {rej}")
        _exec(
            f"CREATE TABLE {rej} (row_no integer PRIMARY KEY, code text, col text,"
            " value text, detail text)"
        )
        if _is_pg():
            _exec(f"CREATE INDEX ON {s} (person_id)")
            _exec(f"ANALYZE {s}")
        else:
            _exec(f"CREATE INDEX IF NOT EXISTS {_q(table + '_pid')} ON {s} (person_id)")
        for label, sql, params in _merge_sql(table, year):
            t = time.monotonic()
            _exec(sql, params)
            result.seconds[f"merge: {label}"] = round(time.monotonic() - t, 2)
        ok = f"NOT EXISTS (SELECT 1 FROM {rej} r WHERE r.row_no = s.row_no)"  # nosec B608 # table names from _meta; values bound

        t = time.monotonic()
        result.persons_created = _count(
            f"SELECT COUNT(*) FROM {s} s WHERE {ok}"
            f" AND NOT EXISTS (SELECT 1 FROM {person} p WHERE p.person_id = s.person_id)"  # nosec B608 # table names from _meta; values bound
        )
        cols = ", ".join(_q(c) for c in ("person_id", "id_kind", "document_type", *PERSON_FIELDS))
        differs = " OR ".join(f"{person}.{_q(c)} <> excluded.{_q(c)}" for c in PERSON_FIELDS)
        sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in PERSON_FIELDS)
        upserted = _exec(
            f"""INSERT INTO {person} ({cols}, disability, version, created_at, updated_at)
            SELECT {
                ", ".join(
                    "s." + _q(c) for c in ("person_id", "id_kind", "document_type", *PERSON_FIELDS)
                )
            },
                   '', 1, %s, %s
            FROM {s} s WHERE {ok}
            ON CONFLICT (person_id) DO UPDATE SET {sets},
                version = {person}.version + 1, updated_at = excluded.updated_at
            WHERE {differs}""",  # nosec B608 # table names from _meta; values bound
            [now, now],
        )
        result.persons_updated = max(upserted - result.persons_created, 0)
        result.seconds["merge: persons"] = round(time.monotonic() - t, 2)

        t = time.monotonic()
        start = dt.date(year - 543, 5, 16)
        result.enrolments_created = _exec(
            f"""INSERT INTO {enrol} (person_id, school_id, academic_year, student_no, grade, room,
                status, tracked_318, weight_kg, height_cm, admitted_on, leave_reason,
                dropout_reason, leave_note, checks, counted, version, created_at, updated_at)
            SELECT p.id, sc.id, %s, s.student_no, s.grade, s.room, 'active', s.tracked_318,
                   s.weight_kg, s.height_cm, %s, '', '', '', s.checks, s.counted, 1, %s, %s
            FROM {s} s JOIN {person} p ON p.person_id = s.person_id
            JOIN {school} sc ON sc.smis_code = s.school_code
            WHERE {ok} AND NOT EXISTS (SELECT 1 FROM {enrol} e WHERE e.person_id = p.id
                                       AND e.academic_year = %s AND e.status = 'active')""",  # nosec B608 # table names from _meta; values bound
            [year, start, now, now, year],
        )
        # already active at the same school this year: bring the class data up to date
        enrol_differs = " OR ".join(
            f"NOT ({enrol}.{_q(c)} = u.{_q(c)} OR ({enrol}.{_q(c)} IS NULL AND u.{_q(c)} IS NULL))"
            for c in ENROL_FIELDS
        )
        result.enrolments_updated = _exec(
            f"""UPDATE {enrol} SET grade = u.grade, room = u.room, weight_kg = u.weight_kg,
                height_cm = u.height_cm, tracked_318 = u.tracked_318, version = version + 1,
                updated_at = %s
            FROM (SELECT p.id AS pid, sc.id AS sid, s.grade, s.room, s.weight_kg, s.height_cm,
                         s.tracked_318
                  FROM {s} s JOIN {person} p ON p.person_id = s.person_id
                  JOIN {school} sc ON sc.smis_code = s.school_code WHERE {ok}) u
            WHERE {enrol}.person_id = u.pid AND {enrol}.school_id = u.sid
              AND {enrol}.academic_year = %s AND {enrol}.status = 'active'
              AND {enrol}.created_at < %s AND ({enrol_differs})""",  # nosec B608 # table names from _meta; values bound
            [now, year, now],
        )
        # their checklist as staged (derived data, like stats.rebuild: no version bump)
        _exec(
            f"""UPDATE {enrol} SET checks = u.checks, counted = u.counted
            FROM (SELECT p.id AS pid, sc.id AS sid, s.checks, s.counted
                  FROM {s} s JOIN {person} p ON p.person_id = s.person_id
                  JOIN {school} sc ON sc.smis_code = s.school_code WHERE {ok}) u
            WHERE {enrol}.person_id = u.pid AND {enrol}.school_id = u.sid
              AND {enrol}.academic_year = %s AND {enrol}.status = 'active'
              AND {enrol}.created_at < %s
              AND NOT ({enrol}.checks = u.checks AND {enrol}.counted = u.counted)""",  # nosec B608 # table names from _meta; values bound
            [year, now],
        )
        result.seconds["merge: enrolments"] = round(time.monotonic() - t, 2)

        t = time.monotonic()
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT DISTINCT sc.id FROM {s} s
                JOIN {school} sc ON sc.smis_code = s.school_code WHERE {ok}"""  # nosec B608 # table names from _meta; values bound
            )
            touched = [r[0] for r in cur.fetchall()]
            cur.execute(f"SELECT code, COUNT(*) FROM {rej} GROUP BY code")  # nosec B608 # table names from _meta; values bound
            set_rejects = dict(cur.fetchall())
        if (
            result.persons_created
            or result.persons_updated
            or result.enrolments_created
            or (result.enrolments_updated)
        ):
            _refresh_stats(locked, touched, table, ok, now)
        result.schools = len(touched)
        result.seconds["merge: stats"] = round(time.monotonic() - t, 2)

        parse_rejects: dict[str, int] = dict(locked.counts.get("parse", {}))
        by_code = dict(parse_rejects)
        for code, n in set_rejects.items():
            by_code[code] = by_code.get(code, 0) + int(n)
        result.rejects_by_code = by_code
        result.rejected = sum(by_code.values())
        counts = {
            "rows": locked.rows,
            "accepted": locked.staged - sum(int(n) for n in set_rejects.values()),
            "rejected": result.rejected,
            "rejected_by_code": by_code,
            "persons_created": result.persons_created,
            "persons_updated": result.persons_updated,
            "enrolments_created": result.enrolments_created,
            "enrolments_updated": result.enrolments_updated,
            "schools": result.schools,
            "parse": parse_rejects,
        }
        locked.state = LoadBatch.State.MERGED
        locked.counts = counts
        locked.merged_at = clock.now()
        locked.save(update_fields=["state", "counts", "merged_at", "updated_at"])
        audit.record(
            actor=None,
            action="load.batch",
            target=locked,
            after={
                **{k: v for k, v in counts.items() if k != "parse"},
                "academic_year": year,
                "round": locked.round_number,
                "file": locked.file_name,
                "sha256": locked.sha256,
                "batch": locked.name,
            },
        )
    result.seconds["merge"] = round(time.monotonic() - t0, 2)


# -- finish ----------------------------------------------------------------------------------

_FIELD = {"เลขประจำตัวประชาชน": ("เลขประจำตัวประชาชน", "Citizen ID"),
          "เลขประจำตัวนักเรียน": ("เลขประจำตัวนักเรียน", "Student number")}  # fmt: skip


def _set_message(code: str, col: str, value: str, detail: str, year: int) -> str:
    ec = ErrorCode(code)
    params: dict[str, Any]
    if ec == ErrorCode.SCHOOL_UNKNOWN:
        params = {"code": value}
    elif ec == ErrorCode.DUPLICATE_IN_FILE:
        th, en = _FIELD.get(col, (col, col))
        params = {"field_th": th, "field_en": en, "value": value, "first_row": detail}
    elif ec == ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE:
        params = {"school_th": f"โรงเรียน {detail}", "school_en": detail, "year": year}
    elif ec == ErrorCode.STUDENT_NO_TAKEN:
        params = {"student_no": value}
    elif ec == ErrorCode.GRADE_NOT_OFFERED:
        params = {"grade": value}
    else:  # ROOM_OUT_OF_RANGE
        params = {"room": value, "grade": "", "rooms": detail}
    return render_message(ec, params)


def finish(batch: LoadBatch, path: Path, rejects_path: Path) -> None:
    """Append the merge's rejections to the rejection CSV and drop the staging tables."""
    table = _stage_table(batch)
    rej = table + "_rej"
    if _table_exists(rej):
        with connection.cursor() as cur:
            cur.execute(f"SELECT row_no, code, col, value, detail FROM {_q(rej)} ORDER BY row_no")  # nosec B608 # table names from _meta; values bound
            wanted = {int(r[0]): r[1:] for r in cur.fetchall()}
        if wanted:
            mode = "a" if rejects_path.exists() else "w"
            fh, reader = _open_rows(path)
            with fh, rejects_path.open(mode, encoding="utf-8", newline="") as out_fh:
                out = csv.writer(out_fh, lineterminator="\n")
                if mode == "w":
                    out.writerow(REJECT_HEADER)
                next(reader, None)
                for number, values in enumerate(reader, start=2):
                    hit = wanted.get(number)
                    if hit is None:
                        continue
                    code, col, value, detail = hit
                    message = _set_message(code, col, value, detail, batch.academic_year)
                    cells = (list(values) + [""] * len(HEADER))[: len(HEADER)]
                    out.writerow([*cells, number, code, col, f"{col}: {message}"])
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_q(rej)}")
        cur.execute(f"DROP TABLE IF EXISTS {_q(table)}")


# -- the whole run ---------------------------------------------------------------------------


def load(
    path: Path,
    *,
    year: int,
    round_no: int,
    batch_name: str = "",
    rejects_path: Path | None = None,
    progress: IO[str] | None = None,
    stop_after_stage: bool = False,
    workers: int | None = None,
) -> LoadResult:
    """Load ``path`` as one batch (see the module doc). ``stop_after_stage`` simulates a run
    killed between staging and merging (tests)."""
    t0 = time.monotonic()
    sha = file_sha256(path)
    name = batch_name or sha
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    batch, _ = LoadBatch.objects.get_or_create(
        name=name,
        defaults={
            "sha256": sha,
            "file_name": path.name,
            "academic_year": year,
            "round_number": round_no,
        },
    )
    if batch.sha256 != sha:
        raise DmcError(ErrorCode.BATCH_FILE_MISMATCH, batch=name)
    result = LoadResult(batch=name, sha256=sha, state=batch.state, already_loaded=False)
    result.rejects_path = str(rejects_path)
    result.seconds["sha256"] = round(time.monotonic() - t0, 2)
    if batch.state == LoadBatch.State.MERGED:
        result.already_loaded = True
        _fill_from_counts(result, batch)
        if _table_exists(_stage_table(batch)):  # killed after the merge committed
            finish(batch, path, rejects_path)
        return result
    table = _stage_table(batch)
    restage = batch.state == LoadBatch.State.STAGING or not _table_exists(table)
    if not restage and _count(f"SELECT COUNT(*) FROM {_q(table)}") != batch.staged:  # nosec B608 # table names from _meta; values bound
        restage = True  # an UNLOGGED table emptied by a PostgreSQL crash
    t = time.monotonic()
    if restage:
        LoadBatch.objects.filter(pk=batch.pk).update(state=LoadBatch.State.STAGING)
        result.workers = default_workers(path) if workers is None else workers
        stage(batch, path, rejects_path, progress=progress, workers=result.workers)
    result.seconds["stage"] = round(time.monotonic() - t, 2)
    result.peak_rss_mib["after_stage"] = _maxrss_mib()
    batch.refresh_from_db()
    result.rows, result.staged = batch.rows, batch.staged
    if stop_after_stage:
        result.state = batch.state
        return result
    merge(batch, result)
    t = time.monotonic()
    finish(batch, path, rejects_path)
    result.seconds["finish"] = round(time.monotonic() - t, 2)
    batch.refresh_from_db()
    result.state = batch.state
    result.seconds["total"] = round(time.monotonic() - t0, 2)
    result.peak_rss_mib["main"] = _maxrss_mib()
    result.peak_rss_mib["worker_max"] = _maxrss_mib(resource.RUSAGE_CHILDREN)
    return result


def _maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MiB. For this process, Linux's VmHWM (since ``exec``: the
    rusage figure also counts the memory of the parent that started us); for the workers, the
    rusage of children (a fork shares the parent's pages, so summing them overstates)."""
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def _fill_from_counts(result: LoadResult, batch: LoadBatch) -> None:
    c = batch.counts
    result.state = batch.state
    result.rows, result.staged = batch.rows, batch.staged
    result.rejected = int(c.get("rejected", 0))
    result.rejects_by_code = dict(c.get("rejected_by_code", {}))
    result.schools = int(c.get("schools", 0))


# -- areas and schools from `dmc synth --schools-out` ----------------------------------------


def load_schools_csv(path: Path, *, year: int) -> tuple[int, int]:
    """Create the areas, schools and their grades (rooms) for ``year`` listed in synth's schools
    CSV; what exists already is left alone. Returns (schools created, grades created)."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        records = list(csv.DictReader(fh))
    with transaction.atomic():
        areas = {a.code: a for a in AreaOffice.objects.all()}
        for r in records:
            if r["area_code"] not in areas:
                areas[r["area_code"]] = AreaOffice.objects.create(
                    code=r["area_code"],
                    name=r["area_name"],
                    kind=r["area_kind"],
                    province_code=r["province_code"],
                )
        existing = set(School.objects.values_list("smis_code", flat=True))
        new = [
            School(
                smis_code=r["smis_code"],
                moe_code=r["moe_code"],
                obec_code=r["obec_code"],
                name=f"โรงเรียน{r['name']}",
                area=areas[r["area_code"]],
                province_code=r["province_code"],
                boarding=r["boarding"] == "1",
            )
            for r in records
            if r["smis_code"] not in existing
        ]
        School.objects.bulk_create(new, batch_size=1000)
        ids = dict(School.objects.values_list("smis_code", "pk"))
        have = set(SchoolGrade.objects.filter(academic_year=year).values_list("school_id", "grade"))
        grades = []
        for r in records:
            sid = ids[r["smis_code"]]
            for item in r["rooms_by_grade"].split():
                g, rooms = item.split(":")
                if (sid, g) not in have and int(rooms) > 0:
                    grades.append(
                        SchoolGrade(school_id=sid, academic_year=year, grade=g, rooms=int(rooms))
                    )
        SchoolGrade.objects.bulk_create(grades, batch_size=2000)
        # rooms written in bulk (no signals): the report roll-up follows them (issue 7)
        from dmc.reports import rollup

        with_grades = sorted({g.school_id for g in grades})
        for i in range(0, len(with_grades), 2000):
            rollup.resync_schools(with_grades[i : i + 2000], year)
    return len(new), len(grades)


def iter_result_lines(result: LoadResult) -> Iterator[str]:
    """The human summary ``dmc load`` prints."""
    if result.already_loaded:
        yield f"batch {result.batch[:16]} already loaded: nothing changed"
    yield (
        f"{result.rows:,} rows: {result.rows - result.rejected:,} accepted,"
        f" {result.rejected:,} rejected"
    )
    if not result.already_loaded:
        yield (
            f"persons {result.persons_created:,} new, {result.persons_updated:,} updated;"
            f" enrolments {result.enrolments_created:,} new, {result.enrolments_updated:,}"
            f" updated; {result.schools:,} schools"
        )
    for code, n in sorted(result.rejects_by_code.items()):
        yield f"  rejected {code}: {n:,}"
    if result.rejected:
        yield f"rejections: {result.rejects_path}"
