"""The rollover job (SPEC §7): one per academic year, resumable school by school."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RolloverJob(models.Model):
    """Rolling ``from_year``'s end-of-year roster into ``to_year``'s round-1 roster.

    Idempotent and resumable: schools are processed in batches, each batch in one transaction
    that also records its ``RolloverSchool`` rows, so a crash loses at most the batch in flight
    and a rerun continues with the schools not yet recorded.
    """

    class State(models.TextChoices):
        RUNNING = "running", "กำลังทำงาน"
        DONE = "done", "เสร็จแล้ว"
        FAILED = "failed", "หยุดกลางคัน"

    from_year = models.PositiveSmallIntegerField(unique=True)
    to_year = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    schools_total = models.PositiveIntegerField(default=0)
    schools_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)  # category -> students, summed over done schools
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-from_year"]

    def __str__(self) -> str:
        return f"rollover {self.from_year}->{self.to_year}"


class RolloverSchool(models.Model):
    """One school done by a rollover job, with what happened to its students."""

    job = models.ForeignKey(RolloverJob, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    counts = models.JSONField(default=dict)
    done_at = models.DateTimeField()

    class Meta:
        ordering = ["job", "school"]
        constraints = [
            models.UniqueConstraint(fields=["job", "school"], name="rollover_school_unique")
        ]

    def __str__(self) -> str:
        return f"rollover school {self.school_id}"
