"""Writing audit events. Call inside the service's transaction, after the change."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from dmc.core import clock
from dmc.core.models import AuditEvent

if TYPE_CHECKING:
    from dmc.accounts.actor import Actor


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named fields of ``instance`` as JSON-ready values (FKs as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _jsonable(getattr(instance, attname))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    *,
    actor: Actor | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    school_id: int | None = None,
    area_id: int | None = None,
) -> AuditEvent:
    event = build(
        actor=actor,
        action=action,
        target=target,
        before=before,
        after=after,
        reason=reason,
        school_id=school_id,
        area_id=area_id,
    )
    event.save(force_insert=True)
    return event


def record_many(events: list[AuditEvent]) -> None:
    """Insert events made by ``build`` in batches (bulk writes such as the school import: still
    one event per change, in the same transaction as the changes). On PostgreSQL a batch is
    sent with ``COPY`` (the same columns and JSON; the events get no ``pk`` back)."""
    if connection.vendor == "postgresql" and len(events) >= COPY_MIN:
        _copy(events)
    else:
        AuditEvent.objects.bulk_create(events, batch_size=500)


COPY_MIN = 100  # events; fewer go through bulk_create


def _copy(events: list[AuditEvent]) -> None:
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
        for event in events:
            cp.write_row(
                [
                    json.dumps(getattr(event, f.attname), cls=DjangoJSONEncoder)
                    if f.attname in json_fields
                    else getattr(event, f.attname)
                    for f in fields
                ]
            )


def build(
    *,
    actor: Actor | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    school_id: int | None = None,
    area_id: int | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """An unsaved event (``record`` saves one; ``record_many`` saves a batch)."""
    return AuditEvent(
        at=at or clock.now(),
        actor=actor.user if actor else None,
        actor_role=actor.role if actor else "system",
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        school_id=school_id if school_id is not None else (actor.school_id if actor else None),
        area_id=area_id if area_id is not None else (actor.area_id if actor else None),
        before={k: _jsonable(v) for k, v in (before or {}).items()},
        after={k: _jsonable(v) for k, v in (after or {}).items()},
        reason=reason,
    )


ACTION_LABELS: dict[str, tuple[str, str]] = {
    "person.create": ("เพิ่มนักเรียน", "Student added"),
    "person.update": ("แก้ไขข้อมูลบุคคล", "Personal data changed"),
    "enrolment.create": ("ลงทะเบียนเข้าเรียน", "Enrolled"),
    "enrolment.update": ("แก้ไขข้อมูลการเรียน", "Enrolment changed"),
    "import.commit": ("นำเข้าข้อมูลจากไฟล์", "Imported from a file"),
}


def action_label(action: str, language: str) -> str:
    th, en = ACTION_LABELS.get(action, (action, action))
    return en if language == "en" else th
