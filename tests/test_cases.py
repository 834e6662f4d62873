"""Cases at the service level (and their pages): duplicates between two schools in different
areas (who sees them, who decides, what the decision moves), the concurrent transfer-in race,
ID corrections (deadline, forward, apply, propagation, audit), dropout consultations (L7),
G-code certification, comments, evidence (type by content, size, scoped download) and the
queues with their counts."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from dmc.accounts.actor import Actor
from dmc.cases import services as cases
from dmc.cases.models import Case, CaseAttachment, CaseComment
from dmc.core.errors import MESSAGES, DmcError, ErrorCode
from dmc.core.models import AuditEvent
from dmc.rounds.models import Snapshot, SnapshotRow
from dmc.students import movements
from dmc.students.models import Enrolment, Person
from tests.conftest import YEAR, World, login, make_citizen_id
from tests.movement_helpers import (
    actions_since,
    at,
    confirm_ready,
    events_since,
    fresh,
    heads,
    leave,
    mark,
    refused,
    total,
    transfer,
)

ACTIVE = Enrolment.Status.ACTIVE
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


def _visible(actor: Actor, case: Case) -> bool:
    return Case.objects.filter(cases.visible_q(actor), pk=case.pk).exists()


# --- duplicates: a1 (area A) pulls a student still active at b1 (area B) --------------------------


def _claim(world: World, holder: Enrolment, school: Any = None, **kw: Any) -> Case:
    enrolment, case = transfer(world, school or world.school_a1, holder.person.person_id, **kw)
    assert enrolment is None and case is not None
    return case


def test_pulling_a_student_active_elsewhere_opens_a_case_not_an_enrolment(world: World) -> None:
    held = world.add_student(world.school_b1)
    m = mark()
    case = _claim(world, held, grade="06", room=2, student_no="66001")
    assert actions_since(m) == ["case.open.duplicate"]
    case.refresh_from_db()
    assert (case.kind, case.status) == (Case.Kind.DUPLICATE, Case.Status.SUBMITTED)
    assert (case.school_id, case.other_school_id) == (world.school_a1.pk, world.school_b1.pk)
    assert (case.person_id, case.enrolment_id) == (held.person_id, held.pk)
    assert case.data["claim"]["grade"] == "06" and case.data["claim"]["student_no"] == "66001"
    assert case.data["claim"]["sat_exam_here"] is True
    assert case.deadline is not None and case.deadline > case.opened_at
    assert case.opened_by == world.users["officer_a1"]
    # D1 holds: one active enrolment, still at b1; nothing counted at a1
    assert list(
        Enrolment.objects.filter(person=held.person).values_list("school_id", "status")
    ) == [(world.school_b1.pk, ACTIVE)]
    assert (total(world.school_a1), total(world.school_b1)) == (0, 1)
    # the same school claiming again gets the same open case
    m = mark()
    assert _claim(world, held).pk == case.pk
    assert actions_since(m) == []
    assert Case.objects.count() == 1


def test_a_duplicate_case_is_seen_by_both_parties_and_their_areas_only(world: World) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    seen = {name: _visible(actor, case) for name, actor in world.actors.items()}
    assert seen == {
        "officer_a1": True,
        "director_a1": True,
        "officer_a2": False,
        "officer_b1": True,
        "area_a": True,
        "area_b": True,
        "obec": True,
    }
    with pytest.raises(DmcError) as exc:
        cases.case_get(actor=world.actors["officer_a2"], case_id=case.pk)
    assert exc.value.code == ErrorCode.NOT_FOUND


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("area_a", ErrorCode.ROLE_NOT_ALLOWED),  # the claimant's area sees but does not decide
        ("officer_a1", ErrorCode.ROLE_NOT_ALLOWED),
        ("officer_b1", ErrorCode.ROLE_NOT_ALLOWED),
        ("officer_a2", ErrorCode.ROLE_NOT_ALLOWED),
    ],
)
def test_only_the_holders_area_or_obec_decides(world: World, name: str, code: ErrorCode) -> None:
    held = world.add_student(world.school_b1)
    case = _claim(world, held)
    refused(
        code,
        cases.duplicate_decide,
        actor=world.actors[name],
        case_id=case.pk,
        keeper="claimant",
    )
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED
    assert fresh(held).status == ACTIVE


def test_claimant_kept_moves_the_student_and_the_counts(world: World) -> None:
    held = world.add_student(world.school_b1, grade="06")
    world.add_student(world.school_b1, grade="06")
    world.add_student(world.school_a1, grade="05")
    case = _claim(world, held, grade="06", room=2, student_no="66002")
    assert heads(world.school_a1) == {"05": 1}
    assert heads(world.school_b1) == {"06": 2}
    m = mark()
    decided = cases.duplicate_decide(
        actor=world.actors["area_b"], case_id=case.pk, keeper="claimant", note="ผู้ปกครองยืนยัน"
    )
    assert actions_since(m) == [
        "enrolment.transfer_out",
        "enrolment.create",
        "case.decide_duplicate",
    ]
    assert decided.status == Case.Status.APPLIED
    case.refresh_from_db()
    assert (case.status, case.decided_by, case.data["keeper"]) == (
        Case.Status.APPLIED,
        world.users["area_b"],
        "claimant",
    )
    assert case.decision_note == "ผู้ปกครองยืนยัน"
    old = fresh(held)
    assert old.status == Enrolment.Status.TRANSFERRED_OUT
    assert old.leave_reason == "01" and f"case {case.pk}" in old.leave_note
    new = Enrolment.objects.get(person=held.person, status=ACTIVE)
    assert (new.school_id, new.grade, new.room, new.student_no) == (
        world.school_a1.pk,
        "06",
        2,
        "66002",
    )
    assert new.sat_exam is True  # the claim said the student sat the exam at a1 (L5)
    assert heads(world.school_a1) == {"05": 1, "06": 1}
    assert heads(world.school_b1) == {"06": 1}
    assert (total(world.school_a1), total(world.school_b1)) == (2, 1)
    ev = events_since(m, "case.decide_duplicate")[0]
    assert ev.actor == world.users["area_b"] and ev.after["keeper"] == "claimant"
    assert ev.before["status"] == "submitted" and ev.after["status"] == "applied"
    # the decision stands: deciding again is refused, by anyone
    for name in ("area_b", "obec"):
        refused(
            ErrorCode.ALREADY_DECIDED,
            cases.duplicate_decide,
            actor=world.actors[name],
            case_id=case.pk,
            keeper="holder",
        )
    assert Enrolment.objects.get(person=held.person, status=ACTIVE).school_id == world.school_a1.pk


def test_holder_kept_changes_nothing(world: World) -> None:
    held = world.add_student(world.school_b1)
    case = _claim(world, held)
    m = mark()
    cases.duplicate_decide(actor=world.actors["obec"], case_id=case.pk, keeper="holder")
    assert actions_since(m) == ["case.decide_duplicate"]
    case.refresh_from_db()
    assert (case.status, case.data["keeper"]) == (Case.Status.APPLIED, "holder")
    assert fresh(held).status == ACTIVE
    assert Enrolment.objects.filter(person=held.person).count() == 1
    assert (total(world.school_a1), total(world.school_b1)) == (0, 1)
    refused(
        ErrorCode.ALREADY_DECIDED,
        cases.duplicate_decide,
        actor=world.actors["area_b"],
        case_id=case.pk,
        keeper="claimant",
    )


def test_a_keeper_must_be_named(world: World) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    refused(
        ErrorCode.VALIDATION,
        cases.duplicate_decide,
        actor=world.actors["area_b"],
        case_id=case.pk,
        keeper="both",
    )
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED


def test_a_duplicate_cannot_move_a_student_into_a_confirmed_school(world: World) -> None:
    held = world.add_student(world.school_b1)
    world.add_student(world.school_a1)
    case = _claim(world, held)
    with at(4, 30, 10, 0):
        confirm_ready(world, world.school_a1)
        refused(
            ErrorCode.CONFIRMED_READ_ONLY,
            cases.duplicate_decide,
            actor=world.actors["area_b"],
            case_id=case.pk,
            keeper="claimant",
        )
    assert fresh(held).status == ACTIVE
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED


def test_within_one_area_the_area_office_decides(world: World) -> None:
    held = world.add_student(world.school_a2)
    case = _claim(world, held)  # a1 pulls a student of a2: both in area A
    assert not _visible(world.actors["area_b"], case)
    assert [c.pk for c in cases.awaiting(world.actors["area_a"])] == [case.pk]
    cases.duplicate_decide(actor=world.actors["area_a"], case_id=case.pk, keeper="claimant")
    assert Enrolment.objects.get(person=held.person, status=ACTIVE).school_id == world.school_a1.pk


# --- the race: two schools pull the same free person at the same moment ---------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_transfer_in_one_enrolment_and_one_case(world: World) -> None:
    person = world.add_student(world.school_a1).person
    Enrolment.objects.filter(person=person).update(status=Enrolment.Status.TRANSFERRED_OUT)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def race(key: str, school_key: str, actor_key: str, number: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[key] = movements.transfer_in(
                actor=world.actors[actor_key],
                school=getattr(world, school_key),
                year=YEAR,
                person_id=person.person_id,
                grade="05",
                room=1,
                student_no=number,
                sat_exam_here=True,
            )
        except Exception as exc:
            results[key] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=race, args=("a2", "school_a2", "officer_a2", "900")),
        threading.Thread(target=race, args=("b1", "school_b1", "officer_b1", "901")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert set(results) == {"a2", "b1"}, results
    assert all(isinstance(v, tuple) for v in results.values()), results
    winners = {k: v[0] for k, v in results.items() if v[0] is not None}  # type: ignore[index]
    losers = {k: v[1] for k, v in results.items() if v[1] is not None}  # type: ignore[index]
    assert len(winners) == 1 and len(losers) == 1, results
    (win_key, enrolment), (lose_key, case) = next(iter(winners.items())), next(iter(losers.items()))
    assert win_key != lose_key
    active = Enrolment.objects.filter(person=person, academic_year=YEAR, status=ACTIVE)
    assert list(active.values_list("pk", flat=True)) == [enrolment.pk]
    case = Case.objects.get(pk=case.pk)
    assert case.kind == Case.Kind.DUPLICATE and case.status == Case.Status.SUBMITTED
    school_of = {"a2": world.school_a2.pk, "b1": world.school_b1.pk}
    assert (case.school_id, case.other_school_id) == (school_of[lose_key], school_of[win_key])
    assert case.enrolment_id == enrolment.pk
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="enrolment.transfer_in").count() == 1


# --- ID correction (L1): school -> area forwards -> OBEC applies --------------------------------


def _id_open(world: World, e: Enrolment, new_id: str, actor: str = "officer_a1") -> Case:
    return cases.id_correction_open(
        actor=world.actors[actor], enrolment_id=e.pk, new_id=new_id, reason="เลขในทะเบียนบ้านใหม่"
    )


def test_id_correction_full_path_propagates_the_new_id(world: World) -> None:
    e = world.add_student(world.school_a1)
    old_id = e.person.person_id
    new_id = make_citizen_id(8_800_001, first="3")
    # last year's record and a sealed snapshot row of the same person
    Enrolment.objects.create(
        person=e.person,
        school=world.school_a2,
        academic_year=YEAR - 1,
        grade="04",
        room=1,
        student_no="P1",
        status=Enrolment.Status.CLOSED,
    )
    with at(4, 30, 10, 0):
        confirm_ready(world, world.school_a1)
    snap = Snapshot.objects.get(school=world.school_a1)
    assert SnapshotRow.objects.filter(snapshot=snap, person_id=e.person_id).count() == 1
    from dmc.rounds import services as round_services
    from dmc.rounds.models import Round

    with at(4, 30, 10, 5):  # a confirmed school cannot file; cancel the confirmation first
        refused(ErrorCode.CONFIRMED_READ_ONLY, _id_open, world=world, e=e, new_id=new_id)
        round_services.round_cancel(
            actor=world.actors["officer_a1"],
            school=world.school_a1,
            round_id=Round.objects.get(academic_year__year=YEAR, number=3).pk,
        )
        m = mark()
        case = _id_open(
            world, e, f"{new_id[0]}-{new_id[1:5]}-{new_id[5:10]}-{new_id[10:12]}-{new_id[12]}"
        )
    assert actions_since(m) == ["case.open.id_correction"]
    assert (case.kind, case.status) == (Case.Kind.ID_CORRECTION, Case.Status.SUBMITTED)
    assert case.data == {"old_id": old_id, "new_id": new_id, "new_kind": "citizen"}
    assert case.comments.get().text == "เลขในทะเบียนบ้านใหม่"
    # OBEC cannot apply before the area forwards; the other area cannot forward
    refused(
        ErrorCode.CASE_NOT_FORWARDED,
        cases.id_correction_decide,
        actor=world.actors["obec"],
        case_id=case.pk,
        approve=True,
    )
    refused(
        ErrorCode.NOT_FOUND,
        cases.id_correction_forward,
        actor=world.actors["area_b"],
        case_id=case.pk,
    )
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        cases.id_correction_forward,
        actor=world.actors["officer_a1"],
        case_id=case.pk,
    )
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        cases.id_correction_decide,
        actor=world.actors["area_a"],
        case_id=case.pk,
        approve=True,
    )
    assert Person.objects.get(pk=e.person_id).person_id == old_id

    m = mark()
    cases.id_correction_forward(actor=world.actors["area_a"], case_id=case.pk, note="ตรวจแล้ว")
    assert actions_since(m) == ["case.forward"]
    case.refresh_from_db()
    assert (case.status, case.decided_by) == (Case.Status.UNDER_REVIEW, world.users["area_a"])
    refused(
        ErrorCode.ALREADY_DECIDED,
        cases.id_correction_forward,
        actor=world.actors["area_a"],
        case_id=case.pk,
    )

    m = mark()
    cases.id_correction_decide(actor=world.actors["obec"], case_id=case.pk, approve=True)
    assert actions_since(m) == ["person.id_corrected", "case.apply"]
    case.refresh_from_db()
    assert case.status == Case.Status.APPLIED
    person = Person.objects.get(pk=e.person_id)
    assert (person.person_id, person.id_kind) == (new_id, "citizen")
    assert person.version == e.person.version + 1
    assert not Person.objects.filter(person_id=old_id).exists()
    # every record of the person shows the new ID through the one row
    ids = {
        x.person.person_id for x in Enrolment.objects.select_related("person").filter(person=person)
    }
    assert ids == {new_id} and Enrolment.objects.filter(person=person).count() == 2
    for row in SnapshotRow.objects.filter(person_id=person.pk):
        assert Person.objects.get(pk=row.person_id).person_id == new_id
    ev = events_since(m, "person.id_corrected")[0]
    assert ev.before == {"person_id": old_id, "id_kind": "citizen"}
    assert ev.after == {"person_id": new_id, "id_kind": "citizen"}
    assert ev.actor == world.users["obec"] and ev.target_id == str(person.pk)
    assert ev.reason == f"case {case.pk}"
    refused(
        ErrorCode.ALREADY_DECIDED,
        cases.id_correction_decide,
        actor=world.actors["obec"],
        case_id=case.pk,
        approve=True,
    )


def test_id_correction_rejected_by_obec_changes_nothing(world: World) -> None:
    e = world.add_student(world.school_a1)
    case = _id_open(world, e, make_citizen_id(8_800_002))
    cases.id_correction_forward(actor=world.actors["area_a"], case_id=case.pk)
    m = mark()
    cases.id_correction_decide(
        actor=world.actors["obec"], case_id=case.pk, approve=False, note="หลักฐานไม่ชัด"
    )
    assert actions_since(m) == ["case.reject"]
    case.refresh_from_db()
    assert (case.status, case.decision_note) == (Case.Status.REJECTED, "หลักฐานไม่ชัด")
    assert Person.objects.get(pk=e.person_id).person_id == e.person.person_id


def test_applying_an_id_another_person_holds_is_refused(world: World) -> None:
    e = world.add_student(world.school_a1)
    other = world.add_student(world.school_b1)
    case = _id_open(world, e, other.person.person_id)
    cases.id_correction_forward(actor=world.actors["area_a"], case_id=case.pk)
    refused(
        ErrorCode.PERSON_EXISTS,
        cases.id_correction_decide,
        actor=world.actors["obec"],
        case_id=case.pk,
        approve=True,
    )
    case.refresh_from_db()
    assert case.status == Case.Status.UNDER_REVIEW
    assert Person.objects.get(pk=e.person_id).person_id == e.person.person_id


def test_id_correction_input_refusals(world: World) -> None:
    e = world.add_student(world.school_a1)
    good = make_citizen_id(8_800_003)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    refused(ErrorCode.CITIZEN_ID_CHECKSUM, _id_open, world=world, e=e, new_id=bad)
    refused(ErrorCode.CITIZEN_ID_FORMAT, _id_open, world=world, e=e, new_id="12345")
    refused(ErrorCode.VALIDATION, _id_open, world=world, e=e, new_id=e.person.person_id)
    refused(
        ErrorCode.NOTE_REQUIRED,
        cases.id_correction_open,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        new_id=good,
        reason="  ",
    )
    refused(ErrorCode.NOT_FOUND, _id_open, world=world, e=e, new_id=good, actor="officer_a2")
    refused(ErrorCode.ROLE_NOT_ALLOWED, _id_open, world=world, e=e, new_id=good, actor="area_a")
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("when", "allowed"),
    [((4, 30, 16, 29, 59), True), ((4, 30, 16, 30, 0), False), ((5, 1, 9, 0, 0), False)],
)
def test_id_correction_closes_at_the_deadline_l1(
    world: World, when: tuple[int, int, int, int, int], allowed: bool
) -> None:
    e = world.add_student(world.school_a1)
    with at(*when):
        if allowed:
            assert _id_open(world, e, make_citizen_id(8_800_004)).status == Case.Status.SUBMITTED
        else:
            err = refused(
                ErrorCode.ID_CORRECTION_CLOSED,
                _id_open,
                world=world,
                e=e,
                new_id=make_citizen_id(8_800_004),
            )
            assert "30 เม.ย. 2565 16:30:00" in err.message_in("th")
            assert not Case.objects.exists()


# --- dropout consultation (L7) --------------------------------------------------------------------


def _dropout(world: World, e: Enrolment, **kw: Any) -> Case:
    kw.setdefault("reason", "01")
    kw.setdefault("left_on", dt.date(2022, 1, 15))
    kw.setdefault("note", "ครอบครัวย้ายไปทำงานต่างจังหวัด")
    return cases.dropout_open(actor=world.actors["officer_a1"], enrolment_id=e.pk, **kw)


def test_dropout_approved_by_the_area_applies_it(world: World) -> None:
    e = world.add_student(world.school_a1)
    world.add_student(world.school_a1)
    m = mark()
    case = _dropout(world, e, reason="02")
    assert actions_since(m) == ["case.open.dropout"]
    assert case.data == {"reason": "02", "left_on": "2022-01-15"}
    # one open consultation per student
    refused(ErrorCode.CASE_ALREADY_OPEN, _dropout, world=world, e=e)
    # the school cannot apply it itself; the other area cannot decide
    refused(
        ErrorCode.DROPOUT_NOT_APPROVED,
        movements.withdraw,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
        version=None,
        reason="04",
        left_on=dt.date(2022, 1, 15),
    )
    refused(
        ErrorCode.NOT_FOUND,
        cases.dropout_decide,
        actor=world.actors["area_b"],
        case_id=case.pk,
        approve=True,
    )
    refused(
        ErrorCode.ROLE_NOT_ALLOWED,
        cases.dropout_decide,
        actor=world.actors["officer_a1"],
        case_id=case.pk,
        approve=True,
    )
    assert fresh(e).status == ACTIVE and total(world.school_a1) == 2

    m = mark()
    cases.dropout_decide(actor=world.actors["area_a"], case_id=case.pk, approve=True, note="เห็นชอบ")
    assert actions_since(m) == ["enrolment.dropout", "case.apply"]
    row = fresh(e)
    assert (row.status, row.leave_reason, row.dropout_reason, row.left_on) == (
        Enrolment.Status.DROPOUT,
        "04",
        "02",
        dt.date(2022, 1, 15),
    )
    case.refresh_from_db()
    assert (case.status, case.decided_by) == (Case.Status.APPLIED, world.users["area_a"])
    assert total(world.school_a1) == 1
    assert events_since(m, "enrolment.dropout")[0].actor == world.users["area_a"]
    refused(
        ErrorCode.ALREADY_DECIDED,
        cases.dropout_decide,
        actor=world.actors["area_a"],
        case_id=case.pk,
        approve=False,
    )


def test_dropout_rejected_leaves_the_student_active(world: World) -> None:
    e = world.add_student(world.school_a1)
    case = _dropout(world, e)
    m = mark()
    cases.dropout_decide(
        actor=world.actors["area_a"], case_id=case.pk, approve=False, note="ให้ติดตาม"
    )
    assert actions_since(m) == ["case.reject"]
    case.refresh_from_db()
    assert case.status == Case.Status.REJECTED
    assert fresh(e).status == ACTIVE and total(world.school_a1) == 1
    # a new consultation may be opened after a rejection
    assert _dropout(world, e).status == Case.Status.SUBMITTED


def test_dropout_open_refusals(world: World) -> None:
    e = world.add_student(world.school_a1)
    refused(ErrorCode.CODE_UNKNOWN, _dropout, world=world, e=e, reason="77")
    refused(
        ErrorCode.NOT_FOUND,
        cases.dropout_open,
        actor=world.actors["officer_b1"],
        enrolment_id=e.pk,
        reason="01",
        left_on=dt.date(2022, 1, 15),
        note="x",
    )
    # round 3: a student who left after the final exam is not a dropout of this year (L6)
    refused(ErrorCode.LEFT_AFTER_EXAM, _dropout, world=world, e=e, left_on=dt.date(2022, 3, 1))
    # a 3.1.8 student cannot be withdrawn, so neither consulted on as a dropout (L9)
    movements.set_tracked(
        actor=world.actors["officer_a1"], enrolment_id=e.pk, version=None, tracked=True
    )
    refused(ErrorCode.TRACKED_CANNOT_WITHDRAW, _dropout, world=world, e=e)
    movements.set_tracked(
        actor=world.actors["officer_a1"], enrolment_id=e.pk, version=None, tracked=False
    )
    leave(world, e)
    refused(ErrorCode.ALREADY_DECIDED, _dropout, world=world, e=e)
    assert not Case.objects.exists()


# --- G-code certification ----------------------------------------------------------------------


def test_gcode_certification(world: World) -> None:
    g = world.add_student(world.school_a1, person_id="G644200000001")
    assert g.person.id_kind == Person.IdKind.GCODE
    m = mark()
    case = cases.gcode_open(actor=world.actors["officer_a1"], enrolment_id=g.pk, note="ไม่มีเอกสาร")
    assert actions_since(m) == ["case.open.gcode"]
    assert case.data == {"gcode": "G644200000001"}
    refused(
        ErrorCode.NOT_FOUND,
        cases.gcode_decide,
        actor=world.actors["area_b"],
        case_id=case.pk,
        approve=True,
    )
    m = mark()
    cases.gcode_decide(actor=world.actors["area_a"], case_id=case.pk, approve=True)
    assert actions_since(m) == ["case.apply"]
    assert Person.objects.get(pk=g.person_id).gcode_certified_at is not None
    case.refresh_from_db()
    assert case.status == Case.Status.APPLIED
    refused(
        ErrorCode.ALREADY_DECIDED,
        cases.gcode_open,
        actor=world.actors["officer_a1"],
        enrolment_id=g.pk,
    )


def test_gcode_certification_refused_for_a_citizen_id(world: World) -> None:
    e = world.add_student(world.school_a1)
    refused(
        ErrorCode.GCODE_FORMAT,
        cases.gcode_open,
        actor=world.actors["officer_a1"],
        enrolment_id=e.pk,
    )
    assert not Case.objects.exists()


# --- comments and evidence ------------------------------------------------------------------------


def test_comments_by_the_parties(world: World) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    m = mark()
    cases.comment_add(actor=world.actors["officer_b1"], case_id=case.pk, text="  นักเรียนยังมาเรียน  ")
    cases.comment_add(actor=world.actors["area_a"], case_id=case.pk, text="รับทราบ")
    assert actions_since(m) == ["case.comment", "case.comment"]
    assert list(case.comments.values_list("text", "author_role")) == [
        ("นักเรียนยังมาเรียน", "school_officer"),
        ("รับทราบ", "area_officer"),
    ]
    refused(
        ErrorCode.NOTE_REQUIRED,
        cases.comment_add,
        actor=world.actors["officer_a1"],
        case_id=case.pk,
        text=" ",
    )
    refused(
        ErrorCode.NOT_FOUND,
        cases.comment_add,
        actor=world.actors["officer_a2"],
        case_id=case.pk,
        text="x",
    )
    assert CaseComment.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "content", "ext", "ctype"),
    [
        ("หลักฐาน.pdf", PDF, ".pdf", "application/pdf"),
        ("scan.png", PNG, ".png", "image/png"),
        ("photo.jpeg", JPEG, ".jpg", "image/jpeg"),
        ("looks-like.pdf", PNG, ".png", "image/png"),  # judged by the bytes, not the name
    ],
)
def test_evidence_accepted_by_content(
    world: World, name: str, content: bytes, ext: str, ctype: str, tmp_path: Any
) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    with override_settings(MEDIA_ROOT=tmp_path):
        m = mark()
        a = cases.attachment_add(
            actor=world.actors["officer_a1"], case_id=case.pk, filename=name, content=content
        )
        assert actions_since(m) == ["case.attach"]
        a = CaseAttachment.objects.get(pk=a.pk)
        assert (a.filename, a.extension, a.content_type, a.size) == (name, ext, ctype, len(content))
        assert a.file.name.endswith(ext) and a.sha256 in a.file.name
        with a.file.open("rb") as f:
            assert f.read() == content


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00 an exe", b"<html><script>alert(1)</script>", b"", b"GIF89a......"],
)
def test_evidence_of_another_type_is_refused(world: World, content: bytes, tmp_path: Any) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    with override_settings(MEDIA_ROOT=tmp_path):
        refused(
            ErrorCode.CODE_UNKNOWN,
            cases.attachment_add,
            actor=world.actors["officer_a1"],
            case_id=case.pk,
            filename="evidence.pdf",
            content=content,
        )
    assert not CaseAttachment.objects.exists()


def test_evidence_over_the_size_limit_is_refused(world: World, tmp_path: Any) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    limit = settings.DMC_EVIDENCE_MAX_BYTES
    assert limit == 5 * 1024 * 1024
    with override_settings(MEDIA_ROOT=tmp_path):
        refused(
            ErrorCode.VALUE_RANGE,
            cases.attachment_add,
            actor=world.actors["officer_a1"],
            case_id=case.pk,
            filename="big.pdf",
            content=PDF + b"0" * (limit - len(PDF) + 1),
        )
        assert not CaseAttachment.objects.exists()
        exact = cases.attachment_add(
            actor=world.actors["officer_a1"],
            case_id=case.pk,
            filename="max.pdf",
            content=PDF + b"0" * (limit - len(PDF)),
        )
        assert exact.size == limit


def test_evidence_download_only_for_those_who_see_the_case(world: World, tmp_path: Any) -> None:
    case = _claim(world, world.add_student(world.school_b1))
    with override_settings(MEDIA_ROOT=tmp_path):
        a = cases.attachment_add(
            actor=world.actors["officer_a1"], case_id=case.pk, filename="ทะเบียนบ้าน.pdf", content=PDF
        )
        url = f"/cases/{case.pk}/evidence/{a.pk}/"
        for name in ("officer_a1", "officer_b1", "area_a", "area_b", "obec"):
            client = Client()
            login(client, world.users[name])
            response = client.get(url)
            assert response.status_code == 200, name
            assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
            assert response["Content-Type"] == "application/pdf"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "attachment" in response["Content-Disposition"]
        client = Client()
        login(client, world.users["officer_a2"])
        assert client.get(url).status_code == 404
        assert client.get(f"/cases/{case.pk}/").status_code == 404
        anonymous = Client().get(url)
        assert anonymous.status_code in (302, 401, 403)
        # an attachment id from another case does not leak through a visible case
        other = cases.dropout_open(
            actor=world.actors["officer_a2"],
            enrolment_id=world.add_student(world.school_a2).pk,
            reason="01",
            left_on=dt.date(2022, 1, 15),
            note="x",
        )
        b = cases.attachment_add(
            actor=world.actors["officer_a2"], case_id=other.pk, filename="x.png", content=PNG
        )
        client = Client()
        login(client, world.users["officer_a1"])
        assert client.get(f"/cases/{case.pk}/evidence/{b.pk}/").status_code == 404


def test_upload_through_the_case_page(world: World, tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = _claim(world, world.add_student(world.school_b1))
    client = Client()
    login(client, world.users["officer_b1"])
    with override_settings(MEDIA_ROOT=tmp_path):
        bad = client.post(
            f"/cases/{case.pk}/",
            {"action": "attach", "file": SimpleUploadedFile("x.pdf", b"not a pdf")},
        )
        assert bad.status_code == 400
        assert "ไม่อยู่ในรายการชนิดไฟล์ที่รับ (PDF, PNG, JPEG)" in bad.content.decode()
        ok = client.post(
            f"/cases/{case.pk}/",
            {"action": "attach", "file": SimpleUploadedFile("scan.png", PNG)},
        )
        assert ok.status_code == 302
        html = client.get(f"/cases/{case.pk}/").content.decode()
        assert "scan.png" in html and "บันทึกแล้ว" in html
        comment = client.post(f"/cases/{case.pk}/", {"action": "comment", "note": "ส่งหลักฐานแล้ว"})
        assert comment.status_code == 302
        assert "ส่งหลักฐานแล้ว" in client.get(f"/cases/{case.pk}/").content.decode()


# --- queues -------------------------------------------------------------------------------------


def _counts(world: World) -> dict[str, dict[str, int]]:
    return {name: cases.queue_counts(actor) for name, actor in world.actors.items()}


def _nav_badge(world: World, name: str) -> int:
    client = Client()
    login(client, world.users[name])
    response = client.get("/")
    assert response.status_code == 200
    n = response.context["queue_total"]
    html = response.content.decode()
    if n:
        assert f'<span class="badge" id="queue-count">{n}</span>' in html
    else:
        assert 'id="queue-count"' not in html
    return n


def test_queues_follow_each_step(world: World) -> None:
    nothing = {name: {} for name in world.actors}
    assert _counts(world) == nothing

    e = world.add_student(world.school_a1)
    idc = _id_open(world, e, make_citizen_id(8_800_010))
    assert _counts(world) == {**nothing, "area_a": {"id_correction": 1}}
    cases.id_correction_forward(actor=world.actors["area_a"], case_id=idc.pk)
    assert _counts(world) == {**nothing, "obec": {"id_correction": 1}}
    cases.id_correction_decide(actor=world.actors["obec"], case_id=idc.pk, approve=True)
    assert _counts(world) == nothing

    dup = _claim(world, world.add_student(world.school_b1))
    drop = _dropout(world, world.add_student(world.school_a1))
    g = world.add_student(world.school_a1, person_id="G644200000002")
    gc = cases.gcode_open(actor=world.actors["officer_a1"], enrolment_id=g.pk)
    assert _counts(world) == {
        **nothing,
        "officer_a1": {"duplicate": 1},
        "director_a1": {"duplicate": 1},
        "officer_b1": {"duplicate": 1},
        "area_a": {"dropout": 1, "gcode": 1},
        "area_b": {"duplicate": 1},  # the holder's area decides
    }
    assert [c.pk for c in cases.awaiting(world.actors["area_b"])] == [dup.pk]
    assert {c.pk for c in cases.awaiting(world.actors["area_a"])} == {drop.pk, gc.pk}
    assert _nav_badge(world, "area_a") == 2
    assert _nav_badge(world, "area_b") == 1
    assert _nav_badge(world, "officer_a2") == 0

    cases.duplicate_decide(actor=world.actors["area_b"], case_id=dup.pk, keeper="holder")
    cases.dropout_decide(actor=world.actors["area_a"], case_id=drop.pk, approve=False)
    cases.gcode_decide(actor=world.actors["area_a"], case_id=gc.pk, approve=True)
    assert _counts(world) == nothing
    assert _nav_badge(world, "area_a") == 0


def test_case_list_page_shows_the_queue(world: World) -> None:
    dup = _claim(world, world.add_student(world.school_b1))
    client = Client()
    login(client, world.users["area_b"])
    html = client.get("/cases/").content.decode()
    assert "รอท่านดำเนินการ" in html and f"/cases/{dup.pk}/" in html
    assert "โรงเรียนบ้านหนึ่ง ↔ โรงเรียนบ้านเลย" in html
    client = Client()
    login(client, world.users["officer_a2"])
    html = client.get("/cases/").content.decode()
    assert f"/cases/{dup.pk}/" not in html


# --- the case pages: decisions through the web --------------------------------------------------


def test_duplicate_decided_on_the_case_page(world: World) -> None:
    held = world.add_student(world.school_b1)
    case = _claim(world, held)
    area_a = Client()
    login(area_a, world.users["area_a"])
    page = area_a.get(f"/cases/{case.pk}/").content.decode()
    assert 'name="keeper"' not in page  # the claimant's area has no decision form
    refused_post = area_a.post(f"/cases/{case.pk}/", {"action": "decide", "keeper": "claimant"})
    assert refused_post.status_code == 403
    assert "ไม่สามารถทำรายการนี้ได้" in refused_post.content.decode()
    area_b = Client()
    login(area_b, world.users["area_b"])
    page = area_b.get(f"/cases/{case.pk}/").content.decode()
    assert 'name="keeper"' in page and "ยื่นคำร้อง" in page
    response = area_b.post(
        f"/cases/{case.pk}/", {"action": "decide", "keeper": "claimant", "note": "ยืนยันแล้ว"}
    )
    assert response.status_code == 302
    html = area_b.get(f"/cases/{case.pk}/").content.decode()
    assert "ดำเนินการแล้ว" in html and "ผลการพิจารณา: นักเรียนอยู่ที่" in html
    assert Enrolment.objects.get(person=held.person, status=ACTIVE).school_id == world.school_a1.pk


def test_id_correction_on_the_pages(world: World) -> None:
    e = world.add_student(world.school_a1)
    new_id = make_citizen_id(8_800_020)
    school = Client()
    login(school, world.users["officer_a1"])
    response = school.post(
        f"/students/{e.pk}/action/", {"action": "id_correction", "new_id": new_id, "reason": "ผิด"}
    )
    case = Case.objects.get(kind=Case.Kind.ID_CORRECTION)
    assert response["Location"] == f"/cases/{case.pk}/"
    obec = Client()
    login(obec, world.users["obec"])
    early = obec.post(f"/cases/{case.pk}/", {"action": "decide", "decision": "approve"})
    assert early.status_code == 409
    assert MESSAGES[ErrorCode.CASE_NOT_FORWARDED][0] in early.content.decode()
    area = Client()
    login(area, world.users["area_a"])
    assert "ส่งต่อ สพฐ." in area.get(f"/cases/{case.pk}/").content.decode()
    assert area.post(f"/cases/{case.pk}/", {"action": "forward"}).status_code == 302
    assert (
        obec.post(f"/cases/{case.pk}/", {"action": "decide", "decision": "approve"}).status_code
        == 302
    )
    assert Person.objects.get(pk=e.person_id).person_id == new_id


def test_dropout_on_the_pages(world: World) -> None:
    e = world.add_student(world.school_a1)
    school = Client()
    login(school, world.users["officer_a1"])
    response = school.post(
        f"/students/{e.pk}/action/",
        {"action": "dropout", "reason": "03", "left_on": "15/01/2565", "note": "แต่งงาน"},
    )
    case = Case.objects.get(kind=Case.Kind.DROPOUT)
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.data == {"reason": "03", "left_on": "2022-01-15"}
    area = Client()
    login(area, world.users["area_a"])
    assert (
        area.post(f"/cases/{case.pk}/", {"action": "decide", "decision": "approve"}).status_code
        == 302
    )
    row = fresh(e)
    assert (row.status, row.dropout_reason) == (Enrolment.Status.DROPOUT, "03")
