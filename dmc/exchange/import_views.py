"""The school officer's import pages: upload → preview → confirm (commit) → progress → result,
and the quarantine download. Thin edges over ``importer``.

The file is checked inside the upload request (about half a second for 2,000 rows); the commit
is queued as a background job (``import_jobs``, run by a ``dmc worker``) so that on deadline day
many schools committing at once do not hold the web workers: ยืนยันนำเข้า queues the job and
sends the officer to a progress page that polls every second (htmx) and goes on to the result
page when the job is done, or shows the refusal in Thai/English when it failed. The same file
confirmed again while its job runs goes to that job's page. The upload is kept server-side
(``importer.Upload``) bound to the user and the school; the commit reads it again and re-checks
every row against the data as it is then.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import lang, tr
from dmc.exchange import import_jobs, importer
from dmc.exchange.reader import SCHOOL, human_size, too_large
from dmc.exchange.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from dmc.jobs import queue
from dmc.jobs.models import Job
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.schools.models import School

ERRORS_PER_PAGE = 50
#: multipart overhead allowed on top of the file limit before the body is refused unread
_FORM_OVERHEAD = 64 * 1024


def _officer(request: HttpRequest) -> tuple[Actor, School]:
    actor = actor_of(request)
    actor.require_role(Role.SCHOOL_OFFICER)
    school = school_selectors.school_get(actor=actor, smis_code=own_school_code(request) or "")
    return actor, school


def _limits_text() -> str:
    max_bytes, max_rows = SCHOOL.max_bytes or 0, SCHOOL.max_rows or 0
    return tr(
        f"ไฟล์ CSV หรือ Excel (.xlsx) ขนาดไม่เกิน {human_size(max_bytes)} ไม่เกิน {max_rows:,} แถว",
        f"A CSV or Excel (.xlsx) file of at most {human_size(max_bytes)} and {max_rows:,} rows",
    )


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect; an htmx request is sent to the page with HX-Redirect (a real navigation)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@actor_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Choose a file and the options; the file is checked (not saved) and the preview shown."""
    actor, school = _officer(request)
    now = clock.now()
    year = round_selectors.current_year(now) or 0
    error: DmcError | None = None
    window_error: DmcError | None = None
    round_number = 0
    try:
        round_number = importer.entry_round(year, None, school).number
    except DmcError as exc:
        window_error = exc
    status = 200
    if request.method == "POST":
        options = importer.Options(
            dry_run=True,
            strict=request.POST.get("strict") == "1",
            sat_exam=request.POST.get("sat_exam") == "1",
        )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            limit = SCHOOL.max_bytes or 0
            if limit and length > limit + _FORM_OVERHEAD:
                raise too_large(length, limit)
            upload_file = request.FILES.get("file")
            if upload_file is None:
                raise DmcError(
                    ErrorCode.REQUIRED, field_th="ไฟล์รายชื่อนักเรียน", field_en="The student file"
                )
            upload = importer.upload_store(
                actor=actor,
                school=school,
                year=year,
                chunks=upload_file.chunks(),
                filename=upload_file.name or "",
                options=options,
            )
            try:
                result = importer.import_file(
                    actor=actor,
                    school=school,
                    year=year,
                    path=upload.path,
                    filename=upload.filename,
                    options=options,
                )
            except DmcError:
                upload.discard()  # a refused file is not kept
                raise
            upload.save("preview", result)
        except DmcError as exc:
            error = exc
            # htmx swaps only 2xx responses: the page with the refusal comes back as 200 to it
            status = 200 if getattr(request, "htmx", False) else exc.http_status
        else:
            return _go(request, reverse("import-preview", args=[upload.id]))
    return render(
        request,
        "dmc/import_upload.html",
        {
            "school": school,
            "year": year,
            "round_number": round_number,
            "year_end": round_number == importer.YEAR_END_ROUND,
            "error": error,
            "window_error": window_error,
            "limits": _limits_text(),
            "post": request.POST,
        },
        status=status,
    )


def _page_context(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    language = lang()
    rows = importer.stored_error_rows(data, language)
    page = Paginator(rows, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    counts = [
        (key, importer.KIND_LABELS[key][1 if language == "en" else 0], n)
        for key, n in (*data["counts"].items(), ("rejected", data["rejected"]))
    ]
    return {"data": data, "page": page, "counts": counts}


@actor_required
def import_preview(request: HttpRequest, upload_id: str) -> HttpResponse:
    actor, school = _officer(request)
    upload = importer.upload_get(actor=actor, upload_id=upload_id)
    data = upload.load("preview")
    if data is None:
        return redirect("import-upload")
    blocked = data["strict"] and data["rejected"] > 0
    return render(
        request,
        "dmc/import_preview.html",
        {
            "school": school,
            "upload": upload,
            "can_commit": data["changed"] > 0 and not blocked,
            "strict_blocked": blocked,
            **_page_context(request, data),
        },
    )


@actor_required
@require_POST
def import_commit(request: HttpRequest, upload_id: str) -> HttpResponse:
    """ยืนยันนำเข้า: queue the commit of the kept file (every row re-checked by the job) and go
    to its progress page."""
    actor, school = _officer(request)
    upload = importer.upload_get(actor=actor, upload_id=upload_id)
    if upload.meta["school_id"] != school.pk:
        raise DmcError(ErrorCode.NOT_FOUND, http_status=404)
    job, _ = import_jobs.enqueue_import(
        actor=actor, upload=upload, school=school, options=upload.options
    )
    return _go(request, reverse("import-job", args=[job.pk]))


_STATE_TEXT = {
    Job.State.QUEUED: ("รอคิวนำเข้า", "Waiting in the queue"),
    Job.State.RUNNING: ("กำลังนำเข้า", "Importing"),
    Job.State.DONE: ("นำเข้าเสร็จแล้ว", "Imported"),
    Job.State.FAILED: ("นำเข้าไม่สำเร็จ", "The import failed"),
}


@actor_required
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress of a queued commit: polled every second by htmx; when the job is done the
    officer is sent to the result page."""
    actor, school = _officer(request)
    job = queue.job_get(actor=actor, job_id=job_id, kind=import_jobs.KIND)
    upload_id = str(job.params.get("upload_id", ""))
    if job.state == Job.State.DONE:
        return _go(request, reverse("import-result", args=[upload_id]))
    en = lang() == "en"
    rows = job.total // 2
    if job.total and job.done >= rows:
        step = tr(f"บันทึกแล้ว {job.done - rows:,} จาก {rows:,} แถว",
                  f"{job.done - rows:,} of {rows:,} rows written")  # fmt: skip
    elif job.total:
        step = tr(f"ตรวจสอบแล้ว {job.done:,} จาก {rows:,} แถว",
                  f"{job.done:,} of {rows:,} rows checked")  # fmt: skip
    else:
        step = tr(f"กำลังอ่านไฟล์ (อ่านแล้ว {job.done:,} แถว)",
                  f"Reading the file ({job.done:,} rows so far)")  # fmt: skip
    error = None
    if job.state == Job.State.FAILED:
        code, message = queue.failure(job, "en" if en else "th")
        error = {"code": code.value, "message": message}
    context = {
        "school": school,
        "job": job,
        "upload_id": upload_id,
        "state_text": _STATE_TEXT[Job.State(job.state)][1 if en else 0],
        "step": step,
        "error": error,
        "polling": job.state in (Job.State.QUEUED, Job.State.RUNNING),
    }
    template = (
        "dmc/import_part_job.html" if getattr(request, "htmx", False) else "dmc/import_job.html"
    )
    return render(request, template, context)


@actor_required
def import_result(request: HttpRequest, upload_id: str) -> HttpResponse:
    actor, school = _officer(request)
    upload = importer.upload_get(actor=actor, upload_id=upload_id)
    data = upload.load("result")
    if data is None:
        return redirect("import-preview", upload_id=upload.id)
    return render(
        request,
        "dmc/import_result.html",
        {"school": school, "upload": upload, **_page_context(request, data)},
    )


@actor_required
def import_quarantine(request: HttpRequest, upload_id: str) -> HttpResponseBase:
    """The refused rows as XLSX (the 39 columns + the errors in Thai), to fix and upload again."""
    actor, _ = _officer(request)
    upload = importer.upload_get(actor=actor, upload_id=upload_id)
    out, name, _rows = importer.quarantine_file(actor=actor, upload=upload)
    response = FileResponse(out, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
