from __future__ import annotations

from django.db import models


class AreaOffice(models.Model):
    """สำนักงานเขตพื้นที่การศึกษา: primary (สพป.) or secondary (สพม.)."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", "สพป."
        SECONDARY = "secondary", "สพม."

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    province_code = models.CharField(max_length=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    """A school, keyed in URLs and files by its 8-digit SMIS code as DMC does."""

    class Status(models.TextChoices):
        ACTIVE = "active", "เปิดดำเนินการ"
        CANCELLED = "cancelled", "ยกเลิก"

    smis_code = models.CharField(max_length=8, unique=True)
    moe_code = models.CharField(max_length=10, unique=True)
    obec_code = models.CharField(max_length=6, unique=True)
    name = models.CharField(max_length=200)
    area = models.ForeignKey(AreaOffice, on_delete=models.PROTECT, related_name="schools")
    province_code = models.CharField(max_length=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    boarding = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["smis_code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "cancelled"]), name="school_status_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SchoolGrade(models.Model):
    """A grade the school offers in an academic year, with its number of rooms (D6)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="grades")
    academic_year = models.PositiveSmallIntegerField()
    grade = models.CharField(max_length=2)
    rooms = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["school", "academic_year", "grade"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "academic_year", "grade"], name="school_grade_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grade} x{self.rooms}"
