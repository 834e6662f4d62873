from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEvent(models.Model):
    """Append-only record of every change: who (user + role + scope), when, what, before -> after.

    Written by services in the same transaction as the change. Database triggers (migration 0002)
    refuse UPDATE and DELETE on both SQLite and PostgreSQL, so even a privileged database user of
    the application cannot rewrite history through the ORM or raw SQL.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    school_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    area_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class ClockSetting(models.Model):
    """The demo/test server clock (one row). Ignored when DMC_CLOCK_SETTABLE is off."""

    offset_seconds = models.BigIntegerField(default=0)
    frozen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "server clock"


class AccessEvent(models.Model):
    """Append-only record of a read of identifiable student data (PDPA, issue 9): who (user, role,
    unit), when, which school / enrolment / person, what kind of read, and the stated purpose.

    Area offices and OBEC state a purpose once per session and school; school staff reading their
    own school are not asked (their purpose is the school's own task), but exports are logged for
    everyone. Same database triggers as ``AuditEvent``: no UPDATE, DELETE or TRUNCATE.
    No names or citizen IDs are stored here, only row ids.
    """

    class Kind(models.TextChoices):
        DETAIL = "detail", "ดูข้อมูลนักเรียนรายคน"
        LIST = "list", "ดูรายชื่อนักเรียน"
        API_DETAIL = "api_detail", "อ่านข้อมูลนักเรียนรายคนผ่าน API"
        API_LIST = "api_list", "อ่านรายชื่อนักเรียนผ่าน API"
        EXPORT = "export", "ดาวน์โหลดรายชื่อนักเรียน"
        REPORT = "report", "ดูรายงานการเข้าถึงข้อมูล"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(max_length=32)
    actor_school_id = models.BigIntegerField(null=True, blank=True)
    actor_area_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    school_id = models.BigIntegerField(db_index=True)
    enrolment_id = models.BigIntegerField(null=True, blank=True)
    person_pk = models.BigIntegerField(null=True, blank=True, db_index=True)
    academic_year = models.PositiveSmallIntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=1)
    purpose_code = models.CharField(max_length=2, blank=True)
    purpose_text = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"access {self.kind} {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("access events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("access events are append-only")
