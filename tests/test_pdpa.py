"""PDPA (issue 9): purpose-gated, logged reads by area offices and OBEC; exports in the same
access log; no citizen IDs or names in application logs; the per-student data access report;
the retention/anonymisation job; the audit and access logs are append-only even for a
privileged user, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from dmc.accounts.services import token_create
from dmc.core import audit
from dmc.core.logging import MaskPersonalData
from dmc.core.models import AccessEvent, AuditEvent
from dmc.privacy import retention
from dmc.students import services as student_services
from dmc.students.models import Enrolment, Person
from tests import import_corpus as corpus
from tests.conftest import PURPOSE_QUERY, World, login, make_citizen_id, state_purpose


def _web(world: World, name: str) -> Client:
    client = Client()
    login(client, world.users[name])
    return client


def _api(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


# --- (a) purpose-gated reads ---------------------------------------------------------------------


def test_area_officer_states_a_purpose_once_per_school(world: World) -> None:
    student = world.add_student()
    client = _web(world, "area_a")
    asked = client.get(f"/students/{student.pk}/")
    assert asked.status_code == 302
    assert asked["Location"].startswith("/privacy/purpose/?school=10010001")
    form = client.get(asked["Location"]).content.decode()
    assert "ระบุวัตถุประสงค์" in form and "โรงเรียนบ้านหนึ่ง" in form
    assert student.person.first_name not in form  # nothing identifiable before the purpose
    assert AccessEvent.objects.count() == 0
    # refusals: no code, an unknown code, 99 without a description
    for data in ({}, {"code": "42"}, {"code": "99", "text": "  "}):
        refused = client.post("/privacy/purpose/", {"school": "10010001", "next": "/", **data})
        assert refused.status_code == 400
        assert "ต้องระบุวัตถุประสงค์" in refused.content.decode()
    given = client.post(
        "/privacy/purpose/",
        {"school": "10010001", "code": "02", "next": f"/students/{student.pk}/"},
    )
    assert given.status_code == 302 and given["Location"] == f"/students/{student.pk}/"
    page = client.get(f"/students/{student.pk}/")
    assert page.status_code == 200 and student.person.first_name in page.content.decode()
    client.get("/schools/10010001/students/")  # the list: same school, not asked again
    events = list(AccessEvent.objects.order_by("id"))
    assert [(e.kind, e.purpose_code) for e in events] == [("detail", "02"), ("list", "02")]
    detail = events[0]
    assert (detail.actor, detail.actor_role, detail.actor_area_id) == (
        world.users["area_a"],
        "area_officer",
        world.area_a.pk,
    )
    assert (detail.school_id, detail.enrolment_id, detail.person_pk) == (
        world.school_a1.pk,
        student.pk,
        student.person_id,
    )
    assert events[1].rows == 1 and events[1].academic_year == 2564
    # another school of the area: asked again
    assert client.get("/schools/10010002/students/").status_code == 302


def test_other_purpose_needs_and_keeps_a_description(world: World) -> None:
    student = world.add_student()
    client = _web(world, "obec")
    state_purpose(client, "10010001", code="99", text="สำนักงานตรวจเงินแผ่นดินขอตรวจสอบ")
    client.get(f"/students/{student.pk}/")
    event = AccessEvent.objects.get()
    assert (event.purpose_code, event.purpose_text) == ("99", "สำนักงานตรวจเงินแผ่นดินขอตรวจสอบ")


def test_school_staff_are_not_asked_and_not_logged_per_read(world: World) -> None:
    student = world.add_student()
    client = _web(world, "officer_a1")
    assert client.get(f"/students/{student.pk}/").status_code == 200
    assert client.get("/schools/10010001/students/").status_code == 200
    assert AccessEvent.objects.count() == 0


def test_the_purpose_form_is_scoped(world: World) -> None:
    client = _web(world, "area_b")
    assert client.get("/privacy/purpose/?school=10010001").status_code == 403
    refused = client.post("/privacy/purpose/", {"school": "10010001", "code": "01"})
    assert refused.status_code == 403
    assert client.session.get("dmc_purposes") is None


def test_purpose_form_does_not_redirect_off_site(world: World) -> None:
    client = _web(world, "area_a")
    response = client.post(
        "/privacy/purpose/",
        {"school": "10010001", "code": "01", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_htmx_list_requests_without_a_purpose_are_sent_to_the_form(world: World) -> None:
    world.add_student()
    client = _web(world, "area_a")
    response = client.get("/schools/10010001/students/?page=1", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/privacy/purpose/?school=10010001")


def test_a_role_switch_forgets_the_purposes(world: World) -> None:
    from dmc.accounts.services import assignment_create_approved

    user = world.users["area_a"]
    second = assignment_create_approved(actor=None, user=user, role="obec_admin")
    student = world.add_student()
    client = _web(world, "area_a")
    client.post("/role/", {"assignment": world.actors["area_a"].assignment_id})
    state_purpose(client, "10010001")
    assert client.get(f"/students/{student.pk}/").status_code == 200
    client.post("/role/", {"assignment": second.pk})
    assert client.get(f"/students/{student.pk}/").status_code == 302


def test_api_reads_by_area_need_a_purpose_and_are_logged(world: World) -> None:
    student = world.add_student()
    api = _api(world, "area_a")
    missing = api.get(f"/api/v1/students/{student.pk}")
    assert missing.status_code == 400
    body = missing.json()
    assert body["code"] == "access_purpose_required"
    assert "วัตถุประสงค์" in body["message"] and "01" in body["message"]
    assert api.get(f"/api/v1/students/{student.pk}?purpose_code=77").status_code == 400
    assert api.get(f"/api/v1/students/{student.pk}?purpose_code=99").status_code == 400
    listing = api.get(f"/api/v1/schools/10010001/students?{PURPOSE_QUERY}")
    assert listing.status_code == 200
    ok = api.get(f"/api/v1/students/{student.pk}?purpose_code=99&purpose_text=audit")
    assert ok.status_code == 200 and ok.json()["citizen_id"] == student.person.person_id
    events = list(AccessEvent.objects.order_by("id").values_list("kind", "purpose_code", "rows"))
    assert events == [("api_list", "01", 1), ("api_detail", "99", 1)]
    # a school's own token reads without a purpose and without an access-log row
    assert _api(world, "officer_a1").get(f"/api/v1/students/{student.pk}").status_code == 200
    assert AccessEvent.objects.count() == 2


def test_session_api_reads_reuse_the_web_purpose(world: World) -> None:
    student = world.add_student()
    client = _web(world, "area_a")
    assert client.get(f"/api/v1/students/{student.pk}").status_code == 400
    state_purpose(client, "10010001", code="03")
    assert client.get(f"/api/v1/students/{student.pk}").status_code == 200
    assert AccessEvent.objects.get().purpose_code == "03"


# --- (b) exports in the same access log -----------------------------------------------------------


def test_exports_are_in_the_access_log_for_every_role(world: World) -> None:
    world.add_student()
    world.add_student()
    school = _web(world, "officer_a1")
    assert school.get("/schools/10010001/students.csv?year=2564").status_code == 200
    area = _web(world, "area_a")
    assert area.post("/schools/10010001/students.csv", {"year": "2564"}).status_code == 400
    ok = area.post("/schools/10010001/students.xlsx", {"year": "2564", "purpose": "นิเทศ"})
    assert ok.status_code == 200
    events = list(AccessEvent.objects.filter(kind="export").order_by("id"))
    assert [(e.actor_role, e.rows, e.purpose_text) for e in events] == [
        ("school_officer", 2, ""),
        ("area_officer", 2, "นิเทศ"),
    ]
    assert AuditEvent.objects.filter(action="export.students").count() == 2  # and audited


# --- (c) no citizen IDs or names in the logs -----------------------------------------------------

DIGITS13 = re.compile(r"(?<!\d)\d{13}(?!\d)")


def test_no_citizen_ids_or_names_in_any_log_record(
    world: World, caplog: pytest.LogCaptureFixture, settings: Any, tmp_path: Path
) -> None:
    """A realistic session with logging at DEBUG: log in (and fail once), add a student, fail
    an add, edit, import a file with a bad row, export, read as an area officer, hit errors.
    Not one log record carries a 13-digit run or a student's name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path / "media"
    caplog.set_level(logging.DEBUG)
    names: set[str] = set()
    ids: set[str] = set()
    officer = Client()
    officer.post("/login/", {"username": "officer_a1", "password": "wrong-wrong"})
    login(officer, world.users["officer_a1"])
    pid = make_citizen_id(7_300_001)
    ids.add(pid)
    names |= {"ศักดิ์สิทธิ์", "พิทักษ์ไทย"}
    data = {
        "person_id": pid,
        "document_type": "I",
        "title_code": "001",
        "first_name": "ศักดิ์สิทธิ์",
        "last_name": "พิทักษ์ไทย",
        "sex": "M",
        "birth_date": "01/06/2556",
        "grade": "05",
        "room": "1",
        "student_no": "60001",
        "weight_kg": "30",
        "height_cm": "135",
        "sat_exam_here": "1",
    }
    assert officer.post("/students/add/", data).status_code == 302
    assert officer.post("/students/add/", data).status_code == 409  # the same ID again
    bad_id = {**data, "person_id": pid[:-1] + str((int(pid[-1]) + 1) % 10), "student_no": "2"}
    ids.add(bad_id["person_id"])
    assert officer.post("/students/add/", bad_id).status_code == 400
    e = Enrolment.objects.get(person__person_id=pid)
    form = dict(officer.get(f"/students/{e.pk}/").context["form"].initial)
    form.update(last_name="พิทักษ์ไทยแท้", weight_kg="31")
    edit = officer.post(f"/students/{e.pk}/", form)
    assert edit.status_code == 302
    names.add("พิทักษ์ไทยแท้")
    stale = officer.post(
        f"/students/{e.pk}/",
        {"person_version": 1, "enrolment_version": 1, "first_name": "x", "last_name": "y"},
    )
    assert stale.status_code in (400, 409)
    src = corpus.source(5)
    rows = src.copy_rows()
    rows[1] = corpus.with_cells(rows[1], ชั้น="ม.9")
    for s in src.students:
        names |= {s.first_name, s.last_name}
        ids.add(s.person_id)
    upload = officer.post(
        "/imports/",
        {"file": SimpleUploadedFile("s.csv", corpus.to_csv(src.header, rows)), "sat_exam": "1"},
    )
    upload_id = upload["Location"].strip("/").split("/")[-1]
    officer.get(upload["Location"])
    officer.post(f"/imports/{upload_id}/commit/")
    assert officer.get("/schools/10010001/students.csv?year=2564").status_code == 200
    area = _web(world, "area_a")
    state_purpose(area, "10010001")
    area.get(f"/students/{e.pk}/")
    _api(world, "area_a").get(f"/api/v1/students/{e.pk}")  # 400: no purpose
    _api(world, "officer_b1").get(f"/api/v1/students/{e.pk}")  # 404: out of scope
    Client().get(f"/api/v1/students/{e.pk}")  # 401
    assert len(caplog.records) > 5  # the run did log (requests refused, SQL off)
    for record in caplog.records:
        text = record.getMessage() + " " + str(record.args or "")
        assert not DIGITS13.search(text), (record.name, text[:200])
        assert not any(n in text for n in names), (record.name, text[:200])


def test_the_log_filter_masks_ids_in_messages_and_tracebacks() -> None:
    pid = make_citizen_id(1_234_567)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    log = logging.getLogger("dmc.test.pdpa")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("row with %s and 1-2345-67890-12-3", pid)
        try:
            raise ValueError(f"bad id {pid}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    out = stream.getvalue()
    assert pid not in out and "1-2345-67890-12-3" not in out
    assert out.count("[ID]") == 3, out
    assert "ValueError" in out  # the traceback itself is kept


def test_the_pdpa_filter_is_on_every_configured_handler() -> None:
    from django.conf import settings

    for handler in settings.LOGGING["handlers"].values():
        assert "pdpa" in handler.get("filters", [])


# --- (d) the per-student data access report ------------------------------------------------------


def test_access_report_shows_what_we_hold_and_who_saw_or_changed(world: World) -> None:
    from decimal import Decimal

    student = world.add_student(actor=world.actors["officer_a1"], religion="001")
    student_services.student_update(
        actor=world.actors["officer_a1"],
        enrolment_id=student.pk,
        person_version=1,
        enrolment_version=1,
        changes={"height_cm": Decimal("140.0")},
    )
    area = _web(world, "area_a")
    state_purpose(area, "10010001", code="02")
    area.get(f"/students/{student.pk}/")
    school = _web(world, "officer_a1")
    page = school.get(f"/students/{student.pk}/access/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "ข้อมูลที่ระบบจัดเก็บ" in html and "ศาสนา" in html  # a sensitive field we hold
    assert "ดูข้อมูลนักเรียนรายคน" in html and "ทดสอบ area_a" in html  # who saw it
    assert "02 ติดตามการย้าย" in html  # and why
    assert "แก้ไขข้อมูลการเรียน" in html and "height_cm" in html  # who changed what
    assert "140.0" not in html  # field names, not values
    assert student.person.person_id not in html  # the ID only masked
    # the API gives the same
    rep = _api(world, "officer_a1").get(f"/api/v1/students/{student.pk}/access-report").json()
    assert any(f["name"] == "religion" and f["sensitive"] and f["filled"] for f in rep["fields"])
    assert [r["detail"] for r in rep["reads"]] == ["02 ติดตามการย้าย การออกกลางคัน หรือเด็กตกหล่น"]
    assert {c["what"] for c in rep["changes"]} >= {"เพิ่มนักเรียน", "แก้ไขข้อมูลการเรียน"}


def test_access_report_is_scoped_and_gated(world: World) -> None:
    student = world.add_student()
    assert _web(world, "officer_a2").get(f"/students/{student.pk}/access/").status_code == 404
    assert (
        _api(world, "area_b").get(f"/api/v1/students/{student.pk}/access-report").status_code == 404
    )
    area = _web(world, "area_a")
    assert area.get(f"/students/{student.pk}/access/").status_code == 302  # purpose first
    assert (
        _api(world, "obec").get(f"/api/v1/students/{student.pk}/access-report").status_code == 400
    )
    obec = _api(world, "obec").get(f"/api/v1/students/{student.pk}/access-report?{PURPOSE_QUERY}")
    assert obec.status_code == 200
    assert AccessEvent.objects.get().kind == "report"  # reading the report is itself logged


def test_list_reads_of_the_students_school_appear_in_the_report(world: World) -> None:
    student = world.add_student()
    other_school = world.add_student(world.school_a2)
    area = _web(world, "area_a")
    state_purpose(area, "10010001")
    state_purpose(area, "10010002")
    area.get("/schools/10010001/students/")
    area.get("/schools/10010002/students/")
    rep = _api(world, "officer_a1").get(f"/api/v1/students/{student.pk}/access-report").json()
    assert [r["what"] for r in rep["reads"]] == ["ดูรายชื่อนักเรียนของโรงเรียน (10010001)"]
    assert other_school.pk != student.pk


# --- (e) retention --------------------------------------------------------------------------------


def _past_student(world: World, n: int, year: int, status: str = "closed") -> Person:
    person = Person.objects.create(
        person_id=make_citizen_id(8_000_000 + n),
        id_kind="citizen",
        title_code="001",
        first_name=f"อดีต{n}",
        last_name="นักเรียนเก่า",
        name_key="x",
        sex="M" if n % 2 else "F",
        birth_date=dt.date(2008, 3, 15),
        house_no="12/3",
        guardian_first_name="ผู้ปกครอง",
        mother_first_name="แม่",
    )
    Enrolment.objects.create(
        person=person,
        school=world.school_a1,
        academic_year=year,
        student_no=str(900 + n),
        grade="06",
        status=status,
        leave_note="ย้ายตามผู้ปกครอง",
    )
    return person


def _counts() -> list[tuple[Any, ...]]:
    return sorted(
        Enrolment.objects.values_list(
            "school_id", "academic_year", "grade", "status", "person__sex"
        )
    )


def test_anonymise_past_years_dry_run_then_run_then_again(world: World) -> None:
    old1, old2 = _past_student(world, 1, 2560), _past_student(world, 2, 2561)
    recent = _past_student(world, 3, 2563)  # not before 2562
    current = world.add_student()  # active this year
    returning = _past_student(world, 4, 2560)  # an old enrolment, but active again now
    Enrolment.objects.create(
        person=returning, school=world.school_a2, academic_year=2564, student_no="77", grade="05"
    )
    counts = _counts()
    out = io.StringIO()
    call_command("anonymise", "--before-year", "2562", "--dry-run", stdout=out)
    assert "would anonymise 2 persons (2 enrolments)" in out.getvalue()
    assert Person.objects.get(pk=old1.pk).first_name == "อดีต1"
    assert not AuditEvent.objects.filter(action="retention.anonymise").exists()

    call_command("anonymise", "--before-year", "2562", stdout=io.StringIO())
    for p in (old1, old2):
        p.refresh_from_db()
        assert (p.first_name, p.last_name) == ("ไม่ระบุ", "ไม่ระบุ")
        assert p.person_id == f"X{p.pk:012d}"
        assert (p.house_no, p.guardian_first_name, p.mother_first_name) == ("", "", "")
        assert p.birth_date == dt.date(2008, 7, 1)
        assert p.enrolments.get().leave_note == ""
    for p in (recent, current.person, returning):
        p.refresh_from_db()
        assert p.first_name != "ไม่ระบุ"
    assert _counts() == counts  # every count stays
    [event] = AuditEvent.objects.filter(action="retention.anonymise")
    assert event.after == {"persons": 2, "enrolments": 2, "before_year": 2562}
    text = str(event.after) + event.reason + event.target_id
    assert "อดีต" not in text and not DIGITS13.search(text)

    call_command("anonymise", "--before-year", "2562", stdout=io.StringIO())  # idempotent
    assert AuditEvent.objects.filter(action="retention.anonymise").count() == 2
    assert AuditEvent.objects.filter(action="retention.anonymise").first().after["persons"] == 0
    assert _counts() == counts


def test_anonymise_refuses_a_non_be_year(world: World) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("anonymise", "--before-year", "2019", stdout=io.StringIO())


def test_open_cases_hold_a_person_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _past_student(world, 5, 2560)
    assert retention.candidates(2562) == [old.pk]
    from dmc.cases.models import Case

    case = Case.objects.create(
        kind=Case.Kind.ID_CORRECTION,
        status=Case.Status.SUBMITTED,
        school=world.school_a1,
        person=old,
        opened_by=world.users["officer_a1"],
        opened_at=dt.datetime(2022, 4, 1, tzinfo=dt.UTC),
        academic_year=2560,
    )
    assert retention.candidates(2562) == []
    Case.objects.filter(pk=case.pk).update(status=Case.Status.REJECTED)
    assert retention.candidates(2562) == [old.pk]


# --- (f) append-only, even for a privileged user -------------------------------------------------


def _entries(world: World) -> tuple[AuditEvent, AccessEvent]:
    from dmc.privacy import access

    student = world.add_student()
    event = audit.record(actor=world.actors["obec"], action="test.x", target=student)
    read = access.record(
        actor=world.actors["obec"],
        kind="detail",
        school_id=world.school_a1.pk,
        purpose=access.Purpose("01"),
        enrolment_id=student.pk,
    )
    return event, read


def _refused(fn: Any) -> None:
    with pytest.raises((DatabaseError, PermissionError)), transaction.atomic():
        fn()


@pytest.mark.parametrize("table", ["core_auditevent", "core_accessevent"])
def test_no_one_can_alter_or_delete_log_entries(world: World, table: str) -> None:
    """A Django superuser who is also OBEC's administrator, through the ORM and through raw SQL
    on Django's own connection (the database owner): every change is refused by the database
    triggers (SQLite and PostgreSQL), the rows stay as written."""
    from dmc.accounts.models import User

    admin = User.objects.create_superuser("root_admin", "r@example.org", "Sup3r-secret-2565")
    assert admin.is_superuser
    audit_row, access_row = _entries(world)
    model: Any = AuditEvent if table == "core_auditevent" else AccessEvent
    row = audit_row if model is AuditEvent else access_row
    field = "reason" if model is AuditEvent else "purpose_text"
    setattr(row, field, "rewritten")
    _refused(row.save)  # the model refuses
    _refused(row.delete)
    _refused(lambda: model.objects.filter(pk=row.pk).update(**{field: "rewritten"}))
    _refused(lambda: model.objects.filter(pk=row.pk).delete())
    _refused(lambda: model.objects.all().delete())
    _refused(lambda: model.objects.filter(pk=row.pk).update(actor=admin))

    def raw(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [row.pk] if "%s" in sql else None)

    _refused(lambda: raw(f"UPDATE {table} SET at = at WHERE id = %s"))  # noqa: S608
    _refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s"))  # noqa: S608
    _refused(lambda: raw(f"DELETE FROM {table}"))  # noqa: S608
    if connection.vendor == "postgresql":
        _refused(lambda: raw(f"TRUNCATE {table}"))
    fresh = model.objects.get(pk=row.pk)
    assert getattr(fresh, field) != "rewritten"
    assert model.objects.count() >= 1


def test_the_triggers_are_really_installed_by_the_migrations(db: None) -> None:
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'core_%%_no_%%'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'core_%_no_%'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {r[0] for r in cursor.fetchall()}
    for table in ("core_auditevent", "core_accessevent"):
        assert any(n.startswith(table) for n in names), names


def test_year_end_grid_and_workbook_are_gated_for_the_area(world: World) -> None:
    world.add_student(grade="05")
    area = _web(world, "area_a")
    grid = "/yearend/3.2.2/?grade=05&room=1&school=10010001"
    assert area.get(grid).status_code == 302
    assert area.get("/yearend/results.xlsx?school=10010001").status_code == 302
    state_purpose(area, "10010001", code="01")
    assert area.get(grid).status_code == 200
    assert area.get("/yearend/results.xlsx?school=10010001").status_code == 200
    kinds = list(AccessEvent.objects.order_by("id").values_list("kind", "purpose_code", "rows"))
    assert kinds == [("list", "01", 1), ("export", "01", 1)]
    school = _web(world, "officer_a1")
    assert school.get("/yearend/3.2.2/?grade=05&room=1").status_code == 200
    assert AccessEvent.objects.count() == 2
