from __future__ import annotations

from django.conf import settings
from django.db import models


class AcademicYear(models.Model):
    """ปีการศึกษา, keyed by its Buddhist-era year (2564 = May 2021 - March 2022)."""

    year = models.PositiveSmallIntegerField(unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    # semester 2 final exams begin (L6: leaving before it); OBEC sets it with the calendar
    final_exam_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class Round(models.Model):
    """One collection round of a year: 1 (as of 10 June), 2 (10 November), 3 (end of year).

    The state is derived from these OBEC-set windows and the server clock (``rules.round_state``);
    ``closed_at``/``published_at`` are set by OBEC's actions.
    """

    academic_year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    as_of_date = models.DateField(null=True, blank=True)
    entry_opens_at = models.DateTimeField()
    entry_closes_at = models.DateTimeField()
    id_correction_deadline = models.DateTimeField()
    confirm_opens_at = models.DateTimeField()
    confirm_closes_at = models.DateTimeField()
    self_cancel_deadline = models.DateTimeField()
    area_ack_closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["academic_year", "number"]
        constraints = [
            models.UniqueConstraint(fields=["academic_year", "number"], name="round_unique"),
            models.CheckConstraint(condition=models.Q(number__in=[1, 2, 3]), name="round_number"),
            models.CheckConstraint(
                condition=models.Q(entry_opens_at__lte=models.F("confirm_opens_at"))
                & models.Q(confirm_opens_at__lt=models.F("confirm_closes_at"))
                & models.Q(confirm_closes_at__lte=models.F("area_ack_closes_at")),
                name="round_windows_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.academic_year.year}/{self.number}"


class MenuWindow(models.Model):
    """A named menu window inside a round, e.g. the end-of-year menus 3.2.2 from 1 March."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="menus")
    menu = models.CharField(max_length=16)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "menu"]
        constraints = [models.UniqueConstraint(fields=["round", "menu"], name="menu_window_unique")]

    def __str__(self) -> str:
        return f"menu {self.menu}"


class SchoolYearStats(models.Model):
    """Per school and academic year, kept current by every student change (rounds.stats):
    head counts by grade x sex (all / counted under D4) and the checklist counts by key.
    Confirmation reads this row instead of rescanning the school."""

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="stats")
    academic_year = models.PositiveSmallIntegerField()
    as_of = models.DateField()
    totals = models.JSONField(default=dict)  # {"05": {"M": 3, "F": 4, "cM": 3, "cF": 4}}
    checks = models.JSONField(default=dict)  # {"L3.weight_missing": 2, "L3.height_drop!": 1}
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["school", "academic_year"]
        constraints = [
            models.UniqueConstraint(fields=["school", "academic_year"], name="stats_unique")
        ]

    def __str__(self) -> str:
        return f"stats {self.school_id}/{self.academic_year}"


class Snapshot(models.Model):
    """A sealed copy of the counted rows (D8): taken at confirmation (one school) and at close
    (the whole round). ``sha256`` is over the canonical rows and can be recomputed later."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "ยืนยันข้อมูล"
        CLOSE = "close", "ปิดรอบ"

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="snapshots")
    school = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rows = models.PositiveIntegerField(default=0)
    counted_rows = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict)
    sha256 = models.CharField(max_length=64)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"snapshot {self.kind} {self.sha256[:12]}"


class SnapshotRow(models.Model):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="row_set")
    enrolment_id = models.BigIntegerField()
    person_id = models.BigIntegerField()
    school_id = models.BigIntegerField()
    grade = models.CharField(max_length=2)
    room = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    birth_date = models.DateField()
    tracked_318 = models.BooleanField(default=False)
    counted = models.BooleanField(default=True)

    class Meta:
        ordering = ["snapshot", "enrolment_id"]
        indexes = [models.Index(fields=["snapshot", "grade", "sex"], name="snaprow_drill")]

    def __str__(self) -> str:
        return f"row {self.enrolment_id}"


class SchoolRound(models.Model):
    """One school's progress through one round: confirm -> certify -> acknowledge (D7)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="rounds")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="schools")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    certified_at = models.DateTimeField(null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    locked_reason = models.CharField(max_length=300, blank=True)
    entry_extended_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["round", "school"]
        constraints = [
            models.UniqueConstraint(fields=["school", "round"], name="school_round_unique"),
            models.CheckConstraint(
                condition=models.Q(certified_at__isnull=True)
                | models.Q(confirmed_at__isnull=False),
                name="certify_needs_confirm",
            ),
            models.CheckConstraint(
                condition=models.Q(acknowledged_at__isnull=True)
                | models.Q(certified_at__isnull=False),
                name="ack_needs_certify",
            ),
        ]

    def __str__(self) -> str:
        return f"school-round {self.school_id}/{self.round_id}"


class QueryNote(models.Model):
    """A school's explanation of a query-severity check for one student (England's notepad)."""

    enrolment = models.ForeignKey(
        "students.Enrolment", on_delete=models.CASCADE, related_name="query_notes"
    )
    check_key = models.CharField(max_length=40)
    note = models.TextField()
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["-written_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "check_key"], name="query_note_unique")
        ]

    def __str__(self) -> str:
        return f"note {self.check_key}"


class ReopenRequest(models.Model):
    """A school's request for late entry / reopening, decided by its area office."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "ยื่นคำร้อง"
        APPROVED = "approved", "อนุมัติ"
        REJECTED = "rejected", "ไม่อนุมัติ"

    school = models.ForeignKey(
        "schools.School", on_delete=models.PROTECT, related_name="reopen_requests"
    )
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="reopen_requests")
    reason = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    extends_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"reopen {self.school_id}/{self.round_id}"


class LoadBatch(models.Model):
    """One run of the national bulk loader (``dmc load``) over one file: named by ``--batch`` or
    the file's SHA-256, so re-running the same file is recognised. ``state`` makes a killed run
    resumable: ``staging`` (the staging table may be partial: restage), ``staged`` (the staging
    table is complete: merge), ``merged`` (done: a re-run changes nothing)."""

    class State(models.TextChoices):
        STAGING = "staging", "staging"
        STAGED = "staged", "staged"
        MERGED = "merged", "merged"

    name = models.CharField(max_length=100, unique=True)
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=300)
    academic_year = models.PositiveSmallIntegerField()
    round_number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.STAGING)
    rows = models.PositiveIntegerField(default=0)  # data rows in the file
    staged = models.PositiveIntegerField(default=0)  # rows that passed parse_row
    counts = models.JSONField(default=dict)  # the merge's outcome
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    merged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"load batch {self.name[:16]} ({self.state})"
