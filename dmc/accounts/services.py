"""Accounts: registration, approval, tokens. Each write is atomic and audited."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import ApiToken, Role, RoleAssignment, User
from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.schools.models import AreaOffice, School

_ASSIGNMENT_FIELDS = ("role", "school", "area", "status", "decided_by", "decided_at")


def _audit_assignment(
    actor: Actor | None,
    action: str,
    assignment: RoleAssignment,
    before: dict[str, object] | None = None,
    reason: str = "",
) -> None:
    """Audit a change to an assignment under the unit it concerns (its school and area)."""
    after = audit.snapshot(assignment, _ASSIGNMENT_FIELDS)
    if before is not None:
        before, after = audit.diff(before, after)
    school = assignment.school
    audit.record(
        actor=actor,
        action=action,
        target=assignment,
        before=before,
        after=after,
        reason=reason,
        school_id=assignment.school_id,
        area_id=school.area_id if school is not None else assignment.area_id,
    )


def _validate_scope(role: str, school: School | None, area: AreaOffice | None) -> None:
    if role in (Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR) and (school is None or area):
        raise DmcError(
            ErrorCode.REQUIRED,
            field_th="รหัสโรงเรียน",
            field_en="School code",
            fields={"school": ["required"]},
        )
    if role == Role.AREA_OFFICER and (area is None or school):
        raise DmcError(
            ErrorCode.REQUIRED,
            field_th="รหัสเขตพื้นที่",
            field_en="Area code",
            fields={"area": ["required"]},
        )


@transaction.atomic
def user_register(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    school: School | None = None,
    area: AreaOffice | None = None,
) -> RoleAssignment:
    """Self-registration: a user plus one PENDING role assignment awaiting approval.

    Raises USERNAME_TAKEN, VALIDATION (password policy), REQUIRED (scope missing).
    """
    if role == Role.OBEC_ADMIN:
        raise DmcError(
            ErrorCode.ROLE_NOT_ALLOWED,
            http_status=403,
            role_th=Role(role).label,
            role_en="OBEC administrator",
        )
    _validate_scope(role, school, area)
    if User.objects.filter(username__iexact=username).exists():
        raise DmcError(
            ErrorCode.USERNAME_TAKEN,
            http_status=409,
            username=username,
            fields={"username": ["taken"]},
        )
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DmcError(ErrorCode.VALIDATION, fields={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.save()
    assignment = RoleAssignment.objects.create(
        user=user, role=role, school=school, area=area, requested_at=clock.now()
    )
    _audit_assignment(None, "account.register", assignment)
    return assignment


@transaction.atomic
def assignment_create_approved(
    *,
    actor: Actor | None,
    user: User,
    role: str,
    school: School | None = None,
    area: AreaOffice | None = None,
) -> RoleAssignment:
    """Grant a role directly (OBEC setup, the demo). ``actor`` None means the system."""
    if actor is not None:
        actor.require_role(Role.OBEC_ADMIN)
    _validate_scope(role, school, area)
    now = clock.now()
    assignment = RoleAssignment.objects.create(
        user=user,
        role=role,
        school=school,
        area=area,
        requested_at=now,
        status=RoleAssignment.Status.APPROVED,
        decided_by=actor.user if actor else None,
        decided_at=now,
    )
    _audit_assignment(actor, "account.grant", assignment)
    return assignment


@transaction.atomic
def assignment_decide(
    *, actor: Actor, assignment_id: int, approve: bool, note: str = ""
) -> RoleAssignment:
    """Approve or reject a pending role request.

    The area approves school users of its own schools; OBEC approves area users. Raises NOT_FOUND
    (outside scope too, so ids are not probeable), ROLE_NOT_ALLOWED, ALREADY_DECIDED.
    """
    actor.require_role(Role.AREA_OFFICER, Role.OBEC_ADMIN)
    assignment = (
        RoleAssignment.objects.select_for_update(of=("self",))
        .select_related("school")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise not_found()
    if assignment.role in (Role.SCHOOL_OFFICER, Role.SCHOOL_DIRECTOR):
        allowed = (
            actor.is_area
            and assignment.school is not None
            and (assignment.school.area_id == actor.area_id)
        )
    else:
        allowed = actor.is_obec
    if not allowed:
        raise not_found()
    if assignment.status != RoleAssignment.Status.PENDING:
        raise DmcError(ErrorCode.ALREADY_DECIDED, http_status=409)
    before = audit.snapshot(assignment, _ASSIGNMENT_FIELDS)
    assignment.status = (
        RoleAssignment.Status.APPROVED if approve else RoleAssignment.Status.REJECTED
    )
    assignment.decided_by = actor.user
    assignment.decided_at = clock.now()
    assignment.decision_note = note
    assignment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    action = "account.approve" if approve else "account.reject"
    _audit_assignment(actor, action, assignment, before=before, reason=note)
    return assignment


# --- API tokens ------------------------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """A new token acting as the actor's current role. Returns (token, secret shown once)."""
    if actor.assignment_id is None:
        raise DmcError(ErrorCode.NO_ACTIVE_ROLE, http_status=403)
    secret = "dmc_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        assignment_id=actor.assignment_id,
        name=name[:100] or "token",
        prefix=secret[:12],
        key_hash=_hash(secret),
        created_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action="token.create",
        target=token,
        after={"name": token.name, "prefix": token.prefix},
    )
    return token, secret


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    token = (
        ApiToken.objects.select_for_update(of=("self",))
        .filter(pk=token_id, assignment__user=actor.user)
        .first()
    )
    if token is None:
        raise not_found()
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor, action="token.revoke", target=token, after={"revoked_at": token.revoked_at}
        )
    return token


def token_authenticate(secret: str) -> Actor | None:
    token = (
        ApiToken.objects.select_related(
            "assignment", "assignment__user", "assignment__school__area"
        )
        .filter(
            key_hash=_hash(secret),
            revoked_at__isnull=True,
            assignment__status=RoleAssignment.Status.APPROVED,
            assignment__user__is_active=True,
        )
        .first()
    )
    if token is None:
        return None
    return Actor.from_assignment(token.assignment, request_scoped=True)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Change one's own password (issue 9): the current one first, then the policy.

    Raises PASSWORD_WRONG (403) and VALIDATION (the policy's Thai/English messages). Audited
    without the password, of course.
    """
    if not user.check_password(old_password):
        raise DmcError(
            ErrorCode.PASSWORD_WRONG, http_status=403, fields={"old_password": ["wrong"]}
        )
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise DmcError(ErrorCode.VALIDATION, fields={"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    event = audit.build(actor=None, action="account.password_change", target=user)
    event.actor = user
    event.actor_role = ""
    event.save(force_insert=True)
