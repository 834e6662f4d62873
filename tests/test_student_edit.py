"""The student edit form: Thai errors per field, D5 title rule, L1 citizen ID, BE dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from dmc.core.errors import DmcError, ErrorCode
from dmc.students import rules, services
from dmc.students.models import Enrolment
from tests.conftest import World, login


def _form(client: Client, enrolment: Enrolment) -> dict[str, str]:
    page = client.get(f"/students/{enrolment.pk}/")
    assert page.status_code == 200
    return dict(page.context["form"].initial)


@pytest.fixture
def officer(world: World) -> Client:
    client = Client()
    login(client, world.users["officer_a1"])
    return client


def test_edit_saves_with_be_date_and_thai_digits(world: World, officer: Client) -> None:
    enrolment = world.add_student()
    form = _form(officer, enrolment)
    assert form["birth_date"] == "01/06/2556"  # shown in BE
    form.update(birth_date="๐๒/๐๖/๒๕๕๖", weight_kg="๓๒,๕", height_cm="136")
    response = officer.post(f"/students/{enrolment.pk}/", form, follow=True)
    assert "บันทึกข้อมูลเรียบร้อย" in response.content.decode()
    enrolment.refresh_from_db()
    enrolment.person.refresh_from_db()
    assert enrolment.person.birth_date == dt.date(2013, 6, 2)
    assert enrolment.weight_kg == Decimal("32.5")


def test_errors_name_the_field_in_thai_and_change_nothing(world: World, officer: Client) -> None:
    enrolment = world.add_student()
    form = _form(officer, enrolment)
    form.update(weight_kg="999", first_name="", birth_date="31/02/2556")
    response = officer.post(f"/students/{enrolment.pk}/", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "วันที่ 31/02/2556 อ่านไม่ได้" in html
    enrolment.refresh_from_db()
    assert enrolment.weight_kg == Decimal("30.5")
    # fix the date: the remaining field errors are shown together
    form["birth_date"] = "01/06/2556"
    html = officer.post(f"/students/{enrolment.pk}/", form).content.decode()
    assert "ต้องกรอกชื่อ" in html
    assert "น้ำหนัก (กก.) 999 อยู่นอกช่วงที่เป็นไปได้" in html


def test_english_switch_gives_english_errors(world: World, officer: Client) -> None:
    enrolment = world.add_student()
    officer.post("/lang/", {"lang": "en", "next": "/"})
    form = _form(officer, enrolment)
    form["weight_kg"] = "2"
    html = officer.post(f"/students/{enrolment.pk}/", form).content.decode()
    assert "Weight (kg) 2 is outside the plausible range" in html
    assert "Save" in html


def test_title_must_agree_with_sex_and_age(world: World) -> None:
    enrolment = world.add_student()
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"title_code": "002"},
        )  # เด็กหญิง for a boy
    assert exc.value.code == ErrorCode.TITLE_SEX_AGE
    assert "เด็กชาย" in exc.value.message_in("th")


def test_citizen_id_cannot_be_edited_directly(world: World) -> None:
    enrolment = world.add_student()
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"person_id": "1103700123458"},
        )
    assert exc.value.code == ErrorCode.CITIZEN_ID_DIRECT_EDIT


@pytest.mark.parametrize(
    ("title", "sex", "age", "ok"),
    [
        ("001", "M", 14, True),
        ("001", "M", 15, False),
        ("003", "M", 15, True),
        ("003", "M", 14, False),
        ("002", "F", 9, True),
        ("004", "F", 16, True),
        ("005", "F", 17, True),
        ("004", "F", 14, False),
        ("001", "F", 9, False),
        ("832", "M", 12, True),
        ("832", "F", 12, False),
    ],
)
def test_d5_title_rule(title: str, sex: str, age: int, ok: bool) -> None:
    if ok:
        rules.check_title(title, sex, age)
    else:
        with pytest.raises(DmcError) as exc:
            rules.check_title(title, sex, age)
        assert exc.value.code == ErrorCode.TITLE_SEX_AGE


def test_unknown_title_is_refused() -> None:
    with pytest.raises(DmcError) as exc:
        rules.check_title("999", "M", 10)
    assert exc.value.code == ErrorCode.CODE_UNKNOWN


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2010, 5, 16), dt.date(2025, 5, 16), 15),
        (dt.date(2010, 5, 17), dt.date(2025, 5, 16), 14),
        (dt.date(2012, 2, 29), dt.date(2024, 2, 28), 11),
    ],
)
def test_age_on(birth: dt.date, on: dt.date, age: int) -> None:
    assert rules.age_on(birth, on) == age


def test_grade_and_room_must_exist_in_the_school() -> None:
    rooms = {"05": 2}
    rules.check_grade_room("05", 2, rooms)
    for grade, room, code in (
        ("05", 3, ErrorCode.ROOM_OUT_OF_RANGE),
        ("10", 1, ErrorCode.GRADE_NOT_OFFERED),
        ("19", 1, ErrorCode.CODE_UNKNOWN),
    ):
        with pytest.raises(DmcError) as exc:
            rules.check_grade_room(grade, room, rooms)
        assert exc.value.code == code


def test_measures_plausible() -> None:
    rules.check_measure(Decimal("8"), field="weight_kg")
    rules.check_measure(None, field="height_cm")
    for value, name in ((Decimal("7.9"), "weight_kg"), (Decimal("211"), "height_cm")):
        with pytest.raises(DmcError) as exc:
            rules.check_measure(value, field=name)
        assert exc.value.code == ErrorCode.VALUE_RANGE


def test_add_student_refuses_bad_id_and_existing_person(world: World) -> None:
    with pytest.raises(DmcError) as exc:
        world.add_student(person_id="1103700123451")
    assert exc.value.code == ErrorCode.CITIZEN_ID_CHECKSUM
    first = world.add_student()
    with pytest.raises(DmcError) as exc:
        world.add_student(world.school_b1, person_id=first.person.person_id)
    assert exc.value.code == ErrorCode.PERSON_EXISTS
    assert Enrolment.objects.count() == 1


def test_add_student_collects_every_field_error(world: World) -> None:
    with pytest.raises(DmcError) as exc:
        world.add_student(first_name="", religion="XYZ", title_code="003")
    assert exc.value.code == ErrorCode.VALIDATION
    assert set(exc.value.fields or {}) >= {"first_name", "religion", "title_code"}


def test_student_list_sorts_in_thai_order_and_pages(world: World, officer: Client) -> None:
    for name in ("เอกชัย", "กนกวรรณ", "ไพโรจน์", "ขวัญใจ"):
        sex, title = ("F", "002") if name in ("กนกวรรณ", "ขวัญใจ") else ("M", "001")
        world.add_student(first_name=name, sex=sex, title_code=title)
    html = officer.get("/schools/10010001/students/").content.decode()
    order = [html.index(n) for n in ("กนกวรรณ", "ขวัญใจ", "ไพโรจน์", "เอกชัย")]
    assert order == sorted(order)
    found = officer.get("/schools/10010001/students/", {"q": "ขวัญ"}).content.decode()
    assert "ขวัญใจ" in found and "ไพโรจน์" not in found
    htmx = officer.get("/schools/10010001/students/", {"q": "ไพโรจน์"}, HTTP_HX_REQUEST="true")
    assert "<html" not in htmx.content.decode() and "ไพโรจน์" in htmx.content.decode()


def test_search_by_full_citizen_id(world: World, officer: Client) -> None:
    target = world.add_student(first_name="เป้าหมาย")
    world.add_student(first_name="คนอื่น")
    pid = target.person.person_id
    dashed = f"{pid[0]}-{pid[1:5]}-{pid[5:10]}-{pid[10:12]}-{pid[12]}"
    html = officer.get("/schools/10010001/students/", {"q": dashed}).content.decode()
    assert "เป้าหมาย" in html and "คนอื่น" not in html


def test_overlong_values_are_refused_not_truncated_or_crashed(world: World) -> None:
    enrolment = world.add_student()
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"first_name": "ก" * 300, "moo": "1" * 11},
        )
    assert {e.code for e in exc.value.errors} == {ErrorCode.TOO_LONG}  # type: ignore[attr-defined]
    assert set(exc.value.fields or {}) == {"first_name", "moo"}
    with pytest.raises(DmcError) as exc:
        services.student_update(
            actor=world.actors["officer_a1"],
            enrolment_id=enrolment.pk,
            person_version=1,
            enrolment_version=1,
            changes={"student_no": "9" * 21},
        )
    assert exc.value.code == ErrorCode.TOO_LONG
