"""Data-exchange operations of the REST API: the student-list export (CSV/XLSX), the per-school
XLSX template and the public statistics."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from ninja import Field, Query, Router, Schema

from dmc.accounts.actor import api_actor
from dmc.core.schemas import BUSY, ERRORS, ErrorOut
from dmc.exchange import export, public, template
from dmc.exchange.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE

router = Router(tags=["exchange"])


class ExportQuery(Schema):
    year: int | None = Field(None, ge=2400, le=2700, description="Academic year (BE)")
    purpose: str = Field(
        "",
        max_length=export.PURPOSE_MAX,
        description="Why the data is needed (required for area-office and OBEC tokens; logged)",
    )


class TemplateQuery(Schema):
    year: int | None = Field(None, ge=2400, le=2700, description="Academic year (BE)")


def _binary(media_type: str, text: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": text,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


_EXPORT_DOC = (
    "The 39 columns of DMC's student list (SPEC §8) for the school's active students of the"
    " year, in Thai name order, read in real time. Scoped like the student list (404 unknown"
    " school, 403 another unit's). Cells starting with = + - @ (or a tab/CR) get a leading"
    " apostrophe. Every export is audit-logged; area-office and OBEC tokens must send `purpose`"
    " (400 `export_purpose_required` without it)."
)


def csv_response(ex: export.StudentExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.csv_chunks(ex), content_type=export.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{ex.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def xlsx_response(ex: export.StudentExport) -> FileResponse:
    response = FileResponse(
        export.xlsx_file(ex),
        as_attachment=True,
        filename=ex.filename,
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


@router.get(
    "/schools/{smis_code}/students.csv",
    response={200: None, **ERRORS},
    summary="Export a school's student list as CSV (UTF-8 with BOM, DMC's 39 columns)",
    description=_EXPORT_DOC,
    openapi_extra=_binary("text/csv", "CSV, UTF-8 with a byte-order mark, CRLF lines"),
)
def export_csv(request: HttpRequest, smis_code: str, q: Query[ExportQuery]) -> HttpResponseBase:
    ex = export.students_export(
        actor=api_actor(request), smis_code=smis_code, year=q.year, fmt="csv", purpose=q.purpose
    )
    return csv_response(ex)


@router.get(
    "/schools/{smis_code}/students.xlsx",
    response={200: None, **ERRORS},
    summary="Export a school's student list as XLSX (DMC's 39 columns)",
    description=_EXPORT_DOC,
    openapi_extra=_binary(XLSX_CONTENT_TYPE, "An XLSX workbook, one sheet, every cell text"),
)
def export_xlsx(request: HttpRequest, smis_code: str, q: Query[ExportQuery]) -> HttpResponseBase:
    ex = export.students_export(
        actor=api_actor(request), smis_code=smis_code, year=q.year, fmt="xlsx", purpose=q.purpose
    )
    return xlsx_response(ex)


@router.get(
    "/schools/{smis_code}/template.xlsx",
    response={200: None, **ERRORS},
    summary="The school's XLSX import template (DMC's 39 columns, a dropdown for every code)",
    description="Grades limited to those the school offers, rooms 1..its most rooms; the code"
    " lists on a hidden sheet `lists`. No personal data.",
    openapi_extra=_binary(XLSX_CONTENT_TYPE, "An XLSX workbook"),
)
def school_template(request: HttpRequest, smis_code: str, q: Query[TemplateQuery]) -> HttpResponse:
    name, content = template.school_template(
        actor=api_actor(request), smis_code=smis_code, year=q.year
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- public statistics ---------------------------------------------------------------------------


class PublicStatsQuery(Schema):
    area: str = Field(..., min_length=1, max_length=8, description="Area office code")
    year: int = Field(..., ge=2400, le=2700, description="Academic year (BE)")
    round: int = Field(..., ge=1, le=3, description="Round 1, 2 or 3")


class PublicStatsOut(Schema):
    success: bool
    area: str
    areaName: str  # noqa: N815 - DMC-style key
    year: int
    round: int
    asOf: str | None  # noqa: N815
    source: str = Field(..., description='"close" (official) or "confirm" (provisional)')
    official: bool
    sourceNote: str  # noqa: N815
    sourceNoteEn: str  # noqa: N815
    note: str
    noteEn: str  # noqa: N815
    suppressedCells: int  # noqa: N815
    levels: list[str]
    schools: int
    missing: list[str]
    data: list[dict[str, str | int | bool | None]] = Field(
        ...,
        description='One object per school: "รหัสเขต", "รหัสโรงเรียน", "schoolCode",'
        ' "schoolName" and, for each of the 18 levels (อ.1 … ปวช.3), "<level> ชาย",'
        ' "<level> หญิง" (null when suppressed) and "<level> ห้อง"; the last object is the'
        ' total (schoolName "รวม"), as in DMC',
    )
    totals: dict[str, int | None]


_PUBLIC_DOC = (
    "No login. DMC's `restpublicstat` shape: `data` has one object per school with"
    ' `"schoolCode"`, `"schoolName"` (and DMC\'s `"รหัสเขต"`, `"รหัสโรงเรียน"`) and for each level'
    ' อ.1 … ปวช.3 `"<level> ชาย"`, `"<level> หญิง"`, `"<level> ห้อง"`; the last object is the'
    " total (as in DMC); `totals` repeats it. Counts are never live data: `source` is `close`"
    " (the round's close snapshot, official) or `confirm` (the confirmed schools' confirm"
    " snapshots, provisional; unconfirmed schools are listed in `missing`). Counts of 1–4 (and"
    " a complementary cell where a total would reveal one) are null (`note`). Cacheable:"
    " `Cache-Control: public, max-age=300` and an `ETag` (send `If-None-Match` for a 304)."
)


def _etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


@router.get(
    "/public/stats",
    auth=None,
    response={200: PublicStatsOut, 404: ErrorOut, 422: ErrorOut, **BUSY},
    summary="Public statistics of an area's schools in one round (DMC's restpublicstat shape:"
    ' per school "<level> ชาย", "<level> หญิง", "<level> ห้อง"; small cells null)',
    description=_PUBLIC_DOC,
)
def public_stats(request: HttpRequest, q: Query[PublicStatsQuery]) -> HttpResponse:
    payload = public.public_stats(area_code=q.area, year=q.year, round_no=q.round)
    body = public.render(payload)
    etag = public.etag_of(body)
    if _etag_matches(request, etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    return response
