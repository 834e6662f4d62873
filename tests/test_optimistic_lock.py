"""A stale save gets a clear conflict (409), never a silent overwrite."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from dmc.core.errors import DmcError, ErrorCode
from dmc.students import services
from tests.conftest import World, login


def test_second_writer_with_the_old_version_is_refused(world: World) -> None:
    enrolment = world.add_student()
    actor = world.actors["officer_a1"]
    # two editors opened the record at version 1; the first saves
    services.student_update(
        actor=actor,
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"first_name": "แรก"},
    )
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=actor,
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"first_name": "สอง"},
        )
    assert exc.value.code == ErrorCode.STALE_VERSION
    assert exc.value.http_status == 409
    enrolment.person.refresh_from_db()
    assert enrolment.person.first_name == "แรก"
    assert enrolment.person.version == 2


def test_the_enrolment_version_is_checked_too(world: World) -> None:
    enrolment = world.add_student()
    actor = world.actors["officer_a1"]
    services.student_update(
        actor=actor,
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"weight_kg": Decimal("33.0")},
    )
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=actor,
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"height_cm": Decimal("140.0")},
        )
    assert exc.value.code == ErrorCode.STALE_VERSION
    enrolment.refresh_from_db()
    assert enrolment.height_cm == Decimal("135.0")


def test_web_stale_save_shows_the_conflict_and_keeps_the_newer_data(world: World) -> None:
    enrolment = world.add_student()
    client = Client()
    login(client, world.users["officer_a1"])
    page = client.get(f"/students/{enrolment.pk}/")
    form = dict(page.context["form"].initial.items())
    services.student_update(
        actor=world.actors["officer_a1"],
        enrolment_id=enrolment.pk,
        person_version=1,
        enrolment_version=1,
        changes={"first_name": "คนอื่นแก้"},
    )
    form["first_name"] = "ของฉัน"
    response = client.post(f"/students/{enrolment.pk}/", form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "ถูกแก้ไขโดยผู้อื่น" in html
    assert "โหลดข้อมูลล่าสุด" in html
    enrolment.person.refresh_from_db()
    assert enrolment.person.first_name == "คนอื่นแก้"


def test_api_stale_patch_is_409_with_the_error_shape(world: World) -> None:
    from dmc.accounts.services import token_create

    enrolment = world.add_student()
    _, secret = token_create(actor=world.actors["officer_a1"], name="sis")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"person_version": 1, "enrolment_version": 1, "changes": {"first_name": "หนึ่ง"}}
    ok = client.patch(
        f"/api/v1/students/{enrolment.pk}", json.dumps(body), content_type="application/json"
    )
    assert ok.status_code == 200
    assert ok.json()["person_version"] == 2
    stale = client.patch(
        f"/api/v1/students/{enrolment.pk}",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert "Someone else changed this record" in stale.json()["message"]
