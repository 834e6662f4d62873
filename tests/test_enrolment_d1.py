"""D1: one active enrolment per person per academic year, nationally — a database constraint on
SQLite and PostgreSQL, surfacing as a clear, scoped 409."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from dmc.core.errors import DmcError, ErrorCode
from dmc.students import services
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World


def _enrol(
    world: World,
    enrolment: Enrolment,
    school_key: str,
    actor_key: str | None,
    student_no: str = "77777",
) -> Enrolment:
    school = getattr(world, school_key)
    return services.enrolment_create(
        actor=world.actors[actor_key] if actor_key else None,
        person=enrolment.person,
        school=school,
        academic_year=YEAR,
        grade="05",
        room=1,
        student_no=student_no,
    )


def test_the_database_refuses_a_second_active_enrolment(world: World) -> None:
    first = world.add_student(world.school_a1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            person=first.person,
            school=world.school_b1,
            academic_year=YEAR,
            student_no="1",
            grade="05",
            room=1,
        )


def test_inactive_enrolments_and_other_years_are_allowed(world: World) -> None:
    first = world.add_student(world.school_a1)
    Enrolment.objects.create(
        person=first.person,
        school=world.school_b1,
        academic_year=YEAR,
        student_no="1",
        grade="05",
        room=1,
        status="transferred_out",
    )
    Enrolment.objects.create(
        person=first.person,
        school=world.school_b1,
        academic_year=YEAR + 1,
        student_no="1",
        grade="06",
        room=1,
    )
    assert Enrolment.objects.filter(person=first.person).count() == 3


def test_conflict_names_the_other_school_inside_the_area(world: World) -> None:
    first = world.add_student(world.school_a1)
    with pytest.raises(DmcError) as exc:
        _enrol(world, first, "school_a2", "officer_a2")
    assert exc.value.code == ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE
    assert exc.value.http_status == 409
    # a school officer's scope is their own school: the other school is not named
    assert "โรงเรียนบ้านหนึ่ง" not in exc.value.message_in("th")
    assert "โรงเรียนอื่น" in exc.value.message_in("th")


def test_conflict_names_the_school_to_an_actor_who_may_see_it(world: World) -> None:
    first = world.add_student(world.school_a1)
    with pytest.raises(DmcError) as exc:
        _enrol(world, first, "school_a2", "obec")
    assert "โรงเรียนบ้านหนึ่ง" in exc.value.message_in("th")
    assert "2564" in exc.value.message_in("th")


def test_conflict_across_areas_hides_the_other_area_school(world: World) -> None:
    first = world.add_student(world.school_a1)
    with pytest.raises(DmcError) as exc:
        _enrol(world, first, "school_b1", "officer_b1")
    assert exc.value.code == ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE
    assert "บ้านหนึ่ง" not in exc.value.message_in("th")
    assert "10010001" not in exc.value.message_in("en")


def test_refused_enrolment_changes_nothing(world: World) -> None:
    first = world.add_student(world.school_a1)
    before = list(Enrolment.objects.values_list("pk", "school_id", "status"))
    with pytest.raises(DmcError):
        _enrol(world, first, "school_b1", None)
    assert list(Enrolment.objects.values_list("pk", "school_id", "status")) == before


def test_duplicate_student_number_in_a_school_is_a_conflict(world: World) -> None:
    first = world.add_student(world.school_a1)
    second = world.add_student(world.school_b1)
    Enrolment.objects.filter(pk=second.pk).update(status="transferred_out")
    with pytest.raises(DmcError) as exc:
        _enrol(world, second, "school_a1", None, student_no=first.student_no)
    assert exc.value.code == ErrorCode.STUDENT_NO_TAKEN


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transactions_racing_to_enrol_the_same_person(world: World) -> None:
    """Two schools enrol the same person at the same moment: exactly one wins, the other gets
    the D1 conflict; the database never holds two active enrolments."""
    person = world.add_student(world.school_a1).person
    Enrolment.objects.filter(person=person).update(status="transferred_out")
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def race(key: str, school_key: str, number: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[key] = services.enrolment_create(
                actor=None,
                person=person,
                school=getattr(world, school_key),
                academic_year=YEAR,
                grade="05",
                room=1,
                student_no=number,
                weight_kg=Decimal("30.0"),
            )
        except DmcError as exc:
            results[key] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=race, args=("a2", "school_a2", "900")),
        threading.Thread(target=race, args=("b1", "school_b1", "901")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    outcomes = sorted(type(v).__name__ for v in results.values())
    assert outcomes == ["DmcError", "Enrolment"], results
    loser = next(v for v in results.values() if isinstance(v, DmcError))
    assert loser.code == ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE
    assert Enrolment.objects.filter(person=person, academic_year=YEAR, status="active").count() == 1
