"""The school's 39-column student list, exported in real time as CSV or XLSX (SPEC §8).

Scoped exactly like the student list (``school_get`` then ``enrolment_list``: a school exports
its own students, an area its schools', OBEC any school's). Every export is an audit event
(``export.students``, target the school, the row count and format); an area office or OBEC must
state a purpose (PDPA), which is kept as the event's reason.

Memory stays bounded: the export first takes the ordered ids of the school's rows (one integer
per student, which also fixes the row count the audit records), then reads the rows in chunks.
CSV is streamed to the client as it is made; XLSX is written in openpyxl's write-only mode to a
temporary file that is then streamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.models import AccessEvent
from dmc.core.normalize import clean_text
from dmc.exchange.format import HEADER, neutralise, row_for
from dmc.exchange.xlsx import column_width, write_table_to
from dmc.privacy import access
from dmc.rounds import selectors as round_selectors
from dmc.rounds.stats import as_of_for
from dmc.schools import selectors as school_selectors
from dmc.schools.models import School
from dmc.students import selectors as student_selectors
from dmc.students.models import Enrolment

FORMATS = ("csv", "xlsx")
CHUNK = 500
PURPOSE_MAX = 300
BOM = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class StudentExport:
    """What one export will write: the school, the year, the rows' ids in list order."""

    school: School
    year: int
    fmt: str
    ids: list[int]
    age_at: dt.date

    @property
    def filename(self) -> str:
        return f"students_{self.school.smis_code}_{self.year}.{self.fmt}"

    def rows(self) -> Iterator[list[str]]:
        """The 39 columns of every student, read CHUNK rows at a time (not neutralised)."""
        for start in range(0, len(self.ids), CHUNK):
            chunk = self.ids[start : start + CHUNK]
            found = {
                e.pk: e
                for e in Enrolment.objects.filter(pk__in=chunk).select_related("person", "school")
            }
            for pk in chunk:
                e = found.get(pk)
                if e is not None:
                    yield row_for(e, age_at=self.age_at)


def purpose_required(actor: Actor) -> bool:
    """Area offices and OBEC export other units' children: they must say why (PDPA)."""
    return not actor.is_school


@transaction.atomic
def students_export(
    *, actor: Actor, smis_code: str, year: int | None = None, fmt: str = "csv", purpose: str = ""
) -> StudentExport:
    """Check scope and purpose, fix the rows and record the export. Raises NOT_FOUND (404) /
    NOT_IN_SCOPE (403) like the student list, EXPORT_PURPOSE_REQUIRED (400)."""
    if fmt not in FORMATS:
        raise DmcError(
            ErrorCode.CODE_UNKNOWN,
            fields={"format": [fmt]},
            value=fmt,
            list_th="รูปแบบไฟล์ (csv, xlsx)",
            list_en="file format (csv, xlsx)",
        )
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    reason = clean_text(purpose)[:PURPOSE_MAX]
    if purpose_required(actor) and not reason:
        err = DmcError(ErrorCode.EXPORT_PURPOSE_REQUIRED, http_status=400)
        err.fields = {"purpose": [err.message]}
        raise err
    if year is None:
        year = round_selectors.current_year(clock.now()) or 0
    ids = list(
        student_selectors.enrolment_list(actor=actor, school=school, academic_year=year)
        .values_list("pk", flat=True)
        .iterator(chunk_size=2000)
    )
    audit.record(
        actor=actor,
        action="export.students",
        target=school,
        after={"rows": len(ids), "format": fmt, "academic_year": year},
        reason=reason,
    )
    # and in the PDPA access log, for every role (issue 9)
    access.record(
        actor=actor,
        kind=AccessEvent.Kind.EXPORT,
        school_id=school.pk,
        purpose=access.Purpose("", reason),
        academic_year=year,
        rows=len(ids),
    )
    return StudentExport(school=school, year=year, fmt=fmt, ids=ids, age_at=as_of_for(year))


# --- writers -------------------------------------------------------------------------------------


class _Line:
    """A file-like sink for ``csv.writer`` that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(export: StudentExport, *, rows_per_chunk: int = 200) -> Iterator[bytes]:
    """UTF-8 with a BOM (so Excel reads Thai), CRLF lines, neutralised cells, in pieces."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield (BOM + writer.writerow(HEADER)).encode("utf-8")
    buffer: list[str] = []
    for row in export.rows():
        buffer.append(writer.writerow([neutralise(v) for v in row]))
        if len(buffer) >= rows_per_chunk:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    if buffer:
        yield "".join(buffer).encode("utf-8")


#: column widths of the export sheet (every cell is text, so IDs and BE dates stay as written)
_WIDTHS = [
    {"เลขประจำตัวประชาชน": 16.0, "ชื่อโรงเรียน": 28.0, "วันเกิด": 12.0}.get(h, column_width(h, 6))
    for h in HEADER
]


def xlsx_file(export: StudentExport) -> IO[bytes]:
    """The workbook in a temporary file, positioned at its start (the caller closes it)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        write_table_to(
            out, f"นักเรียน {export.school.smis_code} {export.year}", HEADER, export.rows(),
            widths=_WIDTHS,
        )  # fmt: skip
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out
