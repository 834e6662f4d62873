"""The round rules as data and pure functions: the rulebook (L1-L10, D1-D8), the per-student
checks (L3, L9, D4, D5), D6 rooms, and the maintained per-school stats agreeing with a rebuild."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmc.core.errors import MESSAGES, DmcError, ErrorCode
from dmc.core.rulebook import CHECKS, RULES, Severity
from dmc.rounds import checks, stats
from dmc.rounds import services as round_services
from dmc.rounds.models import QueryNote, SchoolYearStats
from dmc.schools.models import School
from dmc.students import services as student_services
from dmc.students.models import Enrolment
from dmc.students.rules import age_on, expected_titles
from tests.conftest import YEAR, World, make_citizen_id, set_year_result

AS_OF = dt.date(2022, 3, 31)  # round 3 of 2564 is "end of year": ages checked at 31 March 2565
TODAY = dt.date(2022, 4, 20)  # the frozen clock of the world fixture


def facts(**kw: Any) -> checks.StudentFacts:
    base: dict[str, Any] = {
        "sex": "M",
        "title_code": "001",
        "birth_date": dt.date(2013, 6, 1),  # 8 at 31 March 2565, 7 at 16 May 2564
        "weight_kg": Decimal("30.5"),
        "height_cm": Decimal("135.0"),
    }
    base.update(kw)
    return checks.StudentFacts(**base)


def keys_of(f: checks.StudentFacts) -> list[str]:
    return checks.student_checks(f, academic_year=YEAR, as_of=AS_OF)


# --- the rulebook -----------------------------------------------------------------------------


def test_every_rule_of_the_spec_is_in_the_rulebook() -> None:
    expected = {f"L{i}" for i in range(1, 11)} | {f"D{i}" for i in range(1, 9)}
    assert set(RULES) == expected
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.th and rule.en
        assert rule.source == ("seed letter" if rule_id.startswith("L") else "DMC practice")


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_rule_refuses_with_a_code_that_has_thai_and_english(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert len(rule.codes) >= 1
    for code in rule.codes:
        assert isinstance(code, ErrorCode)
        th, en = MESSAGES[code]
        assert th.strip() and en.strip()
        assert th != en
        # the message renders in both languages without a KeyError on placeholders
        err = DmcError(code)
        assert err.message_in("th") and err.message_in("en")


def test_every_error_code_has_messages() -> None:
    missing = [code for code in ErrorCode if code not in MESSAGES]
    assert missing == []


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_every_check_belongs_to_an_existing_rule(key: str) -> None:
    check = CHECKS[key]
    assert check.key == key
    assert check.rule in RULES
    assert key.split(".")[0] == check.rule
    assert check.th and check.en and check.fix_th and check.fix_en
    assert check.blocking == (check.severity in (Severity.ERROR, Severity.QUERY))


def test_severities_of_the_checks() -> None:
    by_severity = {key: c.severity for key, c in CHECKS.items()}
    assert by_severity["L3.weight_missing"] == Severity.ERROR
    assert by_severity["L3.height_implausible"] == Severity.ERROR
    assert by_severity["L3.height_drop"] == Severity.QUERY
    assert by_severity["D4.age"] == Severity.WARNING
    assert by_severity["L9.tracked"] == Severity.INFO
    assert by_severity["D5.title"] == Severity.ERROR
    assert by_severity["D6.rooms"] == Severity.ERROR
    assert [k for k, c in CHECKS.items() if c.blocking] == [
        "L3.weight_missing",
        "L3.height_missing",
        "L3.weight_implausible",
        "L3.height_implausible",
        "L3.height_drop",
        "D5.title",
        "L8.result_pending",
        "L8.evaluations_missing",
        "L8.destination_missing",
        "D6.rooms",
    ]


# --- L3: weight and height ----------------------------------------------------------------------


def test_a_complete_plausible_student_triggers_nothing() -> None:
    assert keys_of(facts()) == []


@pytest.mark.parametrize(
    ("field", "missing"),
    [("weight_kg", "L3.weight_missing"), ("height_cm", "L3.height_missing")],
)
def test_missing_measure_is_an_error(field: str, missing: str) -> None:
    assert keys_of(facts(**{field: None})) == [missing]
    assert CHECKS[missing].blocking


def test_both_missing_gives_both_keys() -> None:
    assert keys_of(facts(weight_kg=None, height_cm=None)) == [
        "L3.weight_missing",
        "L3.height_missing",
    ]


# ages 5..20 at 31 March 2565; a birthday of 1 January keeps the age unambiguous
@pytest.mark.parametrize("age", [5, 8, 12, 15, 18, 20])
@pytest.mark.parametrize(
    ("field", "key"),
    [("weight_kg", "L3.weight_implausible"), ("height_cm", "L3.height_implausible")],
)
def test_plausible_range_edges_by_age(age: int, field: str, key: str) -> None:
    birth = dt.date(AS_OF.year - age, 1, 1)
    assert age_on(birth, AS_OF) == age
    title = "001" if age < 15 else "003"
    low, high = checks.plausible_range(field, age)
    assert Decimal(0) < low < high
    step = Decimal("0.1")
    # the other measure stays inside its own range
    other = "height_cm" if field == "weight_kg" else "weight_kg"
    olow, ohigh = checks.plausible_range(other, age)
    mid = (olow + ohigh) / 2
    for value, flagged in ((low, False), (high, False), (low - step, True), (high + step, True)):
        got = keys_of(facts(birth_date=birth, title_code=title, **{field: value, other: mid}))
        assert (key in got) == flagged, (age, field, value, got)
        assert [k for k in got if k.startswith("L3.")] == ([key] if flagged else [])


def test_plausible_range_depends_on_age() -> None:
    # 30.5 kg / 135 cm is fine at 8 and implausible (height) at 4: the same values, another age
    assert keys_of(facts()) == []
    four = facts(birth_date=dt.date(2018, 1, 1))  # 4 at 31 March 2565
    assert "L3.height_implausible" in keys_of(four)
    assert "L3.weight_implausible" not in keys_of(four)
    # ages outside 3..20 use the nearest band
    assert checks.plausible_range("weight_kg", 1) == checks.plausible_range("weight_kg", 3)
    assert checks.plausible_range("height_cm", 30) == checks.plausible_range("height_cm", 20)


@pytest.mark.parametrize(
    ("previous", "now", "drop"),
    [
        (Decimal("140.0"), Decimal("137.9"), True),  # 2.1 cm lower
        (Decimal("140.0"), Decimal("138.0"), False),  # exactly 2.0: not a drop
        (Decimal("140.0"), Decimal("140.0"), False),
        (Decimal("130.0"), Decimal("135.0"), False),  # grew
        (None, Decimal("135.0"), False),  # no previous year
    ],
)
def test_height_drop_is_a_query(previous: Decimal | None, now: Decimal, drop: bool) -> None:
    got = keys_of(facts(height_cm=now, previous_height_cm=previous))
    assert got == (["L3.height_drop"] if drop else [])
    assert CHECKS["L3.height_drop"].severity == Severity.QUERY


def test_tracked_318_skips_l3_and_is_flagged_l9() -> None:
    tracked = facts(
        weight_kg=None,
        height_cm=Decimal("50"),
        previous_height_cm=Decimal("140"),
        tracked_318=True,
    )
    assert keys_of(tracked) == ["L9.tracked"]
    # the same data on a student physically studying here: every L3 check fires
    assert keys_of(
        facts(weight_kg=None, height_cm=Decimal("50"), previous_height_cm=Decimal("140"))
    ) == [
        "L3.weight_missing",
        "L3.height_implausible",
        "L3.height_drop",
    ]


def test_tracked_318_still_gets_title_and_age_checks() -> None:
    got = keys_of(facts(tracked_318=True, title_code="003", birth_date=dt.date(2000, 1, 1)))
    assert got == ["L9.tracked", "D4.age"]  # 22 at 31 March: นาย is right, not counted
    got = keys_of(facts(tracked_318=True, title_code="003"))
    assert got == ["L9.tracked", "D5.title"]


# --- D5: title agrees with sex and age ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "title", "birth", "ok"),
    [
        ("M", "001", dt.date(2013, 6, 1), True),  # เด็กชาย, 8
        ("F", "002", dt.date(2013, 6, 1), True),  # เด็กหญิง, 8
        ("M", "002", dt.date(2013, 6, 1), False),  # เด็กหญิง for a boy
        ("F", "001", dt.date(2013, 6, 1), False),
        ("M", "003", dt.date(2013, 6, 1), False),  # นาย at 8
        ("M", "832", dt.date(2013, 6, 1), True),  # สามเณร: any age
        ("F", "832", dt.date(2013, 6, 1), False),
        ("M", "003", dt.date(2007, 3, 31), True),  # 15 on 31 March: adult
        ("M", "001", dt.date(2007, 3, 31), False),
        ("M", "001", dt.date(2007, 4, 1), True),  # 14 on 31 March: still a child
        ("M", "003", dt.date(2007, 4, 1), False),
        ("F", "004", dt.date(2006, 1, 1), True),  # นางสาว at 16
        ("F", "005", dt.date(2006, 1, 1), True),  # นาง at 16
        ("F", "002", dt.date(2006, 1, 1), False),
        ("M", "999", dt.date(2013, 6, 1), False),  # not a title at all
    ],
)
def test_d5_title_sex_age(sex: str, title: str, birth: dt.date, ok: bool) -> None:
    got = keys_of(facts(sex=sex, title_code=title, birth_date=birth))
    assert ("D5.title" in got) == (not ok), got


# --- D4: counted ages 4-20 at 16 May ------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "counted"),
    [
        (dt.date(2017, 5, 16), True),  # 4th birthday on 16 May 2564: counts
        (dt.date(2017, 5, 17), False),  # born a day later: 3 on 16 May, not counted
        (dt.date(2018, 1, 1), False),
        (dt.date(2000, 5, 17), True),  # 20 on 16 May (21 the next day): counts
        (dt.date(2000, 5, 16), False),  # 21 on 16 May: not counted
        (dt.date(1995, 1, 1), False),
        (dt.date(2013, 6, 1), True),
    ],
)
def test_d4_counted_ages(birth: dt.date, counted: bool) -> None:
    assert checks.age_reference(YEAR) == dt.date(2021, 5, 16)
    f = facts(birth_date=birth, title_code="832")  # a title valid at any age
    assert checks.counted(f, YEAR) is counted
    assert ("D4.age" in keys_of(f)) == (not counted)
    assert CHECKS["D4.age"].severity == Severity.WARNING  # listed, flagged, never blocking


# --- D6: rooms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("students", "rooms", "problems"),
    [
        ({"05": 3}, {"05": 1}, []),
        ({"05": 3}, {"05": 0}, [("05", 3, 0)]),  # students but no room
        ({"05": 3}, {}, [("05", 3, 0)]),  # students in a grade not offered
        ({}, {"06": 2}, [("06", 0, 2)]),  # rooms but no students
        ({}, {"06": 0}, []),
        ({"05": 0}, {"05": 0}, []),
        (
            {"04": 1, "05": 40},
            {"04": 1, "05": 2, "07": 1, "08": 0},
            [("07", 0, 1)],
        ),
        ({"09": 2, "04": 1}, {"04": 0}, [("04", 1, 0), ("09", 2, 0)]),  # sorted by grade
    ],
)
def test_d6_rooms_problems(
    students: dict[str, int], rooms: dict[str, int], problems: list[tuple[str, int, int]]
) -> None:
    assert checks.rooms_problems(students, rooms) == problems


# --- the maintained stats agree with a rebuild ----------------------------------------------------


def _maintained(
    school: School,
) -> tuple[dict[str, Any], dict[str, Any], dict[int, tuple[str, bool]]]:
    s = SchoolYearStats.objects.filter(school=school, academic_year=YEAR).first()
    rows = {
        pk: (text, counted)
        for pk, text, counted in Enrolment.objects.filter(
            school=school, academic_year=YEAR
        ).values_list("pk", "checks", "counted")
    }
    return (s.totals if s else {}), (s.checks if s else {}), rows


def assert_stats_match_rebuild(*schools: School) -> None:
    for school in schools:
        totals, check_counts, rows = _maintained(school)
        rebuilt = stats.rebuild(school, YEAR)
        assert totals == rebuilt.totals, school.smis_code
        assert check_counts == rebuilt.checks, school.smis_code
        assert rows == _maintained(school)[2], school.smis_code  # rebuild changed no enrolment


class Ops:
    """Students changed only through the services, as a school would."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.officer = {
            world.school_a1.pk: world.actors["officer_a1"],
            world.school_a2.pk: world.actors["officer_a2"],
        }
        self.enrolments: list[int] = []
        self.seq = 0

    def add(
        self,
        school: School,
        *,
        sex: str = "M",
        birth: dt.date = dt.date(2013, 6, 1),
        weight: Decimal | None = Decimal("30.5"),
        height: Decimal | None = Decimal("135.0"),
        grade: str = "05",
    ) -> Enrolment:
        self.seq += 1
        title = expected_titles(sex, age_on(birth, AS_OF))[0]  # D5 is judged at the as-of date
        e = student_services.student_add(
            sat_exam_here=True,  # round 3: only exam takers are added (L5)
            actor=self.officer[school.pk],
            school=school,
            academic_year=YEAR,
            person_id=make_citizen_id(7_000_000 + self.world._seq * 1000 + self.seq),
            person={
                "title_code": title,
                "first_name": f"ทดสอบ{self.seq}",
                "last_name": "สถิติ",
                "sex": sex,
                "birth_date": birth,
            },
            grade=grade,
            room=1,
            student_no=f"S{self.seq}",
            weight_kg=weight,
            height_cm=height,
        )
        set_year_result(e, "pass")
        self.enrolments.append(e.pk)
        return e

    def update(self, enrolment_id: int, **changes: Any) -> Enrolment:
        e = Enrolment.objects.select_related("person", "school").get(pk=enrolment_id)
        if "birth_date" in changes or "sex" in changes:
            sex = changes.get("sex", e.person.sex)
            birth = changes.get("birth_date", e.person.birth_date)
            changes.setdefault("title_code", expected_titles(sex, age_on(birth, AS_OF))[0])
        return student_services.student_update(
            actor=self.officer[e.school_id],
            enrolment_id=enrolment_id,
            person_version=e.person.version,
            enrolment_version=e.version,
            changes=changes,
        )

    def previous_year(self, enrolment_id: int, height: Decimal, school: School) -> None:
        """A record of the same person last year (as rollover leaves it), then a re-measure
        this year so the service re-evaluates the student."""
        e = Enrolment.objects.get(pk=enrolment_id)
        self.seq += 1
        Enrolment.objects.create(
            person_id=e.person_id,
            school=school,
            academic_year=YEAR - 1,
            grade="04",
            room=1,
            student_no=f"P{self.seq}",
            status=Enrolment.Status.CLOSED,
            height_cm=height,
        )
        current = e.height_cm or Decimal("135.0")
        self.update(enrolment_id, height_cm=current + Decimal("0.1"))

    def explain(self, enrolment_id: int) -> None:
        e = Enrolment.objects.get(pk=enrolment_id)
        round_services.query_explain(
            actor=self.officer[e.school_id],
            enrolment_id=enrolment_id,
            check_key="L3.height_drop",
            note="วัดใหม่แล้ว ส่วนสูงถูกต้อง",
        )


def test_stats_after_a_sequence_of_changes_equal_a_rebuild(world: World) -> None:
    ops = Ops(world)
    a1, a2 = world.school_a1, world.school_a2
    e1 = ops.add(a1).pk
    e2 = ops.add(a1, sex="F", grade="06").pk
    e3 = ops.add(a1, weight=None).pk
    e4 = ops.add(a2, birth=dt.date(2000, 1, 1), weight=Decimal("55"), height=Decimal("165")).pk
    assert_stats_match_rebuild(a1, a2)

    ops.update(e1, weight_kg=None)  # weight removed
    ops.update(e2, title_code="002", first_name="ใหม่")  # title re-entered, name changed
    ops.update(e1, title_code="832")  # title changed (สามเณร)
    ops.update(e3, birth_date=dt.date(2018, 1, 1))  # moved under 4: not counted, too tall
    ops.update(e2, sex="M")  # sex and title changed together
    ops.update(e3, weight_kg=Decimal("16"), height_cm=Decimal("100"))  # fixed
    ops.update(e4, birth_date=dt.date(2007, 4, 10))  # 15 today, 14 on 31 March
    ops.previous_year(e2, Decimal("160.0"), a1)  # a 2 cm+ drop: a query
    assert "L3.height_drop" in Enrolment.objects.get(pk=e2).checks
    ops.explain(e2)
    assert "L3.height_drop!" in Enrolment.objects.get(pk=e2).checks
    assert_stats_match_rebuild(a1, a2)

    s = SchoolYearStats.objects.get(school=a1, academic_year=YEAR)
    assert s.totals["05"]["M"] == 2 and s.totals["05"]["cM"] == 1  # e3 is under 4
    assert s.totals["06"] == {"M": 1, "F": 0, "cM": 1, "cF": 0}
    assert s.checks == {
        "L3.weight_missing": 1,
        "L3.height_drop!": 1,
        "D4.age": 1,
        stats.BLOCKED_STUDENTS: 1,
    }


def test_stats_previous_year_with_two_records_agree_with_rebuild(world: World) -> None:
    """A student who moved school last year has two records of that year; the maintained check
    and the rebuild must read the same one (the latest)."""
    ops = Ops(world)
    e = ops.add(world.school_a1).pk
    ops.previous_year(e, Decimal("120.0"), world.school_a2)  # first record: no drop
    ops.previous_year(e, Decimal("150.0"), world.school_a1)  # the later record: a drop
    assert "L3.height_drop" in Enrolment.objects.get(pk=e).checks
    assert_stats_match_rebuild(world.school_a1)


_op = st.one_of(
    st.tuples(
        st.just("add"),
        st.sampled_from([0, 1]),  # school a1 / a2
        st.sampled_from(["M", "F"]),
        st.sampled_from(
            [dt.date(2013, 6, 1), dt.date(2017, 5, 17), dt.date(2000, 5, 16), dt.date(2007, 4, 10)]
        ),
        st.sampled_from([None, Decimal("30.5"), Decimal("100")]),
        st.sampled_from([None, Decimal("135.0"), Decimal("100")]),
        st.sampled_from(["04", "05", "06"]),
    ),
    st.tuples(st.just("weight"), st.integers(0, 3), st.sampled_from([None, Decimal("31")])),
    st.tuples(st.just("height"), st.integers(0, 3), st.sampled_from([None, Decimal("130")])),
    st.tuples(st.just("sex"), st.integers(0, 3), st.sampled_from(["M", "F"])),
    st.tuples(
        st.just("birth"),
        st.integers(0, 3),
        st.sampled_from([dt.date(2018, 1, 1), dt.date(2013, 6, 1), dt.date(1999, 1, 1)]),
    ),
    st.tuples(st.just("title"), st.integers(0, 3), st.just("832")),
    st.tuples(
        st.just("previous"),
        st.integers(0, 3),
        st.sampled_from([Decimal("100"), Decimal("170")]),
        st.sampled_from([0, 1]),
    ),
    st.tuples(st.just("explain"), st.integers(0, 3)),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(_op, min_size=1, max_size=10))
def test_stats_stay_equal_to_a_rebuild_property(
    world: World, sequence: list[tuple[Any, ...]]
) -> None:
    schools = [world.school_a1, world.school_a2]
    with transaction.atomic():
        ops = Ops(world)
        world._seq += 1  # a fresh ID range per example
        for op in sequence:
            kind = op[0]
            if kind == "add":
                _, s, sex, birth, weight, height, grade = op
                ops.add(schools[s], sex=sex, birth=birth, weight=weight, height=height, grade=grade)
                continue
            if not ops.enrolments:
                continue
            target = ops.enrolments[op[1] % len(ops.enrolments)]
            if kind == "weight":
                ops.update(target, weight_kg=op[2])
            elif kind == "height":
                ops.update(target, height_cm=op[2])
            elif kind == "sex":
                ops.update(target, sex=op[2])
            elif kind == "birth":
                ops.update(target, birth_date=op[2])
            elif kind == "title":
                e = Enrolment.objects.select_related("person").get(pk=target)
                if e.person.sex == "M":
                    ops.update(target, title_code=op[2])
            elif kind == "previous":
                ops.previous_year(target, op[2], schools[op[3]])
            elif kind == "explain":
                ops.explain(target)
        assert_stats_match_rebuild(*schools)
        transaction.set_rollback(True)


def test_explained_query_without_the_query_changes_nothing(world: World) -> None:
    """A note for a query the student does not trigger must not create a token."""
    ops = Ops(world)
    e = ops.add(world.school_a1).pk
    ops.explain(e)
    assert QueryNote.objects.filter(enrolment_id=e).count() == 1
    assert Enrolment.objects.get(pk=e).checks == ""
    assert_stats_match_rebuild(world.school_a1)
