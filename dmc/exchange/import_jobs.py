"""The school import as a background job (``dmc.jobs``): the web page's ยืนยันนำเข้า and
``POST /api/v1/imports`` with ``background=true`` queue it; a ``dmc worker`` runs it.

The job reads the kept upload (``importer.Upload``) and runs the same ``importer.import_file``
as the request would, then stores the result beside the upload (``result.json``, or
``preview.json`` for a dry run) exactly as the synchronous path does. The job row holds only ids,
options and counts (no names, IDs or row values: PDPA); the per-row errors stay with the upload,
which only its uploader can read and which is deleted after ``importer.KEEP_FOR``.

Progress: rows checked, then rows written, as ``done``/``total`` where ``total`` is twice the
file's rows (0 while the file is still being read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dmc.accounts.actor import Actor
from dmc.exchange import importer
from dmc.jobs import queue
from dmc.jobs.models import Job
from dmc.schools.models import School

KIND = "import"


def enqueue_import(
    *, actor: Actor, upload: importer.Upload, school: School, options: importer.Options
) -> tuple[Job, bool]:
    """Queue the import of a kept upload; the same upload with the same options while its job
    is unfinished returns that job (created False)."""
    params = {
        "upload_id": upload.id,
        "school_id": school.pk,
        "year": int(upload.meta["year"]),
        "dry_run": options.dry_run,
        "strict": options.strict,
        "sat_exam": options.sat_exam,
    }
    flags = "".join("1" if f else "0" for f in (options.dry_run, options.strict, options.sat_exam))
    return queue.enqueue(
        kind=KIND,
        actor=actor,
        params=params,
        dedupe_key=f"{KIND}:{upload.id}:{flags}",
        school_id=school.pk,
        area_id=school.area_id,
    )


def job_result_path(upload: importer.Upload, job: Job) -> Path:
    return upload.directory / f"job-{job.pk}.json"


def job_result(upload: importer.Upload, job: Job) -> dict[str, Any] | None:
    """The stored result of this job (beside the upload, with its per-row errors)."""
    path = job_result_path(upload, job)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def stage_of(job: Job) -> str:
    return "preview" if job.params.get("dry_run") else "result"


@queue.register(KIND)
def run_import(job: Job, actor: Actor, progress: queue.Progress) -> dict[str, Any]:
    p = job.params
    upload = importer.upload_get(actor=actor, upload_id=str(p["upload_id"]))
    school = School.objects.get(pk=p["school_id"])
    options = importer.Options(
        dry_run=bool(p.get("dry_run")),
        strict=bool(p.get("strict")),
        sat_exam=bool(p.get("sat_exam")),
    )
    rows = 0

    def report(stage: str, done: int, total: int) -> None:
        nonlocal rows
        if stage == "check":
            rows = total
            progress.set(done, 2 * total)
        else:
            written = rows * done // total if total else rows
            progress.set(rows + written, 2 * rows)

    result = importer.import_file(
        actor=actor,
        school=school,
        year=int(p["year"]),
        path=upload.path,
        filename=upload.filename,
        options=options,
        progress=report,
    )
    data = upload.save(stage_of(job), result)
    # this job's own copy: the same upload imported with other options writes result.json too
    importer.write_json(job_result_path(upload, job), data)
    progress.set(2 * result.rows, 2 * result.rows)
    return {
        "upload_id": upload.id,
        "stage": stage_of(job),
        "rows": result.rows,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "counts": result.counts,
        "committed": result.committed,
    }
