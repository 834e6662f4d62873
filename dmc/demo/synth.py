"""Deterministic synthetic national-shape data in DMC's 39-column format (SPEC §8).

The same (schools, students, seed, year) always gives the same bytes. Shape, from the research
(dmc-domain §17): 29,449 schools under 245 area offices (183 primary สพป., 62 secondary สพม.),
6.63 M students; small schools are many and large ones few (a log-normal spread of sizes);
secondary schools are fewer and larger. Students get grade-appropriate ages (a few repeaters),
titles consistent with sex and age, valid citizen IDs (unique by construction; some starting
with 0, a few G-codes), plausible weight and height by age and sex (about 1% left blank, as real
files have), Thai names, parents and addresses.

Everything is generated per school from ``Random(seed, school index)``, so one school's rows do
not depend on how many rows came before, and memory stays flat at any scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from dmc.core.codes import CODES, PROVINCES
from dmc.core.ids import check_digit
from dmc.exchange.format import HEADER, dmc_row
from dmc.students.rules import HEIGHT_RANGE, WEIGHT_RANGE, age_on

NATIONAL_SCHOOLS = 29_449
NATIONAL_STUDENTS = 6_630_000
NATIONAL_AREAS = 245
PRIMARY_AREA_SHARE = 183 / 245
SECONDARY_SCHOOL_SHARE = 0.08  # ~2,400 of 29,449
SECONDARY_STUDENT_SHARE = 0.35

_NAMES = json.loads((Path(__file__).parent / "data" / "names.json").read_text("utf-8"))
_PROVINCE_LIST = list(PROVINCES)

# median height (cm) by age, boys / girls; BMI median by age (approximate Thai school children)
_HEIGHT = {
    "M": [96, 103, 110, 116, 122, 128, 133, 138, 143, 149, 156, 163, 167, 169, 170, 171, 171, 171],
    "F": [95, 102, 109, 115, 121, 127, 133, 139, 145, 150, 153, 155, 156, 157, 157, 157, 157, 157],
}
_BMI = [
    15.5,
    15.4,
    15.3,
    15.3,
    15.5,
    15.8,
    16.2,
    16.7,
    17.3,
    17.9,
    18.5,
    19.0,
    19.5,
    19.9,
    20.2,
    20.5,
    20.7,
    20.8,
]


@dataclass(frozen=True)
class SynthArea:
    code: str
    name: str
    kind: str  # primary | secondary
    province_code: str


@dataclass
class SynthSchool:
    index: int
    smis_code: str
    moe_code: str
    obec_code: str
    name: str
    area_code: str
    province_code: str
    kind: str
    students: int
    grades: dict[str, int] = field(default_factory=dict)  # grade -> students
    rooms: dict[str, int] = field(default_factory=dict)  # grade -> rooms
    boarding: bool = False


@dataclass
class SynthStudent:
    person_id: str
    id_kind: str
    document_type: str
    title_code: str
    first_name: str
    last_name: str
    sex: str
    birth_date: dt.date
    grade: str
    room: int
    student_no: str
    weight_kg: float | None
    height_cm: float | None
    blood: str
    religion: str
    race: str
    nationality: str
    house_no: str
    moo: str
    street: str
    subdistrict: str
    district: str
    province: str
    guardian_first_name: str
    guardian_last_name: str
    guardian_occupation: str
    guardian_relation: str
    father_first_name: str
    father_last_name: str
    father_occupation: str
    mother_first_name: str
    mother_last_name: str
    mother_occupation: str
    disadvantaged: str
    tracked_318: bool
    scout: str
    redcross: str
    swimming: str


def nominal_age(grade: str) -> int:
    """Age at 16 May of the academic year for a student in ``grade`` who never repeated."""
    n = int(grade)
    if n <= 3:  # อ.1-3: 3-5
        return n + 2
    if n <= 15:  # ป.1 (04) = 6 ... ม.6 (15) = 17
        return n + 2
    return n - 1  # ปวช.1 (16) = 15


def reference_date(year_be: int) -> dt.date:
    """The date ages are taken at in a synthetic file: 31 March, the end of the academic year."""
    return dt.date(year_be - 543 + 1, 3, 31)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [math.floor(x) for x in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - out[i], -i), reverse=True)
    for i in order[:rest]:
        out[i] += 1
    return out


def plan(
    schools: int, students: int, seed: int, areas: int | None = None
) -> tuple[list[SynthArea], list[SynthSchool]]:
    """Areas and schools (with grades, rooms and head counts) for a nation of the given size;
    the number of areas follows the national ratio unless ``areas`` is given."""
    rng = random.Random(f"plan:{seed}")
    n_areas = areas or max(2, round(NATIONAL_AREAS * schools / NATIONAL_SCHOOLS))
    n_primary_areas = max(1, min(n_areas - 1, round(n_areas * PRIMARY_AREA_SHARE)))
    n_secondary_areas = n_areas - n_primary_areas
    area_list: list[SynthArea] = []
    per_province: dict[str, int] = {}
    for i in range(n_areas):
        secondary = i >= n_primary_areas
        prov = _PROVINCE_LIST[(i if not secondary else i - n_primary_areas) % 77]
        pc = prov["code"]
        if secondary:
            code = f"1017{i - n_primary_areas + 1:02d}"
            name = f"สำนักงานเขตพื้นที่การศึกษามัธยมศึกษา{prov['th']}"
            if i - n_primary_areas >= 77:
                name += f" {i - n_primary_areas - 76}"
        else:
            per_province[pc] = per_province.get(pc, 0) + 1
            code = f"{pc}{per_province[pc]:02d}"
            name = f"สำนักงานเขตพื้นที่การศึกษาประถมศึกษา{prov['th']} เขต {per_province[pc]}"
        area_list.append(SynthArea(code, name, "secondary" if secondary else "primary", pc))

    n_secondary = max(1, round(schools * SECONDARY_SCHOOL_SHARE)) if n_secondary_areas else 0
    n_secondary = min(n_secondary, schools - 1) if schools > 1 else 0
    kinds = ["secondary"] * n_secondary + ["primary"] * (schools - n_secondary)
    rng.shuffle(kinds)
    weights = [rng.lognormvariate(0, 0.9) for _ in range(schools)]
    sec_total = round(students * SECONDARY_STUDENT_SHARE) if n_secondary else 0
    sec_idx = [i for i, k in enumerate(kinds) if k == "secondary"]
    pri_idx = [i for i, k in enumerate(kinds) if k == "primary"]
    sizes = [0] * schools
    for idx, total in ((sec_idx, sec_total), (pri_idx, students - sec_total)):
        if idx:
            for i, n in zip(idx, _allocate(total, [weights[i] for i in idx]), strict=True):
                sizes[i] = n

    primary_areas = [a for a in area_list if a.kind == "primary"]
    secondary_areas = [a for a in area_list if a.kind == "secondary"]
    seq_in_area: dict[str, int] = {}
    result: list[SynthSchool] = []
    for i in range(schools):
        kind = kinds[i]
        pool = secondary_areas if kind == "secondary" else primary_areas
        area = pool[i % len(pool)]
        seq_in_area[area.code] = seq_in_area.get(area.code, 0) + 1
        seq = seq_in_area[area.code]
        area_digits = area.code[2:4] if kind == "primary" else f"{50 + int(area.code[4:]) % 50:02d}"
        smis = f"{area.province_code}{area_digits}{seq:04d}"
        obec = f"{i + 1:06d}"
        place = rng.choice(_NAMES["school_places"])
        if kind == "secondary":
            name = f"{place}วิทยา" if rng.random() < 0.6 else f"{place}พิทยาคม"
        else:
            name = f"{rng.choice(_NAMES['school_prefix'])}{place}"
        school = SynthSchool(
            index=i,
            smis_code=smis,
            moe_code=f"10{area.province_code}{obec}",
            obec_code=obec,
            name=name,
            area_code=area.code,
            province_code=area.province_code,
            kind=kind,
            students=sizes[i],
            boarding=kind == "secondary" and rng.random() < 0.03,
        )
        if kind == "secondary":
            offered = [f"{g:02d}" for g in range(10, 16)]
        else:
            offered = [f"{g:02d}" for g in range(4, 10)]
            if rng.random() < 0.85:
                offered = ["02", "03", *offered]
            if rng.random() < 0.25:  # ขยายโอกาส: primary school teaching ม.1-3
                offered += ["10", "11", "12"]
        grade_weights = [rng.uniform(0.8, 1.2) for _ in offered]
        for g, n in zip(offered, _allocate(school.students, grade_weights), strict=True):
            school.grades[g] = n
            school.rooms[g] = max(1, math.ceil(n / 40)) if n else 0
        result.append(school)
    return area_list, result


def _person_id(rng: random.Random, national_index: int, province_code: str) -> tuple[str, str, str]:
    """(id, kind, document type). Unique by construction: the 7-digit body is a bijection of the
    national index (mod 10^7), so no two students share an ID at up to 10 M students."""
    body = (national_index * 7_919 + 1_234_567) % 10_000_000
    r = rng.random()
    if r < 0.003:
        return f"G64{province_code}{body:08d}", "gcode", "O"
    first = "0" if r < 0.018 else ("2" if r < 0.03 else "1")
    head = f"{first}{province_code}{rng.randrange(1, 100):02d}{body:07d}"
    return head + str(check_digit(head)), "citizen", "I" if first != "0" else "A"


def _birth_date(rng: random.Random, age_at_may16: int, year_be: int) -> dt.date:
    start_ce = year_be - 543
    latest = dt.date(start_ce - age_at_may16, 5, 16)
    return latest - dt.timedelta(days=rng.randrange(0, 365))


def _measures(rng: random.Random, sex: str, age: int) -> tuple[float | None, float | None]:
    if rng.random() < 0.01:
        return None, None
    a = min(max(age, 3), 20) - 3
    height = _clamp(rng.gauss(_HEIGHT[sex][a], 5.5), HEIGHT_RANGE)
    bmi = _BMI[a] * rng.lognormvariate(0, 0.14)
    # the far tails (short and thin 4-year-olds: 27 of 6.63 M rows) would fail the importer's
    # plausibility check, so values are kept inside the rules' ranges
    weight = _clamp(bmi * (height / 100) ** 2, WEIGHT_RANGE)
    return round(weight, 1), round(height, 1)


def _clamp(value: float, bounds: tuple[Decimal, Decimal]) -> float:
    return min(max(value, float(bounds[0])), float(bounds[1]))


def students_of(
    school: SynthSchool, *, seed: int, year: int, first_index: int
) -> Iterator[SynthStudent]:
    """The students of one school; ``first_index`` is the national index of its first student."""
    rng = random.Random(f"school:{seed}:{school.index}")
    names = _NAMES
    ref = reference_date(year)
    province = PROVINCES.label(school.province_code)
    occupations = [e["code"] for e in CODES["occupation"]]
    index = first_index
    number = 10_001
    for grade in sorted(school.grades):
        count = school.grades[grade]
        rooms = school.rooms[grade]
        for k in range(count):
            sex = "M" if rng.random() < 0.51 else "F"
            age = nominal_age(grade) + (1 if rng.random() < 0.04 else 0)
            birth = _birth_date(rng, age, year)
            age_ref = age_on(birth, ref)
            child = age_ref < 15
            if sex == "M":
                title = (
                    "832" if (not child and rng.random() < 0.002) else ("001" if child else "003")
                )
                first = rng.choice(names["male"])
            else:
                title = "002" if child else "004"
                first = rng.choice(names["female"])
            if rng.random() < 0.5:
                last = rng.choice(names["surnames"])
            else:
                p1, p2 = names["surname_parts"]
                last = rng.choice(p1) + rng.choice(p2)
            person_id, kind, doc = _person_id(rng, index, school.province_code)
            weight, height = _measures(rng, sex, age)
            south = school.province_code in ("94", "95", "96")
            r = rng.random()
            religion = (
                ("002" if r < 0.8 else "001")
                if south
                else ("001" if r < 0.94 else ("002" if r < 0.985 else "003"))
            )
            foreign = person_id[0] in "0G"
            nationality = rng.choice(["048", "056", "057"]) if foreign else "099"
            father = rng.choice(names["male"])
            mother = rng.choice(names["female"])
            guardian_rel = rng.choices(["01", "02", "07", "08", "11"], [40, 45, 5, 7, 3])[0]
            g_first = {"01": father, "02": mother}.get(
                guardian_rel,
                rng.choice(names["male"] if guardian_rel in ("07",) else names["female"]),
            )
            father_occ = rng.choice(occupations)
            mother_occ = rng.choice(occupations)
            yield SynthStudent(
                person_id=person_id,
                id_kind=kind,
                document_type=doc,
                title_code=title,
                first_name=first,
                last_name=last,
                sex=sex,
                birth_date=birth,
                grade=grade,
                room=1 + k * rooms // count,
                student_no=str(number),
                weight_kg=weight,
                height_cm=height,
                blood=rng.choices(["A", "B", "O", "AB", "N"], [22, 33, 37, 7, 1])[0],
                religion=religion,
                race=nationality,
                nationality=nationality,
                house_no=f"{rng.randrange(1, 400)}",
                moo=str(rng.randrange(1, 16)),
                street="-",
                subdistrict=rng.choice(names["subdistricts"]),
                district=rng.choice(names["districts"]),
                province=province,
                guardian_first_name=g_first,
                guardian_last_name=last,
                guardian_occupation={"01": father_occ, "02": mother_occ}.get(
                    guardian_rel, rng.choice(occupations)
                ),
                guardian_relation=guardian_rel,
                father_first_name=father,
                father_last_name=last,
                father_occupation=father_occ,
                mother_first_name=mother,
                mother_last_name=last,
                mother_occupation=mother_occ,
                disadvantaged="09" if rng.random() < 0.5 else "00",
                tracked_318=False,
                scout="1" if int(grade) >= 4 and rng.random() < 0.6 else "4",
                redcross="1" if int(grade) >= 4 and rng.random() < 0.2 else "2",
                swimming="1" if rng.random() < 0.55 else "2",
            )
            index += 1
            number += 1


def iter_all(
    schools: list[SynthSchool], *, seed: int, year: int
) -> Iterator[tuple[SynthSchool, SynthStudent]]:
    first = 0
    for school in schools:
        for student in students_of(school, seed=seed, year=year, first_index=first):
            yield school, student
        first += school.students


def to_row(school: SynthSchool, s: SynthStudent, *, year: int) -> list[str]:
    """One line of the 39-column file, with DMC's labels (ม.2, ช/ญ, dd/mm/BBBB): the same
    rendering as the export of real data (``exchange.format.dmc_row``)."""
    return dmc_row(school, s, s, age_at=reference_date(year))


def write_csv(
    out: IO[str], *, schools: int, students: int, seed: int, year: int, progress: bool = False
) -> int:
    """Write the header and every student; returns the number of rows."""
    _, plan_schools = plan(schools, students, seed)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    rows = 0
    for school, student in iter_all(plan_schools, seed=seed, year=year):
        writer.writerow(to_row(school, student, year=year))
        rows += 1
    return rows


def write_schools_csv(out: IO[str], *, schools: int, students: int, seed: int) -> None:
    """The companion list of areas and schools (codes, names, grades and rooms)."""
    areas, plan_schools = plan(schools, students, seed)
    by_code = {a.code: a for a in areas}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "smis_code",
            "moe_code",
            "obec_code",
            "name",
            "area_code",
            "area_name",
            "area_kind",
            "province_code",
            "boarding",
            "rooms_by_grade",
        ]
    )
    for s in plan_schools:
        a = by_code[s.area_code]
        writer.writerow(
            [
                s.smis_code,
                s.moe_code,
                s.obec_code,
                s.name,
                a.code,
                a.name,
                a.kind,
                s.province_code,
                int(s.boarding),
                " ".join(f"{g}:{r}" for g, r in sorted(s.rooms.items())),
            ]
        )
