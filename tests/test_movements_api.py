"""Movements and cases over the API (the services are tested in test_movements/test_cases)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dmc.accounts.services import token_create
from dmc.cases.models import Case
from dmc.students.models import Enrolment
from tests.conftest import World, make_citizen_id


def _api(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(client: Client, url: str, body: dict[str, object]) -> object:
    return client.post(url, json.dumps(body), content_type="application/json")


ADD = {
    "school_code": "10010001",
    "document_type": "I",
    "title_code": "001",
    "first_name": "ทดลอง",
    "last_name": "เอพีไอ",
    "sex": "M",
    "birth_date": "01/06/2556",
    "grade": "05",
    "room": 1,
    "student_no": "A1",
    "sat_exam_here": True,
    "weight_kg": "30",
    "height_cm": "135",
}


def test_add_then_refusals_in_the_error_shape(world: World) -> None:
    api = _api(world, "officer_a1")
    ok = _post(api, "/api/v1/students", {**ADD, "person_id": make_citizen_id(1)})
    assert ok.status_code == 200, ok.content
    assert ok.json()["first_name"] == "ทดลอง"
    no_exam = _post(
        api,
        "/api/v1/students",
        {**ADD, "person_id": make_citizen_id(2), "sat_exam_here": False, "student_no": "A2"},
    )
    assert no_exam.status_code == 409
    assert no_exam.json()["code"] == "add_not_exam_taker"
    other = _post(
        api, "/api/v1/students", {**ADD, "school_code": "42010001", "person_id": make_citizen_id(3)}
    )
    assert other.status_code == 403


def test_transfer_in_opens_a_case_when_active_elsewhere(world: World) -> None:
    held = world.add_student(world.school_b1)
    api = _api(world, "officer_a1")
    body = {
        "school_code": "10010001",
        "person_id": held.person.person_id,
        "grade": "05",
        "room": 1,
        "student_no": "T1",
        "sat_exam_here": True,
    }
    response = _post(api, "/api/v1/students/transfer-in", body)
    assert response.status_code == 200, response.content
    assert response.json()["student"] is None
    case_id = response.json()["case_id"]
    case = Case.objects.get(pk=case_id)
    assert (case.kind, case.school, case.other_school) == (
        "duplicate",
        world.school_a1,
        world.school_b1,
    )
    assert Enrolment.objects.filter(person=held.person, status="active").count() == 1
    # the holder's area decides over the API; the claimant gets the student
    denied = _post(
        _api(world, "area_a"), f"/api/v1/cases/{case_id}/decision", {"keeper": "claimant"}
    )
    assert denied.status_code == 403
    decided = _post(
        _api(world, "area_b"),
        f"/api/v1/cases/{case_id}/decision",
        {"keeper": "claimant", "note": "ตรวจสอบแล้ว"},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "applied"
    active = Enrolment.objects.get(person=held.person, status="active")
    assert active.school == world.school_a1


def test_withdraw_and_tracked_and_grade(world: World) -> None:
    e = world.add_student()
    api = _api(world, "officer_a1")
    dropout = _post(
        api, f"/api/v1/students/{e.pk}/withdraw", {"reason": "04", "left_on": "01/02/2565"}
    )
    assert dropout.json()["code"] == "dropout_not_approved"
    grade = _post(api, f"/api/v1/students/{e.pk}/grade", {"grade": "05", "room": 2, "reason": ""})
    assert grade.json()["code"] == "grade_change_reason"
    grade = _post(
        api, f"/api/v1/students/{e.pk}/grade", {"grade": "05", "room": 2, "reason": "จัดห้องผิด"}
    )
    assert grade.json()["room"] == 2
    tracked = _post(api, f"/api/v1/students/{e.pk}/tracked", {"tracked": True})
    assert tracked.json()["tracked_318"] is True
    refused = _post(
        api, f"/api/v1/students/{e.pk}/withdraw", {"reason": "03", "left_on": "01/02/2565"}
    )
    assert refused.json()["code"] == "tracked_cannot_withdraw"


@pytest.mark.parametrize("kind", ["id-correction", "dropout", "gcode"])
def test_open_cases_over_the_api(world: World, kind: str) -> None:
    e = world.add_student(person_id="G644200000001") if kind == "gcode" else world.add_student()
    body = {
        "new_id": make_citizen_id(99),
        "reason": "เอกสารถูกต้อง",
        "left_on": "01/02/2565",
        "dropout_reason": "01",
    }
    response = _post(_api(world, "officer_a1"), f"/api/v1/students/{e.pk}/cases/{kind}", body)
    assert response.status_code == 200, response.content
    case_id = response.json()["case_id"]
    listed = _api(world, "area_a").get("/api/v1/cases", {"awaiting_me": True}).json()
    assert case_id in [c["id"] for c in listed]
    assert _api(world, "area_b").get(f"/api/v1/cases/{case_id}").status_code == 404


def test_evidence_upload_over_the_api(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    e = world.add_student()
    case_id = _post(
        _api(world, "officer_a1"),
        f"/api/v1/students/{e.pk}/cases/dropout",
        {"reason": "ย้ายตามครอบครัว", "left_on": "01/02/2565", "dropout_reason": "07"},
    ).json()["case_id"]
    api = _api(world, "officer_a1")
    pdf = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    ok = api.post(f"/api/v1/cases/{case_id}/attachments", {"file": pdf})
    assert ok.status_code == 200, ok.content
    assert ok.json()["content_type"] == "application/pdf"
    exe = SimpleUploadedFile("letter.pdf", b"MZ\x90\x00", content_type="application/pdf")
    bad = api.post(f"/api/v1/cases/{case_id}/attachments", {"file": exe})
    assert bad.status_code == 400
    assert bad.json()["code"] == "code_unknown"
