"""The background job queue (dmc/jobs) and the school import on it.

Queue semantics: a job is claimed once; a running job with a stale heartbeat is claimed again
and, past the attempts cap, fails with ``job_abandoned``; handler exceptions fail the job with
``job_failed`` (nothing of the exception's text stored or logged); a refusal keeps its own code;
a revoked role fails the job before the handler runs; the same dedupe key while unfinished
returns the same job (and the partial unique index refuses a second unfinished row); finished
jobs past the retention are purged; on PostgreSQL a locked job is skipped, not waited for.

The import on the queue: the web commit goes through the progress page; the API's
``background=true`` answers 202 and the polled result equals the synchronous call's body; the
job is visible only to its requester; progress moves from checked to written rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from dmc.accounts.actor import Actor
from dmc.accounts.models import RoleAssignment
from dmc.accounts.services import token_create
from dmc.core.errors import DmcError, ErrorCode
from dmc.exchange import importer
from dmc.jobs import queue, worker
from dmc.jobs.models import Job
from dmc.students.models import Enrolment, Person
from tests import import_corpus as corpus
from tests.conftest import YEAR, World, login

SECRET = "1234567890121 สมหญิง"  # what an exception might carry: never stored or logged
CALLS: list[int] = []


@queue.register("test.probe")
def _probe(job: Job, actor: Actor, progress: queue.Progress) -> dict[str, Any]:
    CALLS.append(job.pk)
    mode = job.params.get("mode", "ok")
    progress.set(3, 4)
    if mode == "boom":
        raise ValueError(SECRET)
    if mode == "refuse":
        raise DmcError(ErrorCode.WINDOW_CLOSED, http_status=409)
    return {"seen": job.params.get("n", 0), "user": actor.user.username}


@pytest.fixture(autouse=True)
def _queued(settings: Any, tmp_path: Path) -> None:
    """Jobs wait in the queue (run by the test, as a worker would); uploads in the test's dir."""
    settings.DMC_JOBS_INLINE = False
    settings.MEDIA_ROOT = tmp_path / "media"
    CALLS.clear()


def probe(world: World, who: str = "officer_a1", **params: Any) -> Job:
    job, created = queue.enqueue(kind="test.probe", actor=world.actors[who], params=params)
    assert created
    return job


def age(job: Job, seconds: float) -> None:
    """Make the job's heartbeat ``seconds`` old (its worker stopped beating)."""
    old = timezone.now() - dt.timedelta(seconds=seconds)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=old)


# --- queue semantics -----------------------------------------------------------------------------


def test_a_job_is_claimed_once_and_runs_to_done(world: World) -> None:
    job = probe(world, n=7)
    assert job.state == Job.State.QUEUED and job.requested_by == world.users["officer_a1"]
    claimed = queue.claim()
    assert claimed is not None and claimed.pk == job.pk
    assert (claimed.state, claimed.attempts) == (Job.State.RUNNING, 1)
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    assert queue.claim() is None  # running with a fresh heartbeat: nobody else takes it
    assert queue.execute(claimed, heartbeat=False) == Job.State.DONE
    job.refresh_from_db()
    assert (job.state, job.result, job.error_code) == (
        Job.State.DONE,
        {"seen": 7, "user": "officer_a1"},
        "",
    )
    assert (job.done, job.total, job.percent) == (4, 4, 100) and job.finished_at is not None
    assert queue.claim() is None and [job.pk] == CALLS


def test_the_oldest_job_is_claimed_first(world: World) -> None:
    first, second = probe(world, n=1), probe(world, n=2)
    Job.objects.filter(pk=second.pk).update(created_at=first.created_at - dt.timedelta(seconds=5))
    claimed = queue.claim()
    assert claimed is not None and claimed.pk == second.pk


def test_a_stale_running_job_is_claimed_again_then_abandoned(world: World, settings: Any) -> None:
    settings.DMC_JOB_STALE_SECONDS = 60
    settings.DMC_JOB_MAX_ATTEMPTS = 2
    job = probe(world)
    assert queue.claim() is not None
    age(job, 30)  # late but not stale
    assert queue.claim() is None
    age(job, 61)  # the worker died: another one takes it
    again = queue.claim()
    assert again is not None and again.pk == job.pk and again.attempts == 2
    age(job, 61)  # died again: the cap is reached
    assert queue.claim() is None
    job.refresh_from_db()
    assert (job.state, job.error_code) == (Job.State.FAILED, "job_abandoned")
    assert job.finished_at is not None and CALLS == []


def test_a_claim_that_lost_the_job_cannot_finish_it(world: World) -> None:
    job = probe(world)
    first = queue.claim()
    assert first is not None
    age(job, 3600)
    second = queue.claim()
    assert second is not None and second.attempts == 2
    progress = queue.Progress(1, 2)
    assert queue.beat(first.pk, first.attempts, progress) is False  # not the owner any more
    assert queue.beat(second.pk, second.attempts, progress) is True
    queue.execute(first, heartbeat=False)  # the old claim runs to its end ...
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and (job.done, job.total) == (1, 2)  # ... unrecorded
    assert queue.execute(second, heartbeat=False) == Job.State.DONE


def test_a_handler_exception_fails_the_job_without_its_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    job = probe(world, mode="boom")
    with caplog.at_level(logging.DEBUG):
        assert worker.run_pending() == 1
    job.refresh_from_db()
    assert (job.state, job.error_code, job.result) == (Job.State.FAILED, "job_failed", None)
    assert "ValueError" in caplog.text
    assert SECRET[:13] not in caplog.text and "สมหญิง" not in caplog.text
    row = str(Job.objects.filter(pk=job.pk).values().first())
    assert SECRET[:13] not in row and "Traceback" not in row


def test_a_refusal_keeps_its_code_and_message(world: World) -> None:
    job = probe(world, mode="refuse")
    worker.run_pending()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (Job.State.FAILED, "window_closed")
    assert job.result is not None and job.result["message_th"] == DmcError(
        ErrorCode.WINDOW_CLOSED
    ).message_in("th")


def test_a_revoked_role_fails_the_job_before_it_runs(world: World) -> None:
    job = probe(world)
    actor = world.actors["officer_a1"]
    RoleAssignment.objects.filter(pk=actor.assignment_id).update(status="revoked")
    worker.run_pending()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (Job.State.FAILED, "job_role_revoked")
    assert CALLS == []  # the handler never ran
    other = probe(world, who="officer_a2")
    worker.run_pending()
    other.refresh_from_db()
    assert other.state == Job.State.DONE  # another user's approved role is unaffected


def test_an_inactive_user_fails_the_job(world: World) -> None:
    job = probe(world)
    world.users["officer_a1"].is_active = False
    world.users["officer_a1"].save(update_fields=["is_active"])
    worker.run_pending()
    job.refresh_from_db()
    assert job.error_code == "job_role_revoked"


def test_the_same_work_while_unfinished_is_the_same_job(world: World) -> None:
    actor = world.actors["officer_a1"]
    first, created = queue.enqueue(kind="test.probe", actor=actor, params={}, dedupe_key="k1")
    again, created_again = queue.enqueue(kind="test.probe", actor=actor, params={}, dedupe_key="k1")
    assert created and not created_again and again.pk == first.pk
    other, created_other = queue.enqueue(kind="test.probe", actor=actor, params={}, dedupe_key="k2")
    assert created_other and other.pk != first.pk
    claimed = queue.claim()
    assert claimed is not None and claimed.pk == first.pk
    running, created_running = queue.enqueue(
        kind="test.probe", actor=actor, params={}, dedupe_key="k1"
    )
    assert not created_running and running.pk == first.pk  # running counts too
    queue.execute(claimed, heartbeat=False)
    after, created_after = queue.enqueue(kind="test.probe", actor=actor, params={}, dedupe_key="k1")
    assert created_after and after.pk != first.pk  # finished: new work


def test_the_database_refuses_a_second_unfinished_job_with_the_key(world: World) -> None:
    fields = {
        "kind": "test.probe",
        "requested_by": world.users["officer_a1"],
        "role": "school_officer",
        "created_at": timezone.now(),
        "dedupe_key": "same",
    }
    Job.objects.create(**fields, state=Job.State.DONE)
    Job.objects.create(**fields, state=Job.State.FAILED)
    Job.objects.create(**fields)  # finished ones do not count
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(**fields, state=Job.State.RUNNING)
    Job.objects.create(**{**fields, "dedupe_key": ""})
    Job.objects.create(**{**fields, "dedupe_key": ""})  # no key: no limit


def test_an_unknown_kind_is_refused_at_enqueue(world: World) -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        queue.enqueue(kind="nope", actor=world.actors["officer_a1"], params={})


def test_finished_jobs_past_the_retention_are_purged(world: World, settings: Any) -> None:
    settings.DMC_JOB_RETENTION_DAYS = 7
    now = timezone.now()
    old_done, old_failed, recent, old_queued = (probe(world) for _ in range(4))
    for job, state, days in (
        (old_done, Job.State.DONE, 8),
        (old_failed, Job.State.FAILED, 8),
        (recent, Job.State.DONE, 6),
    ):
        Job.objects.filter(pk=job.pk).update(state=state, finished_at=now - dt.timedelta(days=days))
    Job.objects.filter(pk=old_queued.pk).update(created_at=now - dt.timedelta(days=30))
    assert queue.purge(now=now) == 2
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, old_queued.pk}


def test_the_worker_loop_runs_jobs_and_stops_when_asked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the test's transaction is not a stale connection to close
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    job = probe(world)
    stop = threading.Event()
    original = worker.run_once

    def run_then_stop() -> bool:
        ran = original()
        if not ran:
            stop.set()
        return ran

    worker.run_once = run_then_stop  # type: ignore[assignment]
    try:
        worker.loop(stop, poll=0)
    finally:
        worker.run_once = original  # type: ignore[assignment]
    job.refresh_from_db()
    assert job.state == Job.State.DONE


def test_dmc_worker_once(world: World) -> None:
    job = probe(world)
    call_command("worker", "--once")
    job.refresh_from_db()
    assert job.state == Job.State.DONE


def test_inline_mode_runs_the_job_at_once(world: World, settings: Any) -> None:
    settings.DMC_JOBS_INLINE = True
    job = probe(world, n=3)
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.result == {"seen": 3, "user": "officer_a1"}


@pytest.mark.django_db(transaction=True)
def test_postgresql_skips_a_locked_job_instead_of_waiting(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is the PostgreSQL claim (SQLite claims with a conditional UPDATE)")
    first, second = probe(world, n=1), probe(world, n=2)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import connections

        try:
            with transaction.atomic():
                Job.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        claimed = queue.claim()
        assert claimed is not None and claimed.pk == second.pk  # the locked one skipped
    finally:
        release.set()
        holder.join()
    again = queue.claim()
    assert again is not None and again.pk == first.pk


# --- the import on the queue ---------------------------------------------------------------------


def token_client(world: World, name: str, **headers: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **headers)


def post_file(client: Client, content: bytes, **form: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("students.csv", content), **form}
    )


def _content(n: int = 20, bad: bool = True) -> bytes:
    src = corpus.source(n)
    rows = src.copy_rows()
    if bad:
        rows[1] = corpus.with_cells(rows[1], ชั้น="ม.9")
    return corpus.to_csv(src.header, rows)


def test_api_background_import_equals_the_synchronous_one(world: World) -> None:
    content = _content()
    api = token_client(world, "officer_a1")
    with transaction.atomic():  # the synchronous import, then undone
        sync = post_file(api, content, sat_exam="true")
        assert sync.status_code == 200
        sync_state = (Person.objects.count(), Enrolment.objects.count())
        transaction.set_rollback(True)
    assert Enrolment.objects.count() == 0
    accepted = post_file(api, content, sat_exam="true", background="true")
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert body["state"] == "queued" and body["result"] is None
    assert body["url"] == f"/api/v1/imports/{body['job_id']}"
    assert Enrolment.objects.count() == 0  # queued, not yet run
    polled = api.get(body["url"]).json()
    assert polled["state"] == "queued" and polled["percent"] == 0
    assert worker.run_pending() == 1
    done = api.get(body["url"])
    assert done.status_code == 200
    done_body = done.json()
    assert done_body["state"] == "done" and done_body["percent"] == 100
    assert done_body["result"] == sync.json()
    assert done_body["error"] is None
    assert (Person.objects.count(), Enrolment.objects.count()) == sync_state
    english = token_client(world, "officer_a1", HTTP_ACCEPT_LANGUAGE="en")
    result = english.get(body["url"]).json()["result"]
    assert "is not in the grade list" in result["errors"][0]["message"]


def test_api_background_dry_run_equals_the_synchronous_one(world: World) -> None:
    content = _content()
    api = token_client(world, "officer_a1")
    sync = post_file(api, content, dry_run="true", sat_exam="true").json()
    body = post_file(api, content, dry_run="true", sat_exam="true", background="true").json()
    worker.run_pending()
    polled = api.get(body["url"]).json()
    assert polled["result"] == sync and polled["result"]["committed"] is False
    assert Enrolment.objects.count() == 0


def test_api_background_job_is_only_the_requesters(world: World) -> None:
    api = token_client(world, "officer_a1")
    body = post_file(api, _content(), sat_exam="true", background="true").json()
    url = body["url"]
    for other in ("officer_a2", "area_a", "obec", "director_a1"):
        response = token_client(world, other).get(url)
        assert response.status_code == 404, other
        assert response.json()["code"] == "not_found"
    assert api.get("/api/v1/imports/999999999").status_code == 404
    assert Client().get(url).status_code == 401
    assert token_client(world, "officer_a1").get(url).status_code == 200  # another token, same user


def test_api_background_resend_while_queued_is_the_same_job(world: World) -> None:
    content = _content()
    api = token_client(world, "officer_a1")
    first = post_file(api, content, sat_exam="true", background="true").json()
    upload_path = next((Path(importer.imports_root())).glob("*/upload.csv"))
    again = post_file(api, content, sat_exam="true", background="true").json()
    assert again["job_id"] == first["job_id"]
    assert Job.objects.count() == 1 and upload_path.exists()  # the kept file still there
    strict = post_file(api, content, sat_exam="true", strict="true", background="true").json()
    assert strict["job_id"] != first["job_id"]  # other options: other work
    assert worker.run_pending() == 2
    assert api.get(first["url"]).json()["result"]["counts"]["new"] == 19
    strict_result = api.get(strict["url"]).json()["result"]  # its own result, not the first's
    assert strict_result["committed"] is False and strict_result["counts"]["unchanged"] == 19


def test_api_background_refusals(world: World) -> None:
    api = token_client(world, "officer_a1")
    # a whole-file refusal comes as the job's error
    empty = post_file(api, b"", background="true")
    assert empty.status_code == 202 and empty.json()["state"] == "queued"
    header = post_file(api, "ก,ข\n1,2\n".encode(), background="true").json()
    assert worker.run_pending() == 2
    assert api.get(empty.json()["url"]).json()["error"]["code"] == "import_file_empty"
    failed = api.get(header["url"]).json()
    assert failed["state"] == "failed" and failed["error"]["code"] == "import_header"
    assert failed["error"]["message"].startswith("แถวแรก") or "ไม่พบ" in failed["error"]["message"]
    assert failed["result"] is None
    # role and scope are checked before anything is queued
    assert (
        post_file(token_client(world, "director_a1"), _content(), background="true").status_code
        == 403
    )
    other = post_file(
        token_client(world, "officer_a2"), _content(), school_code="10010001", background="true"
    )
    assert other.status_code == 403 and Job.objects.count() == 2


def test_api_background_role_revoked_before_the_job_runs(world: World) -> None:
    api = token_client(world, "officer_a1")
    body = post_file(api, _content(), sat_exam="true", background="true").json()
    job = Job.objects.get(pk=body["job_id"])
    RoleAssignment.objects.filter(pk=job.assignment_ref).update(status="revoked")
    worker.run_pending()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (Job.State.FAILED, "job_role_revoked")
    assert Enrolment.objects.count() == 0


def test_import_progress_goes_from_checked_to_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "PROGRESS_EVERY", 5)
    seen: list[tuple[int, int]] = []

    class Recording(queue.Progress):
        def set(self, done: int, total: int | None = None) -> None:
            super().set(done, total)
            seen.append(self.read())

    monkeypatch.setattr(queue, "Progress", Recording)
    api = token_client(world, "officer_a1")
    body = post_file(api, _content(bad=False), sat_exam="true", background="true").json()
    worker.run_pending()
    assert seen[0] == (5, 0)  # still reading: no total yet
    assert (10, 0) in seen and (20, 40) in seen  # all 20 rows checked
    assert seen[-1] == (40, 40)  # all written
    dones = [d for d, _ in seen]
    assert dones == sorted(dones)  # never backwards
    assert any(20 < d < 40 for d in dones)  # some rows written before the end
    job = Job.objects.get(pk=body["job_id"])
    assert (job.done, job.total) == (40, 40)


def test_a_heartbeat_writes_the_progress(world: World) -> None:
    job = probe(world)
    claimed = queue.claim()
    assert claimed is not None
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=50))
    assert queue.beat(claimed.pk, claimed.attempts, queue.Progress(12, 40))
    job.refresh_from_db()
    assert (job.done, job.total, job.percent) == (12, 40, 30)
    assert timezone.now() - job.heartbeat_at < dt.timedelta(seconds=5)  # type: ignore[operator]


# --- the web pages --------------------------------------------------------------------------------


def _preview(world: World, content: bytes) -> tuple[Client, str]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    login(client, world.users["officer_a1"])
    response = client.post(
        "/imports/", {"file": SimpleUploadedFile("s.csv", content), "sat_exam": "1"}
    )
    assert response.status_code == 302
    return client, response["Location"].strip("/").split("/")[-1]


def test_web_commit_queues_the_job_and_the_page_follows_it(world: World) -> None:
    client, upload_id = _preview(world, _content())
    committed = client.post(f"/imports/{upload_id}/commit/", HTTP_HX_REQUEST="true")
    assert committed.status_code == 200
    job_url = committed["HX-Redirect"]
    assert re.fullmatch(r"/imports/jobs/\d+/", job_url)
    assert Enrolment.objects.count() == 0  # queued
    again = client.post(f"/imports/{upload_id}/commit/")  # a double click: the same job
    assert again["Location"] == job_url and Job.objects.count() == 1
    page = client.get(job_url).content.decode()
    assert "รอคิวนำเข้า" in page and 'hx-trigger="every 1s"' in page and "<progress" in page
    fragment = client.get(job_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div class="job" id="import-job" data-state="queued"')
    assert "<html" not in fragment
    worker.run_pending()
    assert Enrolment.objects.filter(school=world.school_a1, academic_year=YEAR).count() == 19
    done = client.get(job_url, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == f"/imports/{upload_id}/result/"
    assert client.get(job_url)["Location"] == f"/imports/{upload_id}/result/"
    result = client.get(f"/imports/{upload_id}/result/").content.decode()
    assert "บันทึกข้อมูลแล้ว" in result


def test_web_progress_page_shows_a_failure_in_thai(world: World) -> None:
    client, upload_id = _preview(world, _content())
    job_url = client.post(f"/imports/{upload_id}/commit/")["Location"]
    job = Job.objects.get()
    RoleAssignment.objects.filter(pk=job.assignment_ref).update(status="revoked")
    worker.run_pending()
    RoleAssignment.objects.filter(pk=job.assignment_ref).update(status="approved")
    page = client.get(job_url).content.decode()
    assert "นำเข้าไม่สำเร็จ" in page and "สิทธิ์ของผู้ส่งงานนี้ถูกยกเลิก" in page
    assert "job_role_revoked" in page and 'hx-trigger="every 1s"' not in page
    client.post("/lang/", {"lang": "en"})
    english = client.get(job_url).content.decode()
    assert "The import failed" in english and "was revoked before it ran" in english


def test_web_progress_page_is_only_the_requesters(world: World) -> None:
    client, upload_id = _preview(world, _content())
    job_url = client.post(f"/imports/{upload_id}/commit/")["Location"]
    other = Client()
    login(other, world.users["officer_a2"])
    assert other.get(job_url).status_code == 404
    director = Client()
    login(director, world.users["director_a1"])
    assert director.get(job_url).status_code == 403


def test_openapi_schema_names_are_unique() -> None:
    """Two schemas with one name collapse into one OpenAPI component (schemathesis breaks)."""
    from ninja import Schema

    def subclasses(cls: type) -> list[type]:
        out = []
        for sub in cls.__subclasses__():
            out += [sub, *subclasses(sub)]
        return out

    import config.api  # noqa: F401 - every router imported

    ours = [c for c in subclasses(Schema) if c.__module__.startswith(("dmc.", "config."))]
    names = [c.__name__ for c in ours]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert duplicates == []
    assert "ImportJobOut" in names


def test_job_rows_hold_no_personal_data(world: World) -> None:
    api = token_client(world, "officer_a1")
    post_file(api, _content(), sat_exam="true", background="true")
    worker.run_pending()
    row = str(list(Job.objects.values()))
    src = corpus.source(20)
    for s in src.students[:5]:
        assert s.first_name not in row and s.last_name not in row
    assert not any(r[2] in row for r in src.rows[:5])  # no citizen IDs


# --- the reports' per-school workbook on the queue -----------------------------------------------


def test_report_workbook_runs_on_the_queue(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from dmc.reports import jobs as report_jobs
    from dmc.reports import selectors
    from dmc.reports.models import ReportJob

    with django_capture_on_commit_callbacks(execute=True):
        report = report_jobs.job_start(actor=world.actors["obec"], source=selectors.Source(YEAR))
    queued = Job.objects.get()
    assert (queued.kind, queued.params) == ("report.schools_xlsx", {"report_job": report.pk})
    assert ReportJob.objects.get(pk=report.pk).status == ReportJob.Status.QUEUED
    assert worker.run_pending() == 1
    report.refresh_from_db()
    queued.refresh_from_db()
    assert report.status == ReportJob.Status.DONE and report.content
    assert queued.state == Job.State.DONE and queued.result == {
        "report_job": report.pk,
        "status": "done",
    }
    # the requester's role revoked before the worker gets to it: nothing is built
    with django_capture_on_commit_callbacks(execute=True):
        second = report_jobs.job_start(actor=world.actors["area_a"], source=selectors.Source(YEAR))
    RoleAssignment.objects.filter(pk=world.actors["area_a"].assignment_id).update(status="revoked")
    worker.run_pending()
    second.refresh_from_db()
    assert second.status == ReportJob.Status.QUEUED and not second.content
    assert Job.objects.get(params={"report_job": second.pk}).error_code == "job_role_revoked"
