from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from dmc.schools.models import AreaOffice, School


class User(AbstractUser):
    """A person who logs in. What they may do comes from their approved role assignments."""

    class Meta:
        ordering = ["username"]


class Role(models.TextChoices):
    SCHOOL_OFFICER = "school_officer", "เจ้าหน้าที่ข้อมูลโรงเรียน"
    SCHOOL_DIRECTOR = "school_director", "ผู้บริหารโรงเรียน"
    AREA_OFFICER = "area_officer", "เจ้าหน้าที่เขตพื้นที่"
    OBEC_ADMIN = "obec_admin", "ผู้ดูแลระบบ สพฐ."


ROLE_EN = {
    Role.SCHOOL_OFFICER: "School data officer",
    Role.SCHOOL_DIRECTOR: "School director",
    Role.AREA_OFFICER: "Area office officer",
    Role.OBEC_ADMIN: "OBEC administrator",
}
SCHOOL_ROLES = frozenset({Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR})


class RoleAssignment(models.Model):
    """One role of one user over one scope.

    Needs approval: the area approves school roles, OBEC approves area roles.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "รออนุมัติ"
        APPROVED = "approved", "อนุมัติแล้ว"
        REJECTED = "rejected", "ไม่อนุมัติ"
        REVOKED = "revoked", "ยกเลิกสิทธิ์"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    area = models.ForeignKey(
        AreaOffice, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["user", "role", "id"]
        constraints = [
            models.CheckConstraint(
                name="assignment_scope_matches_role",
                condition=(
                    models.Q(
                        role__in=["school_officer", "school_director"],
                        school__isnull=False,
                        area__isnull=True,
                    )
                    | models.Q(role="area_officer", school__isnull=True, area__isnull=False)
                    | models.Q(role="obec_admin", school__isnull=True, area__isnull=True)
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "school"],
                condition=models.Q(school__isnull=False),
                name="assignment_unique_school",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "area"],
                condition=models.Q(area__isnull=False),
                name="assignment_unique_area",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(role="obec_admin"),
                name="assignment_unique_obec",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"


class ApiToken(models.Model):
    """A bearer token for school information systems, acting as one role assignment.

    Only a SHA-256 of the secret is stored; the secret is shown once at creation.
    """

    assignment = models.ForeignKey(RoleAssignment, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.prefix}…"


class AuthThrottle(models.Model):
    """Failed authentications counted per key (``user:<name>``, ``ip:<addr>``, ``token-ip:<addr>``)
    in the database, so every worker process sees the same counts (issue 9).

    ``failures`` counts failures since ``window_start``; past the key's limit the key is locked
    until ``locked_until``, and each further failure doubles the delay (capped).
    """

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"throttle {self.pk}"
