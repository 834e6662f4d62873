"""Reports (issue 7): the roll-up stays equal to a direct count, drill-downs add up, scoping,
XLSX downloads, background jobs, and the dashboards' query counts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from dmc.reports import jobs, rollup, selectors
from dmc.reports.models import LIVE, ReportJob
from dmc.rounds import services as round_services
from dmc.rounds.models import Round, SchoolRound, SnapshotRow
from dmc.schools.models import School, SchoolGrade
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World, login

pytestmark = pytest.mark.django_db


TITLE = {("M", "child"): "001", ("F", "child"): "002", ("M", "adult"): "003", ("F", "adult"): "004"}
BIRTH = {"young": dt.date(2018, 1, 1), "child": dt.date(2013, 6, 1), "old": dt.date(1999, 1, 1)}


def add(world: World, school: School, grade: str = "05", sex: str = "M", age: str = "child") -> Enrolment:
    """A student of the given sex; ``age`` young (under 4) and old (over 20) are not counted."""
    title = TITLE[(sex, "adult" if age == "old" else "child")]
    return world.add_student(school, grade=grade, sex=sex, title_code=title, birth_date=BIRTH[age])


def _direct_live(year: int, area_id: int | None = None) -> dict[tuple[str, str], list[int]]:
    """(grade, sex) -> [students, counted], counted straight from the enrolments."""
    out: dict[tuple[str, str], list[int]] = {}
    qs = Enrolment.objects.filter(academic_year=year, status=Enrolment.Status.ACTIVE)
    if area_id is not None:
        qs = qs.filter(school__area_id=area_id)
    for grade, sex, counted in qs.values_list("grade", "person__sex", "counted"):
        cell = out.setdefault((grade, sex), [0, 0])
        cell[0] += 1
        cell[1] += int(counted)
    return out


def _from_totals(t: selectors.Totals) -> dict[tuple[str, str], list[int]]:
    out = {}
    for line in t.lines:
        for sex, n, c in (("M", line.m, line.cm), ("F", line.f, line.cf)):
            if n:
                out[(line.key, sex)] = [n, c]
    return out


def test_rollup_follows_student_changes(world: World) -> None:
    obec = world.actors["obec"]
    add(world, world.school_a1, "05", "M")
    add(world, world.school_a1, "05", "F")
    add(world, world.school_b1, "06", "F", age="old")
    add(world, world.school_b1, "04", "M", age="young")
    t = selectors.nation_totals(actor=obec, source=selectors.Source(YEAR))
    assert _from_totals(t) == _direct_live(YEAR)
    assert rollup.verify(YEAR) == []
    # rooms come from SchoolGrade: 6 grades x 2 rooms x 3 schools
    assert t.total.rooms == 36
    SchoolGrade.objects.filter(school=world.school_a1, grade="05").update(rooms=9)  # bulk: no signal
    assert rollup.verify(YEAR) != []
    rollup.resync_school(world.school_a1.pk, YEAR)
    assert rollup.verify(YEAR) == []
