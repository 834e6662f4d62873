"""Long reports in the background: the per-school national (or area) totals workbook.

A ``ReportJob`` row (the report: its progress, then the workbook) is created by the request;
after the transaction commits, a ``report.schools_xlsx`` job is queued on the job queue
(``dmc.jobs``) and a ``dmc worker`` builds the workbook in chunks, writing its progress to the
``ReportJob``, which the page polls with HTMX. A worker that dies mid-build leaves the queue job
to be claimed again (``DMC_JOB_STALE_SECONDS``); ``job_get`` still reports a report unfinished
after ``STALE_AFTER`` as failed, so a school is never left polling for ever. A revoked role
fails the queue job before it runs (the report then stays queued until ``STALE_AFTER``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.core import audit, clock
from dmc.core.codes import GRADES
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.core.i18n import tr
from dmc.exchange.xlsx import write_table
from dmc.jobs import queue
from dmc.jobs.models import Job
from dmc.reports.models import ReportJob, SchoolShare
from dmc.reports.selectors import Source, require_area
from dmc.schools.models import AreaOffice, School

KINDS = {"schools_xlsx"}
CHUNK = 2000
STALE_AFTER = dt.timedelta(minutes=30)
RUN_INLINE = False  # tests run the job in the request's thread
QUEUE_KIND = "report.schools_xlsx"


def job_start(*, actor: Actor, source: Source, area_code: str | None = None) -> ReportJob:
    """Queue the per-school totals workbook for the nation (OBEC) or one area (its office or
    OBEC). Raises NOT_IN_SCOPE for anyone else."""
    area = None
    if area_code:
        area = require_area(actor, area_code)
    elif not actor.is_obec:
        if not actor.is_area:
            raise DmcError(ErrorCode.NOT_IN_SCOPE, http_status=403)
        area = AreaOffice.objects.get(pk=actor.area_id or 0)
    job = ReportJob.objects.create(
        kind="schools_xlsx",
        params={
            "year": source.year,
            "round": source.round.pk if source.round else None,
            "area": area.pk if area else None,
        },
        requested_by=actor.user,
        role=actor.role,
        area_ref=actor.area_id,
        school_ref=actor.school_id,
        created_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action="report.job_start",
        target=job,
        after={"kind": job.kind, **job.params},
        area_id=area.pk if area else None,
    )
    transaction.on_commit(lambda: _launch(job.pk, actor))
    return job


def job_get(*, actor: Actor, job_id: int) -> ReportJob:
    """The actor's own job (NOT_FOUND otherwise, so ids reveal nothing)."""
    job = ReportJob.objects.filter(pk=job_id, requested_by=actor.user, role=actor.role).first()
    if job is None:
        raise not_found()
    if (
        job.status in (ReportJob.Status.QUEUED, ReportJob.Status.RUNNING)
        and clock.now() - job.created_at > STALE_AFTER
    ):
        job.status, job.error = ReportJob.Status.FAILED, "stale"
        job.save(update_fields=["status", "error"])
    return job


def _launch(job_id: int, actor: Actor) -> None:
    if RUN_INLINE:
        run(job_id)
        return
    queue.enqueue(
        kind=QUEUE_KIND,
        actor=actor,
        params={"report_job": job_id},
        dedupe_key=f"{QUEUE_KIND}:{job_id}",
    )


@queue.register(QUEUE_KIND)
def _queued(job: Job, actor: Actor, progress: queue.Progress) -> dict[str, Any]:
    report_id = int(job.params["report_job"])
    run(report_id)
    report = ReportJob.objects.filter(pk=report_id).values("status", "done", "total").first()
    if report is None:
        return {"report_job": report_id, "status": "gone"}
    progress.set(report["done"], report["total"])
    return {"report_job": report_id, "status": report["status"]}


def run(job_id: int) -> None:
    """Build the workbook, updating progress after every chunk of schools."""
    job = ReportJob.objects.get(pk=job_id)
    try:
        _build(job)
    except Exception as exc:  # the job records the failure; nothing is lost
        ReportJob.objects.filter(pk=job.pk).update(
            status=ReportJob.Status.FAILED,
            error=type(exc).__name__[:300],
            finished_at=clock.now(),
        )


def _build(job: ReportJob) -> None:
    params: dict[str, Any] = job.params
    year, round_key = int(params["year"]), int(params.get("round") or 0)
    schools = School.objects.order_by("area__code", "smis_code")
    if params.get("area"):
        schools = schools.filter(area_id=params["area"])
    listing = list(schools.values_list("pk", "area__code", "smis_code", "name"))
    job.status, job.total, job.done = ReportJob.Status.RUNNING, len(listing), 0
    job.save(update_fields=["status", "total", "done"])
    grades = [e["code"] for e in GRADES]
    rows: list[list[Any]] = []
    for start in range(0, len(listing), CHUNK):
        chunk = listing[start : start + CHUNK]
        shares = dict(
            SchoolShare.objects.filter(
                academic_year=year, round_key=round_key, school_id__in=[c[0] for c in chunk]
            ).values_list("school_id", "cells")
        )
        for pk, area_code, smis, name in chunk:
            cells = shares.get(pk) or {}
            row: list[Any] = [area_code, smis, name]
            counted = excluded = 0
            for g in grades:
                v = cells.get(g, [0, 0, 0, 0, 0])
                row += [v[2], v[3], v[4]]
                counted += v[2] + v[3]
                excluded += v[0] + v[1] - v[2] - v[3]
            rows.append([*row, counted, excluded, "" if pk in shares or not round_key else "-"])
        ReportJob.objects.filter(pk=job.pk).update(done=min(start + CHUNK, len(listing)))
    headers = [tr("รหัสเขต", "Area"), tr("รหัสโรงเรียน", "School"), tr("โรงเรียน", "Name")]
    for e in GRADES:
        headers += [f"{e['th']} ชาย", f"{e['th']} หญิง", f"{e['th']} ห้อง"]
    headers += [
        tr("รวม (นับตามเกณฑ์)", "Counted total"),
        tr("ไม่นับตามเกณฑ์อายุ", "Not counted (age)"),
        tr("ไม่ได้ยืนยัน", "Not confirmed"),
    ]
    content = write_table(tr("ยอดนักเรียนรายโรงเรียน", "Totals by school"), headers, rows)
    ReportJob.objects.filter(pk=job.pk).update(
        status=ReportJob.Status.DONE,
        done=len(listing),
        content=content,
        file_name=f"totals-{year}-{params.get('round') or 'live'}.xlsx",
        finished_at=clock.now(),
    )
