"""The national bulk loader (``dmc load``): counts, rejection file, D1, idempotence, resumption
and stats, on small files from ``dmc synth`` (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.models import AuditEvent
from dmc.demo import synth
from dmc.demo.loader import setup_calendar
from dmc.exchange import loader
from dmc.exchange.format import HEADER
from dmc.rounds import stats
from dmc.rounds.models import LoadBatch, SchoolYearStats
from dmc.schools.models import School
from dmc.students.models import Enrolment, Person

YEAR = 2564
SCHOOLS, STUDENTS, SEED = 4, 120, 7
ID = HEADER.index("เลขประจำตัวประชาชน")
SCHOOL = HEADER.index("รหัสโรงเรียน")
STUDENT_NO = HEADER.index("เลขประจำตัวนักเรียน")


@pytest.fixture
def setup(db: None, tmp_path: Path) -> Iterator[Path]:
    with clock.frozen(bangkok(2022, 4, 20, 10, 0)):
        setup_calendar(YEAR)
        schools_csv = tmp_path / "schools.csv"
        with schools_csv.open("w", encoding="utf-8", newline="") as fh:
            synth.write_schools_csv(fh, schools=SCHOOLS, students=STUDENTS, seed=SEED)
        loader.load_schools_csv(schools_csv, year=YEAR)
        loader.load_schools_csv(schools_csv, year=YEAR)  # idempotent
        yield tmp_path


def synth_rows() -> list[list[str]]:
    buf = io.StringIO()
    synth.write_csv(buf, schools=SCHOOLS, students=STUDENTS, seed=SEED, year=YEAR)
    return list(csv.reader(io.StringIO(buf.getvalue())))[1:]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def load(path: Path, **kw: object) -> loader.LoadResult:
    return loader.load(path, year=YEAR, round_no=3, **kw)  # type: ignore[arg-type]


def rejections(path: Path) -> dict[int, str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {int(r["row"]): r["code"] for r in csv.DictReader(fh)}


def state() -> tuple[object, ...]:
    return (
        sorted(Person.objects.values_list("person_id", "first_name", "version")),
        sorted(
            Enrolment.objects.values_list(
                "person__person_id", "school__smis_code", "grade", "room", "status", "checks"
            )
        ),
        sorted(SchoolYearStats.objects.values_list("school__smis_code", "totals", "checks")),
    )


def test_clean_file_loads_everything_and_stats_match_rebuild(setup: Path) -> None:
    path = write(setup / "nation.csv", synth_rows())
    result = load(path)
    assert (result.rows, result.rejected) == (STUDENTS, 0)
    assert (result.persons_created, result.enrolments_created) == (STUDENTS, STUDENTS)
    assert Person.objects.count() == Enrolment.objects.count() == STUDENTS
    assert result.schools == SCHOOLS
    loaded = {s.school_id: (s.totals, s.checks) for s in SchoolYearStats.objects.all()}
    assert len(loaded) == SCHOOLS
    for school in School.objects.all():
        fresh = stats.rebuild(school, YEAR)
        assert loaded[school.pk] == (fresh.totals, fresh.checks)
    assert (
        sum(c["M"] + c["F"] for s in SchoolYearStats.objects.all() for c in s.totals.values())
        == STUDENTS
    )
    assert not any(t.startswith("dmc_load_") for t in connection.introspection.table_names())


def test_bad_rows_are_rejected_with_row_and_code(setup: Path) -> None:
    rows = synth_rows()
    first_school = rows[0][SCHOOL]
    other = next(r for r in rows if r[SCHOOL] != first_school)
    # load one student of another school first: the same person later listed at the first school
    # is active elsewhere (D1)
    write(setup / "before.csv", [other])
    assert load(setup / "before.csv").enrolments_created == 1
    bad = [list(r) for r in rows if r is not other]
    bad[3][ID] = bad[3][ID][:-1] + str((int(bad[3][ID][-1]) + 1) % 10)  # file row 5
    bad[5][SCHOOL] = "99999999"  # file row 7: unknown school
    dup = list(bad[0])
    dup[STUDENT_NO] = "99999"
    bad.append(dup)  # repeats row 2's ID
    moved = list(bad[1])
    moved[ID] = other[ID]
    moved[STUDENT_NO] = "88888"
    bad[1] = moved  # file row 3: active at the other school already
    path = write(setup / "nation.csv", bad)
    result = load(path)
    codes = rejections(Path(result.rejects_path))
    dup_row = len(bad) + 1
    assert codes == {
        5: "citizen_id_checksum",
        7: "school_unknown",
        dup_row: "duplicate_in_file",
        3: "enrolment_active_elsewhere",
    }
    assert result.rejected == 4
    assert result.rows == STUDENTS  # the other school's row left out, one repeat added
    assert result.enrolments_created == STUDENTS - 4
    with Path(result.rejects_path).open(encoding="utf-8", newline="") as fh:
        by_row = {int(r["row"]): r for r in csv.DictReader(fh)}
    assert by_row[7]["รหัสโรงเรียน"] == "99999999"
    assert "2" in by_row[dup_row]["message"]
    # D1: nobody is active twice in the year
    assert not (
        Enrolment.objects.filter(academic_year=YEAR, status="active")
        .values("person_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    mover = Enrolment.objects.get(person__person_id=other[ID])
    assert mover.school.smis_code == other[SCHOOL]


def test_rerun_changes_nothing_and_audits_once(setup: Path) -> None:
    path = write(setup / "nation.csv", synth_rows())
    load(path)
    before = state()
    again = load(path)
    assert again.already_loaded
    assert state() == before
    assert AuditEvent.objects.filter(action="load.batch").count() == 1
    # the same file under another batch name merges again but changes nothing
    other = load(path, batch_name="second")
    assert not other.already_loaded
    assert (other.persons_created, other.persons_updated) == (0, 0)
    assert (other.enrolments_created, other.enrolments_updated) == (0, 0)
    assert state() == before
    assert AuditEvent.objects.filter(action="load.batch").count() == 2


def test_changed_person_is_updated_only_when_different(setup: Path) -> None:
    rows = synth_rows()
    load(write(setup / "a.csv", rows))
    rows[0][HEADER.index("ชื่อ")] = "สมใหม่"
    result = load(write(setup / "b.csv", rows))
    assert (result.persons_created, result.persons_updated) == (0, 1)
    p = Person.objects.get(first_name="สมใหม่")
    assert p.version == 2


def test_killed_between_stage_and_merge_resumes(setup: Path, tmp_path: Path) -> None:
    path = write(setup / "nation.csv", synth_rows())
    staged = load(path, stop_after_stage=True)
    assert staged.state == LoadBatch.State.STAGED
    assert Enrolment.objects.count() == 0
    result = load(path)
    assert result.state == LoadBatch.State.MERGED
    assert result.enrolments_created == STUDENTS
    resumed = state()
    assert AuditEvent.objects.filter(action="load.batch").count() == 1
    # a batch left in "staging" (killed while staging) restages from scratch
    Enrolment.objects.all().delete()
    SchoolYearStats.objects.all().delete()
    Person.objects.all().delete()
    partial = load(path, batch_name="partial", stop_after_stage=True)
    LoadBatch.objects.filter(name=partial.batch).update(state=LoadBatch.State.STAGING)
    load(path, batch_name="partial")
    assert Enrolment.objects.count() == STUDENTS
    assert [row[:2] for row in state()[:1]] == [row[:2] for row in resumed[:1]]


def test_command_json_and_header_refused(setup: Path) -> None:
    path = write(setup / "nation.csv", synth_rows()[:10])
    out = io.StringIO()
    call_command("load", str(path), "--year", str(YEAR), "--round", "3", "--json", stdout=out)
    assert '"rows": 10' in out.getvalue()
    bad = setup / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("load", str(bad), "--year", str(YEAR), "--round", "3", "--json")


# -- checks computed as the rows are staged (one definition: stats.checks_text / evaluate) ------


def checks_state() -> tuple[object, ...]:
    """Every enrolment's checks and counted flag, and every stats row, by year."""
    return (
        sorted(
            Enrolment.objects.values_list(
                "person__person_id", "academic_year", "school__smis_code", "checks", "counted"
            )
        ),
        {
            (s.school_id, s.academic_year): (s.as_of, s.totals, s.checks)
            for s in SchoolYearStats.objects.all()
        },
    )


def rebuilt_state() -> tuple[object, ...]:
    """The state after a from-scratch Python rebuild of every school (the reference)."""
    for school in School.objects.all():
        stats.rebuild(school, YEAR)
    return checks_state()


HEIGHT = HEADER.index("ส่วนสูง")


def test_staged_checks_and_stats_equal_the_python_rebuild(setup: Path) -> None:
    rows = synth_rows()
    rows[3][HEADER.index("น้ำหนัก")] = ""  # L3.weight_missing
    rows[5][HEIGHT] = "400"  # refused at parse (implausible height is a row error) ...
    result = load(write(setup / "a.csv", rows))
    assert result.rejected == 1
    loaded = checks_state()
    assert any("L3.weight_missing" in e[3] for e in loaded[0])  # type: ignore[attr-defined]
    assert rebuilt_state() == loaded


def test_previous_year_height_and_query_notes_are_applied(setup: Path, tmp_path: Path) -> None:
    """L3.height_drop needs last year's height and ``key!`` a query note: the stage sees
    neither, so the merge evaluates those enrolments again -- the result equals a rebuild."""
    from dmc.accounts.models import User
    from dmc.rounds.models import QueryNote

    with clock.frozen(bangkok(2022, 4, 20, 10, 0)):
        schools_csv = tmp_path / "schools-prev.csv"
        with schools_csv.open("w", encoding="utf-8", newline="") as fh:
            synth.write_schools_csv(fh, schools=SCHOOLS, students=STUDENTS, seed=SEED)
        loader.load_schools_csv(schools_csv, year=YEAR - 1)
    rows = synth_rows()
    loader.load(write(setup / "prev.csv", rows), year=YEAR - 1, round_no=3)
    shrunk = [list(r) for r in rows]
    for r in shrunk[:10]:
        r[HEIGHT] = str(float(r[HEIGHT]) - 5)  # 5 cm lower than last year: a query
    load(write(setup / "now.csv", shrunk))
    drops = Enrolment.objects.filter(academic_year=YEAR, checks__contains="L3.height_drop ")
    assert drops.count() == 10
    assert rebuilt_state() == checks_state()
    # explain one drop, then load a changed file: the note survives as "L3.height_drop!"
    explained = drops.first()
    assert explained is not None
    user = User.objects.create_user(username="noter", password="x")
    QueryNote.objects.create(
        enrolment=explained,
        check_key="L3.height_drop",
        note="วัดใหม่แล้ว",
        written_by=user,
        written_at=clock.now(),
    )
    stats.rebuild(explained.school, YEAR)
    for r in shrunk[:10]:
        r[HEADER.index("น้ำหนัก")] = str(float(r[HEADER.index("น้ำหนัก")]) + 1)
    result = load(write(setup / "again.csv", shrunk))
    assert result.enrolments_updated == 10
    explained.refresh_from_db()
    assert "L3.height_drop! " in explained.checks
    assert rebuilt_state() == checks_state()


def test_parse_workers_give_the_same_result_as_one_process(setup: Path) -> None:
    import datetime as dt

    rows = synth_rows()
    rows[2][ID] = "123"  # a bad ID
    rows[7][HEADER.index("เพศ")] = "?"
    ctx = loader._ParseContext(
        as_of=dt.date(2022, 3, 31),
        today=dt.date(2022, 4, 20),
        year=YEAR,
        checks_as_of=dt.date(2022, 3, 31),
        copy_text=True,
    )
    old_chunk = loader.CHUNK
    loader.CHUNK = 7  # many chunks, so the order across workers matters
    try:
        one = list(loader.parsed_chunks(iter(rows), ctx, workers=1))
        two = list(loader.parsed_chunks(iter(rows), ctx, workers=2))
    finally:
        loader.CHUNK = old_chunk
    assert one == two
    assert sum(p.rows for p in two) == len(rows)
    assert sum(p.staged for p in two) == len(rows) - 2
    assert [r[-4] for p in two for r in p.rejects] == ["4", "9"]


def test_stats_of_many_schools_from_one_query_over_the_year(
    setup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``IN_LIST_MAX`` schools the GROUP BY reads the whole year and keeps the touched
    schools: the same sums."""
    monkeypatch.setattr(stats, "IN_LIST_MAX", 1)
    load(write(setup / "a.csv", synth_rows()))
    loaded = checks_state()
    assert len(loaded[1]) == SCHOOLS  # type: ignore[arg-type]
    assert rebuilt_state() == loaded
