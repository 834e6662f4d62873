"""The school import over the REST API: ``POST /api/v1/imports`` (a multipart upload) and the
quarantine XLSX of its refused rows. The same pipeline as the web pages and ``dmc import``."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation
from ninja import Field, File, Form, Path, Router, Schema, Status
from ninja.files import UploadedFile

from dmc.accounts.actor import api_actor
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.schemas import BUSY, ErrorOut
from dmc.exchange import import_jobs, importer
from dmc.exchange.reader import SCHOOL, too_large
from dmc.exchange.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from dmc.jobs import queue
from dmc.jobs.models import Job
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.schools.models import School

router = Router(tags=["imports"])

UPLOAD_ID = r"^[0-9a-f]{32}$"


class ImportRowError(Schema):
    row: int = Field(..., description="The row number as the spreadsheet shows it (header = 1)")
    column: str = Field(..., description="The column's Thai header; empty for the whole row")
    value: str = Field(..., description="The value in the file (cut to 60 characters)")
    code: str = Field(..., description="A stable error code (see the error codes list)")
    message: str


class ImportOut(Schema):
    rows: int = Field(..., description="Data rows read (blank rows skipped)")
    accepted: int = Field(..., description="Rows committed (with dry_run: that would be)")
    rejected: int = Field(..., description="Rows refused, each listed in errors")
    errors: list[ImportRowError]
    committed: bool = Field(..., description="False for a dry run and for strict with errors")
    quarantine_url: str | None = Field(
        None, description="The refused rows as XLSX (39 columns + the errors), to fix and resend"
    )
    id: str = Field(..., description="The upload's id (the same file gives the same id)")
    sha256: str
    counts: dict[str, int] = Field(
        ..., description="Good rows by kind: new, transfer_in, update, unchanged"
    )
    academic_year: int
    round: int


class ImportJobOut(Schema):
    job_id: int = Field(..., description="The background job's id")
    state: str = Field(..., description="queued, running, done or failed")
    done: int = Field(..., description="Progress units done (rows checked, then rows written)")
    total: int = Field(..., description="Progress units in all (0 while the file is read)")
    percent: int
    url: str = Field(..., description="Where to poll: GET it until state is done or failed")
    result: ImportOut | None = Field(
        None, description="When done: the same body as the synchronous import returns"
    )
    error: ErrorOut | None = Field(
        None,
        description="When failed: the code and message (the whole-file refusals of the"
        " synchronous import, `job_failed`, `job_abandoned`, `job_role_revoked`)",
    )


_DOC = (
    "Upload one school's student list (DMC's 39 columns, CSV in UTF-8/TIS-620 or XLSX, at most"
    " 10 MB and 5,000 rows) as `multipart/form-data` with the file in `file`. Every row goes"
    " through the same rules as the forms; a person new nationally is added, a known person not"
    " active anywhere this year is transferred in, this school's students are updated (only what"
    " changed), everything else is refused per row. Good rows are committed and refused rows"
    " listed in `errors` (row as the spreadsheet numbers it, column, value, code, message) and"
    " downloadable at `quarantine_url`; `strict=true` commits nothing when any row is refused;"
    " `dry_run=true` only checks. Round 3 (end of year): `sat_exam=true` declares that everyone"
    " new in the file sat this year's final exam here, else those rows are refused with"
    " `add_not_exam_taker`. Importing the same file again changes nothing.\n\n"
    "Whole-file refusals (nothing saved): 400 `import_file_empty`, `import_not_text`,"
    " `import_encoding`, `import_format`, `import_header`, `import_no_rows`,"
    " `import_too_many_rows`, `import_cell_huge`, `xlsx_not_zip`, `xlsx_zip_bomb`,"
    " `xlsx_xml_entity`, `xlsx_sheet_too_big`, `xlsx_broken`; 413 `import_file_too_large`;"
    " 403 `role_not_allowed` / `not_in_scope`; 404 unknown school; 409 `window_closed`,"
    " `confirmed_read_only` (D8), `import_round_mismatch`, `import_conflict`.\n\n"
    "`background=true` (for busy days): the file is kept, the role, scope and entry window are"
    " checked, and the import is queued for a background worker: 202 with an `ImportJobOut`"
    " whose `url` (`GET /api/v1/imports/{job_id}`) gives its progress and, when done, the same"
    " body as above in `result`; a whole-file refusal then comes as the job's `error`. Sending"
    " the same file with the same options while its job is unfinished returns that job."
)


def _lang(request: HttpRequest) -> str:
    from config.api import _lang as api_lang

    return api_lang(request)


@router.post(
    "",
    response={
        200: ImportOut,
        202: ImportJobOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        **BUSY,
    },
    summary="Import a school's 39-column student list (CSV/XLSX): check, then commit the good rows",
    description=_DOC,
)
def import_create(
    request: HttpRequest,
    file: File[UploadedFile],
    school_code: str = Form(
        "", max_length=20, description="The school's SMIS code (a school token: its own school)"
    ),
    dry_run: bool = Form(False, description="Check only; save nothing"),
    strict: bool = Form(False, description="All or nothing: save nothing if any row is refused"),
    sat_exam: bool = Form(
        False,
        description="Round 3: everyone new in the file sat this year's final exam at this school",
    ),
    background: bool = Form(
        False, description="Queue the import and answer 202 at once (poll the job's url)"
    ),
) -> Any:
    actor = api_actor(request)
    if (file.size or 0) > (SCHOOL.max_bytes or 0):
        raise too_large(file.size or 0, SCHOOL.max_bytes or 0)
    code = school_code.strip()[:8]
    if not code and actor.is_school and actor.school_id is not None:
        code = School.objects.get(pk=actor.school_id).smis_code
    if not code:
        err = DmcError(ErrorCode.REQUIRED, field_th="รหัสโรงเรียน", field_en="school_code")
        err.fields = {"school_code": [err.message]}
        raise err
    school = school_selectors.school_get(actor=actor, smis_code=code)
    year = round_selectors.current_year(clock.now()) or 0
    options = importer.Options(dry_run=dry_run, strict=strict, sat_exam=sat_exam)
    upload = importer.upload_store(
        actor=actor,
        school=school,
        year=year,
        chunks=file.chunks(),
        filename=file.name or "",
        options=options,
    )
    language = _lang(request)
    if background:
        importer.entry_round(year, None, school)  # a closed window is refused now (409)
        job, _ = import_jobs.enqueue_import(
            actor=actor, upload=upload, school=school, options=options
        )
        job.refresh_from_db()  # an inline run (tests) may have finished it
        return Status(202, job_body(actor, job, language))
    try:
        with translation.override(language):
            result = importer.import_file(
                actor=actor,
                school=school,
                year=year,
                path=upload.path,
                filename=upload.filename,
                options=options,
            )
    except DmcError:
        upload.discard()
        raise
    upload.save("preview" if dry_run else "result", result)
    body = result.as_json()
    body["errors"] = [{**e.as_dict(), "message": e.message_in(language)} for e in result.errors]
    return {
        **body,
        "committed": result.committed,
        "quarantine_url": (
            f"/api/v1/imports/{upload.id}/quarantine.xlsx" if result.rejected else None
        ),
        "id": upload.id,
        "sha256": result.sha256,
        "counts": result.counts,
        "academic_year": result.year,
        "round": result.round_number,
    }


def result_body(upload_id: str, data: dict[str, Any], language: str) -> dict[str, Any]:
    """The synchronous import's body from a stored result (``importer.result_data``)."""
    return {
        "rows": data["rows"],
        "accepted": data["accepted"],
        "rejected": data["rejected"],
        "errors": importer.stored_error_rows(data, language),
        "committed": data["committed"],
        "quarantine_url": (
            f"/api/v1/imports/{upload_id}/quarantine.xlsx" if data["rejected"] else None
        ),
        "id": upload_id,
        "sha256": data["sha256"],
        "counts": data["counts"],
        "academic_year": data["year"],
        "round": data["round"],
    }


def job_body(actor: Any, job: Job, language: str) -> dict[str, Any]:
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    if job.state == Job.State.DONE and job.result:
        try:
            upload = importer.upload_get(actor=actor, upload_id=str(job.result["upload_id"]))
        except DmcError:
            upload = None  # the kept upload was deleted (KEEP_FOR)
        data = import_jobs.job_result(upload, job) if upload is not None else None
        if data is not None and upload is not None:
            result = result_body(upload.id, data, language)
    if job.state == Job.State.FAILED:
        code, message = queue.failure(job, language)
        error = {"code": code.value, "message": message, "fields": {}}
    return {
        "job_id": job.pk,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "url": f"/api/v1/imports/{job.pk}",
        "result": result,
        "error": error,
    }


@router.get(
    "/{job_id}",
    response={200: ImportJobOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, **BUSY},
    summary="A background import's state, progress and, when done, its result",
    description="Only for the user (in the same role) who queued it: 404 for anyone else and for"
    " an unknown id. Poll until `state` is `done` (then `result` is the synchronous import's"
    " body) or `failed` (then `error` has the code and message). Finished jobs are kept for"
    " DMC_JOB_RETENTION_DAYS days.",
)
def import_job(request: HttpRequest, job_id: int = Path(..., ge=1, le=2**62)) -> dict[str, Any]:
    actor = api_actor(request)
    job = queue.job_get(actor=actor, job_id=job_id, kind=import_jobs.KIND)
    return job_body(actor, job, _lang(request))


@router.get(
    "/{import_id}/quarantine.xlsx",
    response={200: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, **BUSY},
    summary="The refused rows of an import as XLSX (DMC's 39 columns + the errors in Thai)",
    description="Only for the user who uploaded the file (404 for anyone else). The rows are"
    " written as text, formula-neutralised, with the error column and the original row number"
    " after the 39 columns, so the fixed file can be uploaded as it is. Audit-logged.",
    openapi_extra={
        "responses": {
            200: {
                "description": "An XLSX workbook",
                "content": {XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def import_quarantine(
    request: HttpRequest, import_id: str = Path(..., pattern=UPLOAD_ID)
) -> HttpResponseBase:
    actor = api_actor(request)
    upload = importer.upload_get(actor=actor, upload_id=import_id)
    out, name, _ = importer.quarantine_file(actor=actor, upload=upload)
    response = FileResponse(out, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
