"""Cases: requests that need someone else's decision (SPEC §6).

One table for every kind, with the kind-specific facts in ``data``: ID correction (school ->
area forwards -> OBEC applies), dropout consultation (school -> area), duplicate (one person
claimed by two schools: the holder's area decides who keeps the student), G-code certification
(school -> area). Account approval lives in accounts.RoleAssignment and is shown in the same
queues.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Case(models.Model):
    class Kind(models.TextChoices):
        ID_CORRECTION = "id_correction", "แก้ไขเลขประจำตัวประชาชน"
        DROPOUT = "dropout", "ปรึกษาการออกกลางคัน"
        DUPLICATE = "duplicate", "นักเรียนซ้ำซ้อน"
        GCODE = "gcode", "รับรองรหัส G"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "ยื่นคำร้อง"
        UNDER_REVIEW = "under_review", "อยู่ระหว่างพิจารณา"
        APPROVED = "approved", "อนุมัติ"
        REJECTED = "rejected", "ไม่อนุมัติ"
        APPLIED = "applied", "ดำเนินการแล้ว"
        WITHDRAWN = "withdrawn", "ยกเลิกคำร้อง"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="cases")
    other_school = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        "students.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    enrolment = models.ForeignKey(
        "students.Enrolment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    academic_year = models.PositiveSmallIntegerField()
    data = models.JSONField(default=dict, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "status"], name="case_kind_status"),
            models.Index(fields=["school", "status"], name="case_school_status"),
        ]

    def __str__(self) -> str:
        return f"case {self.kind} #{self.pk}"


class CaseComment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=32)
    at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk}"


def _evidence_path(instance: CaseAttachment, filename: str) -> str:
    return f"cases/{instance.case_id}/{instance.sha256}{instance.extension}"


class CaseAttachment(models.Model):
    """Evidence: PDF, JPEG or PNG up to 5 MB, stored under a content hash (never the name the
    user gave, which is kept only for display)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    extension = models.CharField(max_length=5)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=_evidence_path)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attachment {self.pk}"
