"""The deterministic synthetic data generator (dmc.demo.synth) and the ``dmc synth`` command.

No database: the generator is pure. The file-level checks read back what ``write_csv`` wrote,
parsing each row as an importer would (labels, ช/ญ, dd/mm/BBBB).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import statistics
import subprocess
import time
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmc.core.codes import CODES, GRADES, PROVINCES, TITLES
from dmc.core.errors import DmcError
from dmc.core.ids import is_valid_citizen_id, normalize_gcode
from dmc.core.normalize import parse_date
from dmc.demo import synth
from dmc.exchange.format import HEADER, NO
from dmc.students.rules import HEIGHT_RANGE, WEIGHT_RANGE, age_on

ROOT = Path(__file__).resolve().parent.parent
DMC = ROOT / ".venv" / "bin" / "dmc"

SCHOOLS, STUDENTS, SEED, YEAR = 30, 3_000, 1, 2564
REF = synth.reference_date(YEAR)

# Column positions in the 39-column file.
C_SMIS, C_SCHOOL, C_ID, C_GRADE, C_ROOM, C_NO, C_SEX, C_TITLE = range(8)
C_FIRST, C_LAST, C_BIRTH, C_AGE, C_WEIGHT, C_HEIGHT, C_BLOOD, C_RELIGION = range(8, 16)
C_RACE, C_NATIONALITY = 16, 17
C_PROVINCE = 23
C_G_OCC, C_G_REL, C_F_OCC, C_M_OCC = 26, 27, 30, 33
C_DISADV, C_318, C_SCOUT, C_REDCROSS, C_SWIM = 34, 35, 36, 37, 38

# D5, written out independently of dmc.students.rules: (sex, adult?) -> allowed titles.
ALLOWED_TITLES = {
    ("M", False): {"001", "832"},
    ("F", False): {"002"},
    ("M", True): {"003", "832"},
    ("F", True): {"004", "005"},
}


def _csv_bytes(schools: int, students: int, seed: int, year: int = YEAR) -> bytes:
    out = io.StringIO()
    rows = synth.write_csv(out, schools=schools, students=students, seed=seed, year=year)
    assert rows == students
    return out.getvalue().encode("utf-8")


@cache
def _small() -> bytes:
    return _csv_bytes(SCHOOLS, STUDENTS, SEED)


@cache
def _small_rows() -> tuple[tuple[str, ...], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(_small().decode("utf-8"))))
    return tuple(rows[0]), rows[1:]


@cache
def _small_plan() -> tuple[list[synth.SynthArea], list[synth.SynthSchool]]:
    return synth.plan(SCHOOLS, STUDENTS, SEED)


@cache
def _national_plan() -> tuple[float, list[synth.SynthArea], list[synth.SynthSchool]]:
    start = time.perf_counter()
    areas, schools = synth.plan(synth.NATIONAL_SCHOOLS, synth.NATIONAL_STUDENTS, seed=1)
    return time.perf_counter() - start, areas, schools


def _valid_person_id(value: str) -> bool:
    if value.startswith("G"):
        try:
            return normalize_gcode(value) == value
        except DmcError:
            return False
    return is_valid_citizen_id(value) and value[0] != "9"


# --- the file ----------------------------------------------------------------------------------


def test_same_arguments_give_identical_bytes() -> None:
    again = _csv_bytes(SCHOOLS, STUDENTS, SEED)
    assert again == _small()
    assert len(again) > 300 * STUDENTS  # a real file, not an empty one


def test_another_seed_gives_another_file_with_the_same_shape() -> None:
    other = _csv_bytes(SCHOOLS, STUDENTS, SEED + 1)
    assert other != _small()
    rows = list(csv.reader(io.StringIO(other.decode("utf-8"))))
    assert len(rows) == STUDENTS + 1
    # the seed changes the people, not only the order of the same people
    mine = {r[C_FIRST] + r[C_LAST] + r[C_BIRTH] for r in _small_rows()[1]}
    theirs = {r[C_FIRST] + r[C_LAST] + r[C_BIRTH] for r in rows[1:]}
    assert len(mine & theirs) < STUDENTS // 10


def test_another_year_moves_birth_dates_by_a_year() -> None:
    later = list(csv.reader(io.StringIO(_csv_bytes(5, 300, SEED, year=2565).decode("utf-8"))))
    now = list(csv.reader(io.StringIO(_csv_bytes(5, 300, SEED, year=2564).decode("utf-8"))))
    assert len(later) == len(now) == 301
    shift = Counter(
        (parse_date(a[C_BIRTH]) - parse_date(b[C_BIRTH])).days
        for a, b in zip(later[1:], now[1:], strict=True)
    )
    assert set(shift) <= {365, 366} and shift[365] > 0
    same_age = sum(a[C_AGE] == b[C_AGE] for a, b in zip(later[1:], now[1:], strict=True))
    assert same_age >= 297  # only a leap day can move one across 31 March


def test_header_and_column_count() -> None:
    header, rows = _small_rows()
    assert header == HEADER
    assert len(header) == 39
    widths = Counter(len(r) for r in rows)
    assert widths == Counter({39: STUDENTS})
    assert _small().endswith(b"\n") and b"\r" not in _small()


def test_row_count_is_exactly_the_students_asked_for() -> None:
    _, rows = _small_rows()
    assert len(rows) == STUDENTS
    assert _small().count(b"\n") == STUDENTS + 1


def test_schools_codes_and_per_school_counts() -> None:
    _, rows = _small_rows()
    _, plan_schools = _small_plan()
    assert len(plan_schools) == SCHOOLS
    smis = [s.smis_code for s in plan_schools]
    moe = [s.moe_code for s in plan_schools]
    obec = [s.obec_code for s in plan_schools]
    for codes, width in ((smis, 8), (moe, 10), (obec, 6)):
        assert len(set(codes)) == SCHOOLS
        assert all(len(c) == width and c.isdigit() for c in codes), codes
    assert all(s.smis_code[:2] in PROVINCES for s in plan_schools)
    # every school with students appears in the file, with exactly its planned head count
    per_school = Counter(r[C_SMIS] for r in rows)
    expected = {s.smis_code: s.students for s in plan_schools if s.students}
    assert dict(per_school) == expected
    assert len(per_school) == SCHOOLS  # 3,000 students over 30 schools: none is empty
    names = {s.smis_code: s.name for s in plan_schools}
    assert all(r[C_SCHOOL] == names[r[C_SMIS]] for r in rows)
    provinces = {s.smis_code: PROVINCES.label(s.province_code) for s in plan_schools}
    assert all(r[C_PROVINCE] == provinces[r[C_SMIS]] for r in rows)


def test_ids_valid_and_unique() -> None:
    _, rows = _small_rows()
    ids = [r[C_ID] for r in rows]
    assert len(set(ids)) == STUDENTS
    bad = [i for i in ids if not _valid_person_id(i)]
    assert bad == []
    kinds = Counter("G" if i[0] == "G" else i[0] for i in ids)
    assert set(kinds) <= {"G", "0", "1", "2"}
    # the rarer forms are present, so importers meet them (1.5% leading 0, 0.3% G-code)
    assert kinds["G"] >= 1 and kinds["0"] >= 15 and kinds["2"] >= 15
    assert kinds["1"] > 0.9 * STUDENTS
    # digits 2-3 of a citizen ID and of a G-code are the school's province
    province = {s.smis_code: s.province_code for s in _small_plan()[1]}
    for r in rows:
        pid = r[C_ID]
        assert (pid[3:5] if pid[0] == "G" else pid[1:3]) == province[r[C_SMIS]], pid


def test_foreign_ids_get_foreign_nationality() -> None:
    _, rows = _small_rows()
    thai = CODES["nationality"].label("099")
    for r in rows:
        foreign = r[C_ID][0] in "0G"
        assert (r[C_NATIONALITY] != thai) == foreign, r[C_ID]
        assert r[C_RACE] == r[C_NATIONALITY]


def test_titles_agree_with_sex_and_age_on_every_row() -> None:
    _, rows = _small_rows()
    seen: Counter[tuple[str, bool, str]] = Counter()
    for r in rows:
        sex = CODES["sex"].lookup(r[C_SEX])
        assert r[C_SEX] in ("ช", "ญ") and sex in ("M", "F")
        title = TITLES.lookup(r[C_TITLE])
        assert title is not None, r[C_TITLE]
        birth = parse_date(r[C_BIRTH])
        assert r[C_BIRTH] == f"{birth.day:02d}/{birth.month:02d}/{birth.year + 543}"
        age = age_on(birth, REF)
        assert r[C_AGE] == str(age)
        adult = age >= 15
        assert title in ALLOWED_TITLES[(sex, adult)], (r[C_TITLE], r[C_SEX], age)
        seen[(sex, adult, title)] += 1
    # both bands of both sexes occur in a primary + secondary sample
    assert {(s, a) for s, a, _ in seen} == set(ALLOWED_TITLES)
    sexes = Counter(r[C_SEX] for r in rows)
    assert 0.45 < sexes["ช"] / STUDENTS < 0.57


def test_reference_date_is_the_end_of_the_academic_year() -> None:
    assert synth.reference_date(2564) == dt.date(2022, 3, 31)
    assert synth.reference_date(2565) == dt.date(2023, 3, 31)


def test_nominal_ages() -> None:
    assert [synth.nominal_age(f"{g:02d}") for g in range(1, 19)] == [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 15, 16, 17,
    ]  # fmt: skip


def test_grades_valid_and_ages_grade_appropriate() -> None:
    _, rows = _small_rows()
    start = dt.date(YEAR - 543, 5, 16)  # the age the grade is planned on
    by_label = {e["th"]: e["code"] for e in GRADES}
    repeaters = 0
    for r in rows:
        grade = by_label.get(r[C_GRADE])
        assert grade is not None and grade in GRADES, r[C_GRADE]
        extra = age_on(parse_date(r[C_BIRTH]), start) - synth.nominal_age(grade)
        assert extra in (0, 1), (r[C_GRADE], r[C_BIRTH])
        repeaters += extra
        # the age in the file (at 31 March) is the planned age or one more
        assert 0 <= int(r[C_AGE]) - synth.nominal_age(grade) <= 2
    assert 0.02 * STUDENTS < repeaters < 0.07 * STUDENTS  # ~4%


def test_grades_and_rooms_follow_the_plan() -> None:
    _, rows = _small_rows()
    _, plan_schools = _small_plan()
    by_label = {e["th"]: e["code"] for e in GRADES}
    plan_by_code = {s.smis_code: s for s in plan_schools}
    per_grade = Counter((r[C_SMIS], by_label[r[C_GRADE]]) for r in rows)
    expected = {(s.smis_code, g): n for s in plan_schools for g, n in s.grades.items() if n}
    assert dict(per_grade) == expected
    rooms_used: dict[tuple[str, str], set[int]] = {}
    numbers: dict[str, set[str]] = {}
    for r in rows:
        school = plan_by_code[r[C_SMIS]]
        grade = by_label[r[C_GRADE]]
        room = int(r[C_ROOM])
        assert 1 <= room <= school.rooms[grade]
        rooms_used.setdefault((r[C_SMIS], grade), set()).add(room)
        numbers.setdefault(r[C_SMIS], set()).add(r[C_NO])
    # every room of a grade has students (rooms are filled evenly)
    for (code, grade), used in rooms_used.items():
        assert used == set(range(1, plan_by_code[code].rooms[grade] + 1))
    # student numbers are unique within a school
    assert {k: len(v) for k, v in numbers.items()} == dict(Counter(r[C_SMIS] for r in rows))


def test_weight_and_height_plausible_or_blank() -> None:
    _, rows = _small_rows()
    blank = 0
    for r in rows:
        w, h = r[C_WEIGHT], r[C_HEIGHT]
        assert (w == "") == (h == ""), (w, h)
        if w == "":
            blank += 1
            continue
        weight, height = Decimal(w), Decimal(h)
        assert weight.as_tuple().exponent == -1 and height.as_tuple().exponent == -1
        assert WEIGHT_RANGE[0] <= weight <= WEIGHT_RANGE[1], w
        assert HEIGHT_RANGE[0] <= height <= HEIGHT_RANGE[1], h
        bmi = weight / (height / 100) ** 2
        assert 8 < bmi < 45, (w, h)
    assert 0.002 * STUDENTS <= blank <= 0.03 * STUDENTS


class _Tail:
    """A stand-in for random.Random that always draws ``z`` standard deviations out."""

    def __init__(self, z: float) -> None:
        self.z = z

    def random(self) -> float:
        return 0.5  # not blank

    def gauss(self, mu: float, sigma: float) -> float:
        return mu + self.z * sigma

    def lognormvariate(self, mu: float, sigma: float) -> float:
        return math.exp(mu + self.z * sigma)


@pytest.mark.parametrize("z", [-12.0, -6.0, 6.0, 12.0])
def test_measures_stay_plausible_in_the_far_tails(z: float) -> None:
    # 27 of the 6.63 M national rows once fell below 8 kg (short, thin 4-year-olds)
    for sex in ("M", "F"):
        for age in range(3, 21):
            weight, height = synth._measures(_Tail(z), sex, age)  # type: ignore[arg-type]
            assert weight is not None and height is not None
            assert WEIGHT_RANGE[0] <= Decimal(str(weight)) <= WEIGHT_RANGE[1], (sex, age, weight)
            assert HEIGHT_RANGE[0] <= Decimal(str(height)) <= HEIGHT_RANGE[1], (sex, age, height)


def test_measures_in_the_middle_are_the_medians() -> None:
    # z = 0: the median height and the median BMI of the age, untouched by the bounds
    weight, height = synth._measures(_Tail(0.0), "M", 10)  # type: ignore[arg-type]
    assert height == 138.0
    assert weight == round(16.7 * 1.38**2, 1)


def test_heights_grow_with_grade() -> None:
    _, rows = _small_rows()
    by_label = {e["th"]: e["code"] for e in GRADES}
    heights: dict[str, list[float]] = {}
    for r in rows:
        if r[C_HEIGHT]:
            heights.setdefault(by_label[r[C_GRADE]], []).append(float(r[C_HEIGHT]))
    medians = [statistics.median(heights[g]) for g in sorted(heights)]
    assert len(medians) >= 12
    assert medians == sorted(medians)


def test_labels_are_in_the_code_lists() -> None:
    _, rows = _small_rows()

    def labels(name: str) -> set[str]:
        return {e["th"] for e in CODES[name]}

    checks = {
        C_RELIGION: labels("religion"),
        C_RACE: labels("nationality"),
        C_NATIONALITY: labels("nationality"),
        C_G_OCC: labels("occupation"),
        C_F_OCC: labels("occupation"),
        C_M_OCC: labels("occupation"),
        C_G_REL: labels("relation"),
        C_DISADV: labels("disadvantaged"),
        C_SCOUT: labels("scout"),
        C_REDCROSS: labels("redcross"),
        C_SWIM: labels("swimming"),
        C_BLOOD: {e["code"] for e in CODES["blood"]},
    }
    for column, allowed in checks.items():
        values = {r[column] for r in rows}
        assert values <= allowed, (HEADER[column], values - allowed)
        assert "" not in values
    assert {r[C_318] for r in rows} == {NO}
    # a Thai file: mostly Buddhist and Thai
    religion = Counter(r[C_RELIGION] for r in rows)
    assert religion[CODES["religion"].label("001")] > 0.85 * STUDENTS
    for r in rows:
        assert r[C_FIRST] and r[C_LAST]
        assert all("\u0e00" <= ch <= "\u0e7f" for ch in r[C_FIRST] + r[C_LAST]), r[C_FIRST]


def test_schools_csv_matches_the_plan() -> None:
    out = io.StringIO()
    synth.write_schools_csv(out, schools=SCHOOLS, students=STUDENTS, seed=SEED)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["smis_code", "moe_code", "obec_code"]
    areas, plan_schools = _small_plan()
    assert len(rows) == SCHOOLS + 1
    area_codes = {a.code for a in areas}
    for row, s in zip(rows[1:], plan_schools, strict=True):
        assert row[:4] == [s.smis_code, s.moe_code, s.obec_code, s.name]
        assert row[4] == s.area_code and row[4] in area_codes
        assert row[-1] == " ".join(f"{g}:{n}" for g, n in sorted(s.rooms.items()))


# --- the plan (national shape) -----------------------------------------------------------------


def test_national_plan_totals() -> None:
    _, areas, schools = _national_plan()
    assert len(schools) == 29_449
    assert len(areas) == 245
    kinds = Counter(a.kind for a in areas)
    assert kinds == Counter({"primary": 183, "secondary": 62})
    assert sum(s.students for s in schools) == 6_630_000
    assert len({a.code for a in areas}) == 245
    for attr, width in (("smis_code", 8), ("moe_code", 10), ("obec_code", 6)):
        codes = [getattr(s, attr) for s in schools]
        assert len(set(codes)) == 29_449, attr
        assert all(len(c) == width and c.isdigit() for c in codes), attr
    # schools hang under areas of their own kind; every area has schools
    by_code = {a.code: a for a in areas}
    assert all(by_code[s.area_code].kind == s.kind for s in schools)
    assert all(by_code[s.area_code].province_code == s.province_code for s in schools)
    assert {s.area_code for s in schools} == set(by_code)
    assert {a.province_code for a in areas} == {e["code"] for e in PROVINCES}


def test_national_plan_shape() -> None:
    _, _, schools = _national_plan()
    sizes = [s.students for s in schools]
    mean = statistics.mean(sizes)
    median = statistics.median(sizes)
    assert mean == pytest.approx(6_630_000 / 29_449)
    assert median < 0.7 * mean  # many small schools, few large ones
    assert max(sizes) > 10 * median
    assert min(sizes) >= 1
    secondary = [s for s in schools if s.kind == "secondary"]
    assert len(secondary) == round(29_449 * synth.SECONDARY_SCHOOL_SHARE)
    assert sum(s.students for s in secondary) == round(6_630_000 * synth.SECONDARY_STUDENT_SHARE)
    # secondary schools are fewer and larger
    assert statistics.median(s.students for s in secondary) > 2 * median


def test_national_plan_rooms_d6() -> None:
    _, _, schools = _national_plan()
    for s in schools:
        assert set(s.rooms) == set(s.grades), s.smis_code
        assert sum(s.grades.values()) == s.students, s.smis_code
        assert all(g in GRADES for g in s.grades)
        for grade, n in s.grades.items():
            # D6: a grade with students has >= 1 room (at most 40 to a room); an empty one 0
            expected = max(1, math.ceil(n / 40)) if n else 0
            assert s.rooms[grade] == expected, (s.smis_code, grade, n)
    # the smallest schools leave some offered grades empty: those have no room
    assert any(0 in s.grades.values() for s in schools)


def test_plan_is_deterministic_and_seeded() -> None:
    a = synth.plan(200, 40_000, seed=7)
    assert synth.plan(200, 40_000, seed=7) == a
    b = synth.plan(200, 40_000, seed=8)
    assert [s.students for s in b[1]] != [s.students for s in a[1]]


def test_area_count_follows_the_national_ratio() -> None:
    for schools, expected in ((30, 2), (600, 5), (1_200, 10), (2_945, 25)):
        areas, _ = synth.plan(schools, schools * 200, seed=1)
        assert len(areas) == expected, schools
        kinds = Counter(a.kind for a in areas)
        assert kinds["primary"] >= 1 and kinds["secondary"] >= 1
    areas, _ = synth.plan(600, 10_000, seed=1, areas=3)
    assert Counter(a.kind for a in areas) == Counter({"primary": 2, "secondary": 1})


@settings(max_examples=25, deadline=None)
@given(
    schools=st.integers(min_value=1, max_value=12),
    students=st.integers(min_value=0, max_value=400),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_any_small_nation_has_exact_totals_and_unique_ids(
    schools: int, students: int, seed: int
) -> None:
    areas, plan_schools = synth.plan(schools, students, seed)
    assert len(plan_schools) == schools
    assert sum(s.students for s in plan_schools) == students
    assert len({s.smis_code for s in plan_schools}) == schools
    assert {s.area_code for s in plan_schools} <= {a.code for a in areas}
    for s in plan_schools:
        assert sum(s.grades.values()) == s.students
        assert all((s.rooms[g] >= 1) == (s.grades[g] > 0) for g in s.grades)  # D6
    out = io.StringIO()
    assert synth.write_csv(out, schools=schools, students=students, seed=seed, year=YEAR) == (
        students
    )
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(rows) == students + 1
    ids = [r[C_ID] for r in rows[1:]]
    assert len(set(ids)) == students
    assert all(_valid_person_id(i) for i in ids)


# --- the command -------------------------------------------------------------------------------


def _dmc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DMC_ENV": "test"}
    return subprocess.run(
        [str(DMC), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_synth_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for run in ("one", "two"):
        d = tmp_path / run
        d.mkdir()
        args = ["--schools", "5", "--students", "200", "--seed", "3"]
        args += ["--out", str(d / "a.csv"), "--schools-out", str(d / "s.csv")]
        result = _dmc("synth", *args)
        assert result.returncode == 0, result.stderr
        assert "200 rows" in result.stderr
        outputs.append(((d / "a.csv").read_bytes(), (d / "s.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    students, schools = outputs[0]
    assert students == _csv_bytes(5, 200, 3)
    assert students.decode("utf-8").count("\n") == 201
    assert schools.decode("utf-8").count("\n") == 6
    # writing to stdout gives the same bytes
    result = _dmc("synth", "--schools", "5", "--students", "200", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode("utf-8") == students


def test_cli_synth_help() -> None:
    result = _dmc("synth", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--schools", "--students", "--seed", "--year", "--out", "--schools-out"):
        assert option in result.stdout


def test_cli_lists_our_commands() -> None:
    result = _dmc("--help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"demo", "serve", "synth"} <= listed
