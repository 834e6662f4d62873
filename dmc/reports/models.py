"""Report summaries kept consistent with every change, and background report jobs.

Totals by grade x sex x rooms are rolled up per area so that area and national totals read a few
thousand rows instead of scanning students (SPEC §11):

* ``SchoolShare``: what one school currently contributes, per source (``round_key`` 0 = live
  data, else a round's id = the school's sealed confirm snapshot). Written under the lock the
  caller already holds for that school (its stats row or its round row), so schools never wait
  for each other.
* ``CellDelta``: the difference every change makes, appended (insert only: no row is contended).
* ``AreaCell``: the compacted sums per area and grade; ``rollup.compact`` folds deltas into it.

An area's total is ``AreaCell + SUM(CellDelta)``, read in one statement.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

LIVE = 0  # round_key of the live (current) data


class SchoolShare(models.Model):
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    academic_year = models.PositiveSmallIntegerField()
    round_key = models.PositiveIntegerField(default=LIVE)
    area_ref = models.BigIntegerField()  # the area the cells were added to
    cells = models.JSONField(default=dict)  # {"05": [m, f, counted m, counted f, rooms]}

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "academic_year", "round_key"], name="reports_share_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["academic_year", "round_key", "area_ref"], name="reports_share_area"
            )
        ]

    def __str__(self) -> str:
        return f"share {self.school_id}/{self.academic_year}/{self.round_key}"


class _Cell(models.Model):
    academic_year = models.PositiveSmallIntegerField()
    round_key = models.PositiveIntegerField(default=LIVE)
    area_ref = models.BigIntegerField()
    grade = models.CharField(max_length=2)
    m = models.IntegerField(default=0)
    f = models.IntegerField(default=0)
    cm = models.IntegerField(default=0)
    cf = models.IntegerField(default=0)
    rooms = models.IntegerField(default=0)

    class Meta:
        abstract = True


class AreaCell(_Cell):
    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["academic_year", "round_key", "area_ref", "grade"],
                name="reports_areacell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"area {self.area_ref} {self.grade}"


class CellDelta(_Cell):
    class Meta:
        indexes = [models.Index(fields=["academic_year", "round_key"], name="reports_delta_source")]

    def __str__(self) -> str:
        return f"delta {self.area_ref} {self.grade}"


class RollupLock(models.Model):
    """One row per (year, source): compactions of the same source take turns on it."""

    academic_year = models.PositiveSmallIntegerField()
    round_key = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["academic_year", "round_key"], name="reports_lock_unique"
            )
        ]

    def __str__(self) -> str:
        return f"lock {self.academic_year}/{self.round_key}"


class ReportJob(models.Model):
    """A long report (the national XLSX) built in the background; the page polls its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "รอดำเนินการ"
        RUNNING = "running", "กำลังสร้าง"
        DONE = "done", "เสร็จแล้ว"
        FAILED = "failed", "ไม่สำเร็จ"

    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=30)
    area_ref = models.BigIntegerField(null=True, blank=True)
    school_ref = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
