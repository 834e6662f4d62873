"""Every change writes an audit event in the same transaction; the log is append-only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from dmc.accounts import services as accounts
from dmc.accounts.models import Role
from dmc.core.errors import DmcError
from dmc.core.models import AuditEvent
from dmc.students import services
from tests.conftest import World


def test_adding_a_student_audits_person_and_enrolment(world: World) -> None:
    enrolment = world.add_student(actor=world.actors["officer_a1"])
    events = list(
        AuditEvent.objects.filter(action__in=["person.create", "enrolment.create"]).order_by("id")
    )
    assert [e.action for e in events] == ["person.create", "enrolment.create"]
    assert events[0].actor == world.users["officer_a1"]
    assert events[0].actor_role == Role.SCHOOL_OFFICER
    assert events[1].target_id == str(enrolment.pk)
    assert events[1].school_id == world.school_a1.pk
    assert events[1].area_id == world.area_a.pk
    assert events[1].after["grade"] == "05"


def test_an_update_records_before_and_after_of_changed_fields_only(world: World) -> None:
    enrolment = world.add_student()
    services.student_update(
        actor=world.actors["officer_a1"],
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"first_name": "สมหมาย", "weight_kg": Decimal("32.0"), "last_name": "ใจดี"},
    )
    person_event = AuditEvent.objects.get(action="person.update")
    assert person_event.before == {"first_name": enrolment.person.first_name}
    assert person_event.after == {"first_name": "สมหมาย"}
    enrolment_event = AuditEvent.objects.get(action="enrolment.update")
    assert enrolment_event.before == {"weight_kg": "30.5"}
    assert enrolment_event.after == {"weight_kg": "32.0"}


def test_a_save_that_changes_nothing_writes_nothing(world: World) -> None:
    enrolment = world.add_student()
    count = AuditEvent.objects.count()
    services.student_update(
        actor=world.actors["officer_a1"],
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"last_name": "ใจดี"},
    )
    assert AuditEvent.objects.count() == count
    enrolment.refresh_from_db()
    assert enrolment.version == 1


def test_a_refused_change_leaves_no_audit_and_no_change(world: World) -> None:
    enrolment = world.add_student()
    count = AuditEvent.objects.count()
    with pytest.raises(DmcError):
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"first_name": "ใหม่", "weight_kg": Decimal("999")},
        )
    assert AuditEvent.objects.count() == count
    enrolment.person.refresh_from_db()
    assert enrolment.person.first_name != "ใหม่"


def test_approval_is_audited(world: World) -> None:
    pending = accounts.user_register(
        username="newteacher",
        password="a-long-pass-2564",
        first_name="ครู",
        last_name="ใหม่",
        email="t@example.org",
        role=Role.SCHOOL_OFFICER,
        school=world.school_a1,
    )
    accounts.assignment_decide(
        actor=world.actors["area_a"], assignment_id=pending.pk, approve=True, note="ตรวจสอบแล้ว"
    )
    event = AuditEvent.objects.get(action="account.approve")
    assert event.before["status"] == "pending"
    assert event.after["status"] == "approved"
    assert event.reason == "ตรวจสอบแล้ว"
    assert event.actor == world.users["area_a"]


def test_orm_cannot_change_or_delete_audit_events(world: World) -> None:
    world.add_student()
    event = AuditEvent.objects.first()
    assert event is not None
    event.reason = "rewrite history"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE core_auditevent SET reason = 'x'", "DELETE FROM core_auditevent"],
    ids=["update_case", "delete_case"],
)
def test_the_database_refuses_raw_update_and_delete(world: World, sql: str) -> None:
    """Even bypassing the ORM (a privileged user with SQL), history cannot be rewritten."""
    world.add_student()
    before = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.count() == before
    assert not AuditEvent.objects.filter(reason="x").exists()


def test_queryset_update_and_delete_are_refused_too(world: World) -> None:
    world.add_student()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_student_history_is_shown_and_scoped(world: World) -> None:
    from django.test import Client

    from tests.conftest import login, state_purpose

    enrolment = world.add_student(actor=world.actors["officer_a1"])
    services.student_update(
        actor=world.actors["officer_a1"],
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"height_cm": Decimal("137.5")},
    )
    client = Client()
    login(client, world.users["officer_a1"])
    html = client.get(f"/students/{enrolment.pk}/").content.decode()
    assert "ประวัติการแก้ไข" in html
    assert "ส่วนสูง (ซม.): 135.0 → 137.5" in html
    assert "เพิ่มนักเรียน" in html
    # an OBEC viewer sees the same entries; another school's officer cannot open the page at all
    obec = Client()
    login(obec, world.users["obec"])
    state_purpose(obec, "10010001")
    assert "135.0 → 137.5" in obec.get(f"/students/{enrolment.pk}/").content.decode()
