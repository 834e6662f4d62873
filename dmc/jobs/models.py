"""``Job``: one unit of background work, kept in the database (the one source of truth), claimed
by a ``dmc worker`` process. No personal data is stored here: ``params`` name the work (an upload
id, a school id), ``result`` holds counts, and a failure is an error code."""

from __future__ import annotations

from django.conf import settings
from django.db import models

UNFINISHED = ("queued", "running")


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "รอดำเนินการ"
        RUNNING = "running", "กำลังดำเนินการ"
        DONE = "done", "เสร็จแล้ว"
        FAILED = "failed", "ไม่สำเร็จ"

    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=30)
    #: the role assignment the job runs as (a revoked one fails the job: job_role_revoked)
    assignment_ref = models.BigIntegerField(null=True, blank=True)
    school_ref = models.BigIntegerField(null=True, blank=True)
    area_ref = models.BigIntegerField(null=True, blank=True)
    #: the same work asked for again while it is unfinished returns the unfinished job
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="jobs_job_state_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=models.Q(state__in=UNFINISHED) & ~models.Q(dedupe_key=""),
                name="jobs_job_dedupe_unfinished",
            )
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))
