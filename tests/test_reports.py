"""Reports (issue 7): the roll-up stays equal to a direct count (live and sealed), drill-downs add
up to the number they came from, scoping, suppression, XLSX downloads, the background job, and
the dashboards' query counts."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from dmc.accounts.actor import Actor
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.ids import mask_person_id
from dmc.reports import jobs, rollup, selectors
from dmc.reports.models import LIVE, CellDelta, ReportJob
from dmc.rounds import services as round_services
from dmc.rounds.models import Round, SchoolRound, SnapshotRow
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.schools.services import school_grades_update
from dmc.students import services as student_services
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World, login, make_citizen_id, set_year_result
from tests.movement_helpers import at, leave

pytestmark = pytest.mark.django_db

TITLE = {("M", "child"): "001", ("F", "child"): "002", ("M", "adult"): "003", ("F", "adult"): "004"}
BIRTH = {"young": dt.date(2018, 1, 1), "child": dt.date(2013, 6, 1), "old": dt.date(1999, 1, 1)}
MEASURES = {
    "young": (Decimal("15.0"), Decimal("100.0")),
    "child": (Decimal("30.5"), Decimal("135.0")),
    "old": (Decimal("60.0"), Decimal("170.0")),
}


def add(
    world: World, school: School, grade: str = "05", sex: str = "M", age: str = "child"
) -> Enrolment:
    """A student of the given sex; ``young`` (under 4) and ``old`` (over 20) are not counted."""
    world._seq += 1
    weight, height = MEASURES[age]
    enrolment = student_services.student_add(
        sat_exam_here=True,
        actor=None,
        school=school,
        academic_year=YEAR,
        person_id=make_citizen_id(7_000_000 + world._seq),
        person={
            "title_code": TITLE[(sex, "adult" if age == "old" else "child")],
            "first_name": f"นักเรียน{world._seq}",
            "last_name": "รายงาน",
            "sex": sex,
            "birth_date": BIRTH[age],
        },
        grade=grade,
        room=1,
        student_no=str(30_000 + world._seq),
        weight_kg=weight,
        height_cm=height,
    )
    set_year_result(enrolment, "pass")  # round 3: a complete year-end result (L8)
    return enrolment


def round3() -> Round:
    return Round.objects.select_related("academic_year").get(academic_year__year=YEAR, number=3)


def officer(world: World, school: School) -> Actor:
    return {
        world.school_a1.pk: world.actors["officer_a1"],
        world.school_a2.pk: world.actors["officer_a2"],
        world.school_b1.pk: world.actors["officer_b1"],
    }[school.pk]


def fit_rooms(world: World, school: School) -> None:
    grades = set(
        Enrolment.objects.filter(
            school=school, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).values_list("grade", flat=True)
    )
    offered = set(
        SchoolGrade.objects.filter(school=school, academic_year=YEAR).values_list(
            "grade", flat=True
        )
    )
    school_grades_update(
        actor=officer(world, school),
        school=school,
        academic_year=YEAR,
        rooms={g: (2 if g in grades else None) for g in grades | offered},
    )


def confirm(world: World, school: School) -> bool:
    fit_rooms(world, school)
    with at(4, 30, 10):
        try:
            round_services.round_confirm(
                actor=officer(world, school), school=school, round_id=round3().pk
            )
        except DmcError as exc:
            blocked = exc.code
        else:
            return True
    assert blocked == ErrorCode.CHECKLIST_BLOCKING
    return False


# --- direct counts (what the roll-up must equal) --------------------------------------------------

Cells = dict[tuple[str, str], list[int]]  # (grade, sex) -> [students, counted]


def _scope(area_id: int | None, school_id: int | None) -> dict[str, int]:
    out = {}
    if area_id is not None:
        out["school__area_id"] = area_id
    if school_id is not None:
        out["school_id"] = school_id
    return out


def direct_live(area_id: int | None = None, school_id: int | None = None) -> Cells:
    out: Cells = {}
    qs = Enrolment.objects.filter(
        academic_year=YEAR, status=Enrolment.Status.ACTIVE, **_scope(area_id, school_id)
    )
    for grade, sex, counted in qs.values_list("grade", "person__sex", "counted"):
        cell = out.setdefault((grade, sex), [0, 0])
        cell[0] += 1
        cell[1] += int(counted)
    return out


def direct_sealed(area_id: int | None = None, school_id: int | None = None) -> Cells:
    out: Cells = {}
    snaps = SchoolRound.objects.filter(
        round=round3(), confirmed_at__isnull=False, **_scope(area_id, school_id)
    ).values_list("snapshot_id", flat=True)
    for grade, sex, counted in SnapshotRow.objects.filter(snapshot_id__in=list(snaps)).values_list(
        "grade", "sex", "counted"
    ):
        cell = out.setdefault((grade, sex), [0, 0])
        cell[0] += 1
        cell[1] += int(counted)
    return out


def shown(t: selectors.Totals) -> Cells:
    out: Cells = {}
    for line in t.lines:
        for sex, n, c in (("M", line.m, line.cm), ("F", line.f, line.cf)):
            if n:
                out[(line.key, sex)] = [n, c]
    return out


def check_drill(actor: Actor, t: selectors.Totals) -> None:
    """Every number of a school table: its student list has exactly that many rows."""
    for line in [*t.lines, t.total]:
        for column, (sex, kind) in selectors.DRILL.items():
            _school, rows, n = selectors.drill_students(
                actor=actor,
                smis_code=t.code,
                source=t.source,
                grade=line.key,
                sex=sex,
                kind=kind,
                limit=None,
            )
            assert n == len(rows) == line.value(column), (line.key, column)


class RollbackError(Exception):
    pass


student = st.tuples(
    st.integers(0, 2),  # school
    st.sampled_from(["04", "05", "08"]),  # grade (not a terminal one: leavers can leave)
    st.sampled_from(["M", "F"]),
    st.sampled_from(["child", "child", "child", "young", "old"]),
)


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example is slow to shrink
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(student, max_size=10),
    later=st.lists(student, max_size=6),
    leavers=st.lists(st.integers(0, 30), max_size=3),
    confirm_mask=st.lists(st.booleans(), min_size=3, max_size=3),
    cancel_first=st.booleans(),
    compact_at=st.sampled_from([None, "middle", "end"]),
)
def test_totals_equal_a_direct_count(
    world: World,
    first: list[tuple[int, str, str, str]],
    later: list[tuple[int, str, str, str]],
    leavers: list[int],
    confirm_mask: list[bool],
    cancel_first: bool,
    compact_at: str | None,
) -> None:
    """Random students, leavers, confirmations, a cancellation and compactions: live and sealed
    totals at every level equal a direct count over the enrolments / the snapshot rows, and every
    school number drills down to exactly that many students."""
    schools = [world.school_a1, world.school_a2, world.school_b1]
    obec = world.actors["obec"]
    try:
        with transaction.atomic():
            made = [add(world, schools[s], g, sex, age) for s, g, sex, age in first]
            for i in leavers:
                if made and i < len(made):
                    e = Enrolment.objects.get(pk=made[i].pk)
                    if e.status == Enrolment.Status.ACTIVE:
                        leave(world, e)
            if compact_at == "middle":
                rollup.compact(YEAR, LIVE)
            sealed = [
                confirm(world, s) if on else False
                for s, on in zip(schools, confirm_mask, strict=True)
            ]
            if cancel_first and sealed[0]:
                with at(4, 30, 11):
                    round_services.round_cancel(
                        actor=world.actors["officer_a1"], school=schools[0], round_id=round3().pk
                    )
            for s, g, sex, age in later:
                school = schools[s]
                sr = SchoolRound.objects.filter(school=school, round=round3()).first()
                if sr is None or sr.confirmed_at is None:  # D8: confirmed schools are read-only
                    SchoolGrade.objects.get_or_create(
                        school=school, academic_year=YEAR, grade=g, defaults={"rooms": 1}
                    )
                    add(world, school, g, sex, age)
            if compact_at == "end":
                rollup.compact(YEAR, LIVE)
                rollup.compact(YEAR, round3().pk)

            for src in (selectors.Source(YEAR), selectors.Source(YEAR, round3())):
                direct = direct_live if src.round is None else direct_sealed
                nation = selectors.nation_totals(actor=obec, source=src)
                assert shown(nation) == direct()
                for area in (world.area_a, world.area_b):
                    t = selectors.area_totals(actor=obec, code=area.code, source=src)
                    assert shown(t) == direct(area_id=area.pk)
                    assert t.parts_total is not None
                    assert t.parts_total.counted == t.total.counted
                    assert t.parts_total.excluded == t.total.excluded
                    assert t.parts_total.rooms == t.total.rooms
                for school in schools:
                    t = selectors.school_totals(actor=obec, smis_code=school.smis_code, source=src)
                    assert shown(t) == direct(school_id=school.pk)
                    check_drill(obec, t)
            assert rollup.verify(YEAR) == []
            raise RollbackError
    except RollbackError:
        pass


def test_sealed_totals_stay_as_confirmed_and_drop_on_cancel(world: World) -> None:
    for sex in ("M", "F", "F"):
        add(world, world.school_a1, "05", sex)
    add(world, world.school_a2, "05", "M")
    assert confirm(world, world.school_a1) and confirm(world, world.school_a2)
    add(world, world.school_b1, "05", "M")  # b1 never confirms
    obec = world.actors["obec"]
    sealed = selectors.Source(YEAR, round3())
    t = selectors.area_totals(actor=obec, code="1001", source=sealed)
    assert (t.total.cm, t.total.cf) == (2, 2)
    assert shown(t) == direct_sealed(area_id=world.area_a.pk)
    b = selectors.area_totals(actor=obec, code="4201", source=sealed)
    assert b.total.counted == 0 and b.missing == ["42010001"]
    with at(4, 30, 11):
        round_services.round_cancel(
            actor=world.actors["officer_a2"], school=world.school_a2, round_id=round3().pk
        )
    t = selectors.area_totals(actor=obec, code="1001", source=sealed)
    assert (t.total.cm, t.total.cf) == (1, 2) and t.missing == ["10010002"]
    nation = selectors.nation_totals(actor=obec, source=sealed)
    assert nation.total.counted == 3
    assert rollup.verify(YEAR) == []


def test_area_number_breaks_down_by_school_and_sums(world: World) -> None:
    for _ in range(3):
        add(world, world.school_a1, "05", "M")
    add(world, world.school_a2, "05", "M")
    add(world, world.school_a2, "05", "M", age="old")
    area = world.actors["area_a"]
    src = selectors.Source(YEAR)
    t = selectors.area_totals(actor=area, code="1001", source=src)
    line = next(x for x in t.lines if x.key == "05")
    assert (line.cm, line.excluded) == (4, 1)
    _a, rows, total = selectors.cell_by_school(
        actor=area, code="1001", source=src, grade="05", sex="M", kind="counted"
    )
    assert total == line.cm == sum(n for _c, _n, n in rows)
    assert [(c, n) for c, _n, n in rows] == [("10010001", 3), ("10010002", 1)]
    _a, rows, total = selectors.cell_by_school(
        actor=area, code="1001", source=src, grade="all", sex="", kind="excluded"
    )
    assert total == t.total.excluded == 1
    nation_rows = selectors.cell_by_area(
        actor=world.actors["obec"], source=src, grade="05", sex="M", kind="counted"
    )
    assert nation_rows == [("1001", world.area_a.name, 4)]


# --- scoping --------------------------------------------------------------------------------------


def test_scoping_of_totals_and_drill_down(world: World) -> None:
    add(world, world.school_a1)
    add(world, world.school_b1)
    src = selectors.Source(YEAR)
    area_b, officer_a2 = world.actors["area_b"], world.actors["officer_a2"]
    calls: list[tuple[Any, dict[str, Any]]] = [
        (selectors.area_totals, {"code": "1001"}),
        (selectors.school_totals, {"smis_code": "10010001"}),
        (selectors.drill_students, {"smis_code": "10010001"}),
        (selectors.cell_by_school, {"code": "1001", "grade": "05", "sex": "M", "kind": "counted"}),
        (selectors.cell_by_area, {"grade": "05", "sex": "M", "kind": "counted"}),
    ]
    for fn, kw in calls:
        with pytest.raises(DmcError) as exc:
            fn(actor=area_b, source=src, **kw)
        assert exc.value.code == ErrorCode.NOT_IN_SCOPE, fn
    with pytest.raises(DmcError) as exc:
        selectors.drill_students(actor=officer_a2, smis_code="10010001", source=src)
    assert exc.value.code == ErrorCode.NOT_IN_SCOPE
    with pytest.raises(DmcError) as exc:
        selectors.nation_totals(actor=officer_a2, source=src)
    assert exc.value.code == ErrorCode.NOT_IN_SCOPE
    # allowed: the own school, the own area, OBEC everything
    assert (
        selectors.drill_students(
            actor=world.actors["officer_a1"], smis_code="10010001", source=src
        )[2]
        == 1
    )
    assert (
        selectors.drill_students(actor=world.actors["area_a"], smis_code="10010001", source=src)[2]
        == 1
    )
    assert (
        selectors.drill_students(actor=world.actors["obec"], smis_code="42010001", source=src)[2]
        == 1
    )


def test_drill_down_masks_ids_and_area_reads_are_audited(world: World, client: Any) -> None:
    from dmc.core.models import AuditEvent

    e = add(world, world.school_a1)
    login(client, world.users["area_a"])
    url = "/reports/schools/10010001/students/?grade=05&sex=M&kind=counted"
    refused = client.get(url)  # PDPA (issue 9): an area office states a purpose first
    assert refused.status_code == 302 and "/privacy/purpose/" in refused["Location"]
    state_purpose(client, "10010001")
    r = client.get(url)
    body = r.content.decode()
    assert r.status_code == 200
    assert e.person.person_id not in body
    assert mask_person_id(e.person.person_id) in body
    assert e.person.first_name in body
    assert AuditEvent.objects.filter(action="report.students_read").count() == 1
    client.get("/reports/schools/10010001/students/?grade=05&format=xlsx")
    assert AuditEvent.objects.filter(action="report.students_export").count() == 1
    login(client, world.users["officer_a1"])  # the school's own list: read freely, export logged
    client.get("/reports/schools/10010001/students/?grade=05")
    assert AuditEvent.objects.filter(action="report.students_read").count() == 1
    client.get("/reports/schools/10010001/students/?grade=05&format=xlsx")
    assert AuditEvent.objects.filter(action="report.students_export").count() == 2
    login(client, world.users["area_b"])
    assert client.get("/reports/schools/10010001/students/?grade=05").status_code == 403
    assert client.get("/reports/areas/1001/").status_code == 403


def state_purpose(client: Any, smis: str) -> None:
    r = client.post("/privacy/purpose/", {"school": smis, "code": "01", "next": "/"})
    assert r.status_code == 302


def test_bad_parameters_are_specific_errors(world: World, client: Any) -> None:
    login(client, world.users["obec"])
    state_purpose(client, "10010001")
    for url in (
        "/reports/nation/?year=abc",
        "/reports/nation/?src=9",
        "/reports/schools/10010001/students/?grade=77",
        "/reports/schools/10010001/students/?sex=X",
    ):
        assert client.get(url).status_code == 400, url
    assert client.get("/reports/nation/?year=2599&src=1").status_code == 404


# --- suppression ----------------------------------------------------------------------------------


def test_other_areas_small_cells_are_suppressed_for_an_area_office(world: World) -> None:
    for _ in range(6):
        add(world, world.school_a1, "05", "M")
    for _ in range(2):
        add(world, world.school_b1, "05", "F")
    src = selectors.Source(YEAR)
    t = selectors.nation_totals(actor=world.actors["area_a"], source=src)
    b = next(p for p in t.parts if p.key == "4201")
    a = next(p for p in t.parts if p.key == "1001")
    assert b.value("cf") is None and b.value("counted") is None  # 2 girls: hidden
    assert a.value("cm") == 6  # the own area is shown
    assert t.suppressed > 0
    full = selectors.nation_totals(actor=world.actors["obec"], source=src)
    assert next(p for p in full.parts if p.key == "4201").value("cf") == 2
    public = selectors.nation_totals(actor=world.actors["obec"], source=src, public=True)
    assert next(p for p in public.parts if p.key == "4201").value("cf") is None


# --- pages, XLSX, jobs, queries -------------------------------------------------------------------


def _sheet(content: bytes) -> list[tuple[Any, ...]]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    sheet = wb.active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]


def test_pages_render_with_charts_and_download_xlsx(world: World, client: Any) -> None:
    add(world, world.school_a1, "05", "M")
    add(world, world.school_a1, "05", "F", age="old")
    login(client, world.users["area_a"])
    r = client.get("/reports/", follow=True)
    body = r.content.decode()
    assert r.status_code == 200
    assert "<svg" in body and "<title" in body and "<desc" in body
    assert 'data-cell="05-cm"' in body
    rows = _sheet(client.get("/reports/areas/1001/?format=xlsx").content)
    assert rows[0][0] == "ชั้น"
    assert rows[-1][1:] == (1, 0, 1, 24, 1)  # total: 1 boy, 2 schools x 12 rooms, 1 excluded
    parts = _sheet(client.get("/reports/areas/1001/?format=xlsx&table=parts").content)
    assert [p[0] for p in parts[1:]] == ["10010001", "10010002", None]  # None: the total row
    cell = _sheet(
        client.get("/reports/areas/1001/cell/?grade=05&sex=M&kind=counted&format=xlsx").content
    )
    assert cell[1][0] == "10010001" and cell[-1][2] == 1
    state_purpose(client, "10010001")
    drill = _sheet(
        client.get("/reports/schools/10010001/students/?grade=05&kind=excluded&format=xlsx").content
    )
    assert len(drill) == 2  # header + the one student over 20
    old = Enrolment.objects.get(school=world.school_a1, counted=False).person.person_id
    assert drill[1][1] == mask_person_id(old) != old
    for url in ("/reports/progress/", "/reports/summary/", "/reports/areas/1001/cell/?grade=05"):
        page = client.get(url)
        assert page.status_code == 200, url
    assert "<svg" in client.get("/reports/progress/").content.decode()
    for table in ("dropouts", "disadvantaged", "years"):
        got = client.get(f"/reports/summary/?format=xlsx&table={table}")
        assert got["Content-Type"].startswith("application/vnd.openxmlformats"), table
    years = _sheet(client.get("/reports/summary/?format=xlsx&table=years").content)
    # 2564's latest closed round is round 2, which nobody in this test confirmed
    assert years[1][:2] == (YEAR, "ปิดรอบระยะที่ 2") and years[1][4] == 0


def test_summary_counts_dropouts_and_disadvantaged(world: World) -> None:
    e = add(world, world.school_a1, "05", "M")
    Enrolment.objects.filter(pk=e.pk).update(status="dropout", dropout_reason="01")
    d = add(world, world.school_b1, "05", "F")
    d.person.disadvantaged = "03"
    d.person.save()
    obec, area_a = world.actors["obec"], world.actors["area_a"]
    assert selectors.dropouts(actor=obec, year=YEAR)[0][0] == "01"
    assert selectors.dropouts(actor=obec, year=YEAR)[0][2:] == (1, 0)
    assert selectors.dropouts(actor=world.actors["area_b"], year=YEAR) == []
    assert [r[0] for r in selectors.disadvantaged(actor=obec, year=YEAR)] == ["03"]
    assert selectors.disadvantaged(actor=area_a, year=YEAR) == []
    assert selectors.disadvantaged(actor=world.actors["officer_b1"], year=YEAR)[0][2:] == (0, 1)


def test_confirmation_progress_counts_and_hours(world: World) -> None:
    add(world, world.school_a1)
    add(world, world.school_b1)
    assert confirm(world, world.school_a1)
    assert confirm(world, world.school_b1)
    p = selectors.progress(actor=world.actors["obec"], round_id=round3().pk)
    assert p.total == (3, 2, 0, 0)
    assert p.day == dt.date(2022, 4, 30)
    assert p.hours[10][1] == 0 and p.hours[11][1] == 2  # confirmed at 10:00, counted by 11:00
    assert p.hours[-1] == (24, 2, 0)
    pa = selectors.progress(actor=world.actors["area_a"], round_id=round3().pk)
    assert pa.total == (2, 1, 0, 0)
    with pytest.raises(DmcError):
        selectors.progress(actor=world.actors["area_b"], round_id=round3().pk, area_code="1001")
    with pytest.raises(DmcError):
        selectors.progress(actor=world.actors["officer_a1"], round_id=round3().pk)


def test_national_workbook_job_with_progress(
    world: World, client: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(jobs, "RUN_INLINE", True)
    add(world, world.school_a1, "05", "M")
    login(client, world.users["obec"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/reports/jobs/", {"year": YEAR, "src": "live"})
    job = ReportJob.objects.get()
    assert r.status_code == 302 and job.status == ReportJob.Status.DONE and job.percent == 100
    status = client.get(f"/reports/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in status.content.decode()  # done: no more polling
    rows = _sheet(client.get(f"/reports/jobs/{job.pk}/download/").content)
    assert len(rows) == 4  # header + 3 schools
    a1 = next(row for row in rows if row[1] == "10010001")
    assert a1[3 + 3 * 4] == 1  # ป.2 (grade 05) boys
    # another user cannot see the job
    login(client, world.users["area_a"])
    assert client.get(f"/reports/jobs/{job.pk}/").status_code == 404
    # an area office builds its own area only; a school cannot start one
    with pytest.raises(DmcError):
        jobs.job_start(actor=world.actors["officer_a1"], source=selectors.Source(YEAR))
    with pytest.raises(DmcError):
        jobs.job_start(
            actor=world.actors["area_b"], source=selectors.Source(YEAR), area_code="1001"
        )


def test_running_job_polls(world: World, client: Any) -> None:
    from dmc.core import clock

    job = ReportJob.objects.create(
        kind="schools_xlsx",
        params={},
        requested_by=world.users["obec"],
        role="obec_admin",
        status="running",
        done=1,
        total=4,
        created_at=clock.now(),
    )
    login(client, world.users["obec"])
    body = client.get(f"/reports/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in body and "25%" in body


def _more_schools(world: World, n: int) -> None:
    for i in range(n):
        school = School.objects.create(
            smis_code=f"1001{i + 100:04d}",
            moe_code=f"99{i:08d}",
            obec_code=f"9{i:05d}",
            name=f"โรงเรียนเพิ่ม{i}",
            area=world.area_a,
            province_code="10",
        )
        SchoolGrade.objects.create(school=school, academic_year=YEAR, grade="05", rooms=1)
        add(world, school, "05", "F")


@pytest.mark.parametrize("extra", [0, 12])
def test_dashboard_queries_do_not_grow_with_schools(
    world: World, client: Any, extra: int, django_assert_max_num_queries: Any
) -> None:
    _more_schools(world, extra)
    add(world, world.school_b1)
    login(client, world.users["obec"])
    for url in (
        "/reports/nation/",
        "/reports/areas/1001/",
        "/reports/areas/1001/cell/?grade=05",
        "/reports/nation/cell/?grade=05",
        "/reports/progress/",
        "/reports/summary/",
    ):
        with django_assert_max_num_queries(16):
            assert client.get(url).status_code == 200, url


def test_compaction_keeps_totals_and_empties_the_ledger(world: World) -> None:
    for i in range(5):
        add(world, world.school_a1, "05", "M" if i % 2 else "F")
    before = rollup.area_cells(YEAR, LIVE)
    assert CellDelta.objects.exists()
    assert rollup.compact(YEAR, LIVE) > 0
    assert not CellDelta.objects.filter(academic_year=YEAR, round_key=LIVE).exists()
    assert rollup.area_cells(YEAR, LIVE) == before
    rollup.rebuild(YEAR)
    assert rollup.area_cells(YEAR, LIVE) == before and rollup.verify(YEAR) == []


def test_school_moved_to_another_area_moves_its_numbers(world: World) -> None:
    add(world, world.school_a1, "05", "M")
    School.objects.filter(pk=world.school_a1.pk).update(area=world.area_b)
    rollup.resync_school(world.school_a1.pk, YEAR)
    cells = rollup.area_cells(YEAR, LIVE)
    assert (world.area_a.pk, "05") in cells  # a2's rooms stay
    assert cells[(world.area_b.pk, "05")][2] == 1
    assert rollup.verify(YEAR) == []
    assert AreaOffice.objects.count() == 2


def test_rollup_command_verifies_and_rebuilds(world: World) -> None:
    from django.core.management import CommandError, call_command

    add(world, world.school_a1)
    call_command("reports_rollup", str(YEAR), "--compact")
    SchoolGrade.objects.filter(school=world.school_a1).update(rooms=5)  # bypasses the signals
    with pytest.raises(CommandError):
        call_command("reports_rollup", str(YEAR))
    call_command("reports_rollup", str(YEAR), "--rebuild")
    assert rollup.verify(YEAR) == []


def test_charts_are_accessible_svg_with_exact_axis_labels() -> None:
    import re

    from dmc.reports import charts

    svg = str(
        charts.bar_chart(
            "t1", "จำนวน <นักเรียน>", "คำอธิบาย & ตาราง", ["ป.1", "ป.2"], [("ชาย", [4, 99])]
        )
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="t1-t">จำนวน &lt;นักเรียน&gt;</title>' in svg
    assert '<desc id="t1-d">คำอธิบาย &amp; ตาราง</desc>' in svg
    labels = [int(x.replace(",", "")) for x in re.findall(r'text-anchor="end"[^>]*>([\d,]+)<', svg)]
    assert labels == [0, 25, 50, 75, 100]
    line = str(charts.line_chart("t2", "t", "d", ["00:00", "01:00"], [("a", [0, 3])], ceiling=7))
    assert "<polyline" in line and "stroke-dasharray" in line


def test_rollover_keeps_the_next_years_rollup(world: World) -> None:
    """The rollover writes the next year's stats in bulk; the roll-up follows (and the closed
    round's sealed counts are what the five-year table shows for the year)."""
    from dmc.core import clock
    from dmc.yearend import rollover
    from tests.test_yearend import AFTER_CLOSE, close_round3

    add(world, world.school_a1, "05", "M")
    add(world, world.school_b1, "06", "F")
    assert confirm(world, world.school_a1)
    close_round3(world)
    with clock.frozen(AFTER_CLOSE):
        rollover.rollover(actor=world.actors["obec"], year=YEAR, batch_schools=2)
    rolled = Enrolment.objects.filter(academic_year=YEAR + 1, status=Enrolment.Status.ACTIVE)
    assert rolled.exists()
    assert rollup.verify(YEAR + 1) == []
    t = selectors.nation_totals(actor=world.actors["obec"], source=selectors.Source(YEAR + 1))
    direct: Cells = {}
    for grade, sex, counted in rolled.values_list("grade", "person__sex", "counted"):
        cell = direct.setdefault((grade, sex), [0, 0])
        cell[0] += 1
        cell[1] += int(counted)
    assert shown(t) == direct
    years = selectors.five_years(actor=world.actors["obec"], year=YEAR)
    assert years[-1][2].counted == 1  # 2564: round 3 closed with only school a1 confirmed
