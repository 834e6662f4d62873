"""End of year (seed letter L8) and rollover (SPEC §7): the three ordered steps, their refusals,
what blocks confirmation, and the rollover of a multi-school dataset (every category, rerun is a
no-op, an interrupted run resumes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.errors import DmcError, ErrorCode
from dmc.rounds import services as rs
from dmc.rounds import stats
from dmc.rounds.models import AcademicYear, Round, SchoolYearStats
from dmc.schools.models import School, SchoolGrade
from dmc.students import movements
from dmc.students.models import Enrolment
from dmc.yearend import rollover
from dmc.yearend import rules as ye_rules
from dmc.yearend.models import RolloverJob, RolloverSchool
from dmc.yearend.services import Entry, pending_counts, record_step
from tests.conftest import YEAR, World
from tests.movement_helpers import actions_since, mark

BEFORE_MENUS = bangkok(2022, 2, 28, 23, 59, 59)
AFTER_CLOSE = bangkok(2022, 5, 2, 10, 0)


def step(world: World, menu: str, entries: list[Entry], *, who: str = "officer_a1", **kw: Any):
    actor = world.actors[who]
    school = School.objects.get(pk=actor.school_id) if actor.school_id else world.school_a1
    return record_step(
        actor=actor, school=kw.pop("school", school), year=YEAR, menu=menu, entries=entries, **kw
    )


def no(code: ErrorCode, fn: Any, *args: Any, **kw: Any) -> DmcError:
    """Refused with ``code``."""
    with pytest.raises(DmcError) as exc:
        fn(*args, **kw)
    assert exc.value.code == code, exc.value.message
    return exc.value


def fresh(e: Enrolment) -> Enrolment:
    return Enrolment.objects.get(pk=e.pk)


def pending(school: School) -> dict[str, int]:
    return pending_counts(SchoolYearStats.objects.get(school=school, academic_year=YEAR).checks)


# --- the rules, pure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("pass", "pass"), ("สอบได้", "pass"), ("ได้", "pass"), ("FAIL", "fail"), ("ตก", "fail")],
)
def test_result_words_are_understood(value: str, expected: str) -> None:
    assert ye_rules.check_result(value) == expected


@pytest.mark.parametrize("value", ["", None, "maybe", "ขาดสอบ"])
def test_blank_or_unknown_result_is_no(value: object) -> None:
    with pytest.raises(DmcError) as exc:
        ye_rules.check_result(value)
    assert exc.value.code == ErrorCode.YEAR_RESULT_REQUIRED


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        ("15", True),
        ("๓", True),
        (2.0, True),
        (0, False),
        (16, False),
        ("", False),
        ("1.5", False),
    ],
)
def test_years_studied_range(value: object, ok: bool) -> None:
    if ok:
        assert 1 <= ye_rules.check_years_studied(value) <= 15
    else:
        with pytest.raises(DmcError) as exc:
            ye_rules.check_years_studied(value)
        assert exc.value.code == ErrorCode.YEARS_STUDIED_RANGE


def test_evaluations_never_blank_and_from_the_code_list() -> None:
    assert ye_rules.check_evaluations(year_result="fail", value="3, 1") == "1,3"
    assert ye_rules.check_evaluations(year_result="fail", value=["คุณลักษณะอันพึงประสงค์"]) == "3"
    for blank in ("", None, [], " , "):
        with pytest.raises(DmcError) as exc:
            ye_rules.check_evaluations(year_result="fail", value=blank)
        assert exc.value.code == ErrorCode.EVALUATIONS_REQUIRED
    with pytest.raises(DmcError) as exc:
        ye_rules.check_evaluations(year_result="fail", value="9")
    assert exc.value.code == ErrorCode.CODE_UNKNOWN
    with pytest.raises(DmcError) as exc:
        ye_rules.check_evaluations(year_result="pass", value="1")
    assert exc.value.code == ErrorCode.NOT_REPEATER


def test_destination_only_for_graduates_and_never_blank() -> None:
    assert ye_rules.check_destination(year_result="pass", grade="09", value="12") == "12"
    assert ye_rules.check_destination(year_result="pass", grade="12", value="ประกอบอาชีพ") == "21"
    with pytest.raises(DmcError) as exc:
        ye_rules.check_destination(year_result="pass", grade="09", value=" ")
    assert exc.value.code == ErrorCode.DESTINATION_REQUIRED
    for result, grade in (("pass", "08"), ("fail", "09")):
        with pytest.raises(DmcError) as exc:
            ye_rules.check_destination(year_result=result, grade=grade, value="12")
        assert exc.value.code == ErrorCode.NOT_GRADUATE


# --- the steps: menu date, order, refusals, blocking -----------------------------------------


def test_the_steps_refuse_before_their_menu_date(world: World) -> None:
    e = world.add_student(year_result="")
    with clock.frozen(BEFORE_MENUS):
        err = no(ErrorCode.WINDOW_CLOSED, step, world, "3.2.2", [Entry(e.pk, "pass", 1)])
    assert "3.2.2" in err.message_in("th")
    assert fresh(e).year_result == ""


def test_a_pending_student_blocks_confirmation_until_the_steps_are_done(world: World) -> None:
    e = world.add_student(year_result="")
    assert "L8.result_pending" in fresh(e).checks
    assert pending(world.school_a1) == {"3.2.2": 1, "3.2.2.1": 0, "3.2.2.2": 0}
    assert rs.blocking_items(world.school_a1, YEAR)[0] == 1
    m = mark()
    out = step(world, "3.2.2", [Entry(e.pk, "fail", 2)])
    assert out.saved == [e.pk]
    assert actions_since(m) == ["yearend.3.2.2"]
    assert fresh(e).checks.split() == ["L8.evaluations_missing"]
    assert rs.blocking_items(world.school_a1, YEAR)[0] == 1
    step(world, "3.2.2.1", [Entry(e.pk, failed_evaluations=["1"])])
    assert fresh(e).checks == "" and rs.blocking_items(world.school_a1, YEAR)[0] == 0
    assert fresh(e).sat_exam is True


def test_order_is_enforced_and_names_what_is_pending(world: World) -> None:
    repeater = world.add_student(year_result="")
    other = world.add_student(year_result="")
    step(world, "3.2.2", [Entry(repeater.pk, "fail", 1)])
    err = no(
        ErrorCode.YEAR_END_ORDER,
        step,
        world,
        "3.2.2.1",
        [Entry(repeater.pk, failed_evaluations="1")],
    )
    assert "3.2.2" in err.message_in("en") and "1" in err.message_in("en")
    step(world, "3.2.2", [Entry(other.pk, "pass", 1)])
    step(world, "3.2.2.1", [Entry(repeater.pk, failed_evaluations="1")])
    grad = world.add_student(grade="09", year_result="")
    # 3.2.2.2 waits for 3.2.2 again (a new student pending)
    no(ErrorCode.YEAR_END_ORDER, step, world, "3.2.2.2", [Entry(grad.pk, destination="12")])
    step(world, "3.2.2", [Entry(grad.pk, "pass", 1)])
    assert fresh(grad).checks.split() == ["L8.destination_missing"]
    step(world, "3.2.2.2", [Entry(grad.pk, destination="12")])
    assert fresh(grad).destination == "12" and fresh(grad).checks == ""


def test_strict_refuses_the_whole_batch_and_names_each_row(world: World) -> None:
    a, b = world.add_student(year_result=""), world.add_student(year_result="")
    m = mark()
    err = no(
        ErrorCode.VALIDATION,
        step,
        world,
        "3.2.2",
        [Entry(a.pk, "pass", 1), Entry(b.pk, "", 1), Entry(999_999, "pass", 1)],
    )
    refusals = {r.enrolment_id: r.code for r in err.refusals}  # type: ignore[attr-defined]
    assert refusals == {b.pk: "year_result_required", 999_999: "not_found"}
    assert fresh(a).year_result == "" and actions_since(m) == []  # nothing changed


def test_lenient_saves_the_good_rows_and_reports_the_bad(world: World) -> None:
    a, b = world.add_student(year_result=""), world.add_student(year_result="")
    out = step(world, "3.2.2", [Entry(a.pk, "pass", 1), Entry(b.pk, "pass", 0)], strict=False)
    assert out.saved == [a.pk]
    assert [(r.enrolment_id, r.code) for r in out.refused] == [(b.pk, "years_studied_range")]
    again = step(world, "3.2.2", [Entry(a.pk, "pass", 1)], strict=False)
    assert again.unchanged == [a.pk] and again.saved == []  # re-entering is a no-op


def test_blank_evaluations_and_destinations_are_no(world: World) -> None:
    rep = world.add_student(year_result="fail", grade="06")
    grad = world.add_student(year_result="pass", grade="09")
    for menu, entry, code in (
        ("3.2.2.1", Entry(rep.pk, failed_evaluations=""), "evaluations_required"),
        ("3.2.2.2", Entry(grad.pk, destination=""), "destination_required"),
        ("3.2.2.1", Entry(grad.pk, failed_evaluations="1"), "not_repeater"),
        ("3.2.2.2", Entry(rep.pk, destination="12"), "not_graduate"),
    ):
        out = step(world, menu, [entry], strict=False)
        assert [r.code for r in out.refused] == [code], menu


def test_changing_a_result_asks_the_later_step_again(world: World) -> None:
    e = world.add_student(year_result="fail", grade="09")
    assert fresh(e).failed_evaluations == "1"
    step(world, "3.2.2", [Entry(e.pk, "pass", 1)])
    assert fresh(e).failed_evaluations == ""
    assert fresh(e).checks.split() == ["L8.destination_missing"]


def test_stale_version_from_the_grid_is_no(world: World) -> None:
    e = world.add_student(year_result="")
    out = step(world, "3.2.2", [Entry(e.pk, "pass", 1, version=fresh(e).version - 1)], strict=False)
    assert [r.code for r in out.refused] == ["stale_version"]


def test_a_318_student_gets_no_result(world: World) -> None:
    e = world.add_student(year_result="")
    movements.set_tracked(
        actor=world.actors["officer_a1"], enrolment_id=e.pk, version=None, tracked=True
    )
    assert "L8" not in fresh(e).checks  # did not sit the exam: nothing pending
    out = step(world, "3.2.2", [Entry(e.pk, "pass", 1)], strict=False)
    assert [r.code for r in out.refused] == ["year_end_tracked"]


def test_scope_and_roles(world: World) -> None:
    e = world.add_student(year_result="")
    no(
        ErrorCode.NOT_FOUND,
        step,
        world,
        "3.2.2",
        [Entry(e.pk, "pass", 1)],
        who="officer_b1",
        school=world.school_a1,
    )
    # another school's student id inside one's own school batch: not found, nothing leaks
    out = step(world, "3.2.2", [Entry(e.pk, "pass", 1)], who="officer_a2", strict=False)
    assert [r.code for r in out.refused] == ["not_found"]
    no(
        ErrorCode.ROLE_NOT_ALLOWED,
        step,
        world,
        "3.2.2",
        [Entry(e.pk, "pass", 1)],
        who="director_a1",
    )
    no(ErrorCode.ROLE_NOT_ALLOWED, step, world, "3.2.2", [Entry(e.pk, "pass", 1)], who="area_a")


def test_confirmed_school_is_read_only(world: World) -> None:
    e = world.add_student(year_result="")
    step(world, "3.2.2", [Entry(e.pk, "pass", 1)])
    from tests.test_round_services import fit_rooms

    fit_rooms(world, world.school_a1)
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    with clock.frozen(bangkok(2022, 4, 30, 9, 0)):
        rs.round_confirm(actor=world.actors["officer_a1"], school=world.school_a1, round_id=r3.pk)
        no(ErrorCode.CONFIRMED_READ_ONLY, step, world, "3.2.2", [Entry(e.pk, "fail", 1)])


def test_a_graduate_cannot_be_withdrawn(world: World) -> None:
    grad = world.add_student(year_result="pass", grade="09")
    no(
        ErrorCode.GRADUATE_NOT_WITHDRAWN,
        movements.withdraw,
        actor=world.actors["officer_a1"],
        enrolment_id=grad.pk,
        version=None,
        reason="03",
        left_on=dt.date(2022, 1, 10),
    )


# --- rollover ----------------------------------------------------------------------------------


def close_round3(world: World) -> None:
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    with clock.frozen(bangkok(2022, 5, 2, 9, 0)):
        rs.round_close(actor=world.actors["obec"], round_id=r3.pk)


def dataset(world: World) -> dict[str, Enrolment]:
    """Every rollover category across three schools in two areas."""
    a1, a2, b1 = world.school_a1, world.school_a2, world.school_b1
    SchoolGrade.objects.filter(school=a2, academic_year=YEAR, grade="07").update(rooms=1)
    out = {
        "promoted": world.add_student(a1, grade="05", room=2),
        "promoted_room_fallback": world.add_student(a2, grade="06", room=2),  # ป.5 has 1 room
        "repeater": world.add_student(a1, grade="06", year_result="fail"),
        "graduate": world.add_student(a1, grade="09"),
        "pending": world.add_student(b1, grade="04", year_result=""),
        "tracked": world.add_student(b1, grade="07", year_result=""),
        "left": world.add_student(b1, grade="08"),
    }
    SchoolGrade.objects.filter(school=b1, academic_year=YEAR, grade="09").delete()
    out["no_next_grade"] = world.add_student(b1, grade="08", room=1)
    officer_b1 = world.actors["officer_b1"]
    movements.set_tracked(
        actor=officer_b1, enrolment_id=out["tracked"].pk, version=None, tracked=True
    )
    movements.transfer_out(
        actor=officer_b1, enrolment_id=out["left"].pk, version=None, left_on=dt.date(2022, 1, 5)
    )
    return out


def next_year(e: Enrolment) -> Enrolment | None:
    return Enrolment.objects.filter(person_id=e.person_id, academic_year=YEAR + 1).first()


def test_rollover_refuses_before_round_3_is_closed(world: World) -> None:
    world.add_student()
    no(ErrorCode.ROLLOVER_NOT_CLOSED, rollover.rollover, actor=world.actors["obec"], year=YEAR)
    no(ErrorCode.ROLE_NOT_ALLOWED, rollover.start, actor=world.actors["area_a"], year=YEAR)


def test_rollover_of_every_category(world: World) -> None:
    d = dataset(world)
    close_round3(world)
    with clock.frozen(AFTER_CLOSE):
        dry = rollover.plan(actor=world.actors["obec"], year=YEAR)
        assert not Enrolment.objects.filter(
            academic_year=YEAR + 1
        ).exists()  # dry run writes nothing
        m = mark()
        job = rollover.rollover(actor=world.actors["obec"], year=YEAR, batch_schools=2)
    assert job.state == RolloverJob.State.DONE and job.schools_done == 3
    promoted = next_year(d["promoted"])
    assert promoted is not None and (promoted.grade, promoted.room) == ("06", 2)
    fallback = next_year(d["promoted_room_fallback"])
    assert fallback is not None and (fallback.grade, fallback.room) == ("07", 1)
    repeater = next_year(d["repeater"])
    assert repeater is not None and repeater.grade == "06" and repeater.year_result == ""
    assert next_year(d["graduate"]) is None
    pend = next_year(d["pending"])
    assert pend is not None and pend.grade == "04"
    tracked = next_year(d["tracked"])
    assert tracked is not None and tracked.grade == "07" and tracked.tracked_318
    assert next_year(d["no_next_grade"]) is None
    for e in Enrolment.objects.filter(academic_year=YEAR + 1):
        assert e.status == "active" and e.student_no and e.version == 1
    # year Y is untouched
    assert fresh(d["graduate"]).status == "active" and fresh(d["graduate"]).destination == "12"
    # the report per school agrees with the dry run and with the rows
    done = {r.school_id: r.counts for r in RolloverSchool.objects.filter(job=job)}
    for sid, p in dry.items():
        assert done[sid] == p.as_dict()
    total = rollover.summarise(done.values())
    assert total == job.counts
    carried = sum(total[c] for c in rollover.CARRIED) - total["conflict"]
    assert Enrolment.objects.filter(academic_year=YEAR + 1).count() == carried
    assert total["graduated"] == 1 and total["destinations"] == {"12": 1}
    assert total["no_next_grade"] == 1 and total["pending"] == 1 and total["tracked"] == 1
    # audited: start, one per school, done; the new year's stats match a rebuild
    acts = actions_since(m)
    assert acts.count("rollover.school") == 3 and acts[-1] == "rollover.done"
    # the new year's head counts are set; the checks wait for the first use (then rebuilt)
    for school in (world.school_a1, world.school_a2, world.school_b1):
        s = SchoolYearStats.objects.get(school=school, academic_year=YEAR + 1)
        assert s.as_of == stats.NOT_EVALUATED
        counted_before = {
            e.pk: e.counted for e in Enrolment.objects.filter(school=school, academic_year=YEAR + 1)
        }
        with transaction.atomic():
            used = stats.locked_stats(school.pk, YEAR + 1)
        assert used.as_of != stats.NOT_EVALUATED
        assert s.totals == used.totals  # the GROUP BY agrees with the full rebuild
        assert counted_before == {
            e.pk: e.counted for e in Enrolment.objects.filter(school=school, academic_year=YEAR + 1)
        }
    # the next year exists with its calendar and grades
    nxt = AcademicYear.objects.get(year=YEAR + 1)
    assert nxt.rounds.count() == 3
    assert SchoolGrade.objects.filter(school=world.school_a1, academic_year=YEAR + 1).count() == 6


def test_rerunning_rollover_changes_nothing(world: World) -> None:
    dataset(world)
    close_round3(world)
    with clock.frozen(AFTER_CLOSE):
        rollover.rollover(actor=world.actors["obec"], year=YEAR)
        before = list(Enrolment.objects.filter(academic_year=YEAR + 1).values().order_by("id"))
        m = mark()
        job = rollover.rollover(actor=world.actors["obec"], year=YEAR)
    assert job.state == RolloverJob.State.DONE
    assert list(Enrolment.objects.filter(academic_year=YEAR + 1).values().order_by("id")) == before
    assert actions_since(m) == []


def test_an_interrupted_rollover_resumes_with_the_same_result(world: World) -> None:
    dataset(world)
    close_round3(world)

    def crash(index: int) -> None:
        raise RuntimeError("killed")

    with clock.frozen(AFTER_CLOSE):
        with pytest.raises(RuntimeError):
            rollover.rollover(
                actor=world.actors["obec"], year=YEAR, batch_schools=1, _after_batch=crash
            )
        job = RolloverJob.objects.get(from_year=YEAR)
        assert job.state == RolloverJob.State.FAILED and job.schools_done == 1
        first = RolloverSchool.objects.get(job=job).school_id
        assert set(
            Enrolment.objects.filter(academic_year=YEAR + 1).values_list("school_id", flat=True)
        ) == {first}
        job = rollover.rollover(actor=world.actors["obec"], year=YEAR, batch_schools=1)
    assert job.state == RolloverJob.State.DONE and job.schools_done == 3
    assert RolloverSchool.objects.filter(job=job).count() == 3
    # each person carried exactly once
    people = list(
        Enrolment.objects.filter(academic_year=YEAR + 1).values_list("person_id", flat=True)
    )
    assert len(people) == len(set(people)) == 5


def test_a_student_already_in_the_new_year_is_a_conflict_not_a_duplicate(world: World) -> None:
    e = world.add_student(world.school_a1, grade="05")
    close_round3(world)
    Enrolment.objects.create(
        person_id=e.person_id,
        school=world.school_b1,
        academic_year=YEAR + 1,
        grade="06",
        student_no="N1",
    )
    with clock.frozen(AFTER_CLOSE):
        job = rollover.rollover(actor=None, year=YEAR)
    assert job.counts["conflict"] == 1 and job.counts["promoted"] == 1
    assert Enrolment.objects.filter(person_id=e.person_id, academic_year=YEAR + 1).count() == 1


def test_the_sql_form_of_d4_agrees_with_the_rule_day_by_day() -> None:
    from dmc.rounds.checks import StudentFacts, counted, counted_birth_range

    for year in (2564, 2565, 2567):  # 2567's 16 May 2024 follows a 29 February
        after, by = counted_birth_range(year)
        for edge in (after, by):
            for delta in range(-400, 401):
                birth = edge + dt.timedelta(days=delta)
                facts = StudentFacts(
                    sex="M", title_code="001", birth_date=birth, weight_kg=None, height_cm=None
                )
                assert counted(facts, year) == (after < birth <= by), (year, birth)
