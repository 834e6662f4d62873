"""Load the demo: a small slice of the synthetic nation, academic year 2564 with its three
rounds (the end-of-year round set as in the seed letter), demo accounts for every role, and a
server clock standing at 20 April 2565 10:00 (Bangkok) so entry is open and the confirm day is
ten days away. Run by ``dmc demo``; refuses to run with a clock that cannot be set (production).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction

from dmc.accounts import services as account_services
from dmc.accounts.actor import Actor
from dmc.accounts.models import Role, RoleAssignment, User
from dmc.core import audit, clock
from dmc.core.clock import bangkok
from dmc.core.codes import TERMINAL_GRADES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import collation_key
from dmc.demo import synth
from dmc.rounds import services as round_services
from dmc.rounds import stats
from dmc.rounds.models import AcademicYear
from dmc.schools.models import AreaOffice, School, SchoolGrade
from dmc.students.models import Enrolment, Person

DEMO_YEAR = 2564
DEMO_PASSWORD = "demo-2564-pass"  # noqa: S105 - the public demo password, printed by dmc demo
DEMO_SEED = 2564
DEMO_CLOCK = bangkok(2022, 4, 20, 10, 0)  # 20 เม.ย. 2565 10:00


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    scope: str


def setup_calendar(year: int = DEMO_YEAR) -> AcademicYear:
    """Academic year ``year`` (BE) with rounds 1 and 2 closed and round 3 as in the seed letter:
    entry from the start of the round, end-of-year menus from 1 March, ID corrections and the
    confirm button on 30 April 08:00-16:30, area acknowledgement the next day."""
    ce = year - 543
    ay = round_services.academic_year_get_or_create(
        actor=None,
        year=year,
        starts_on=dt.date(ce, 5, 16),
        ends_on=dt.date(ce + 1, 3, 31),
        final_exam_on=dt.date(ce + 1, 2, 21),  # semester 2 final exams begin
    )
    if ay.rounds.exists():
        return ay
    round_services.round_create(
        actor=None,
        academic_year=ay,
        number=1,
        as_of_date=dt.date(ce, 6, 10),
        entry_opens_at=bangkok(ce, 5, 16, 8, 0),
        entry_closes_at=bangkok(ce, 6, 10, 16, 30),
        id_correction_deadline=bangkok(ce, 6, 10, 16, 30),
        confirm_opens_at=bangkok(ce, 6, 10, 8, 30),
        confirm_closes_at=bangkok(ce, 6, 10, 16, 30),
        self_cancel_deadline=bangkok(ce, 6, 10, 16, 30),
        area_ack_closes_at=bangkok(ce, 6, 11, 23, 59),
        closed_at=bangkok(ce, 6, 12, 0, 0),
    )
    round_services.round_create(
        actor=None,
        academic_year=ay,
        number=2,
        as_of_date=dt.date(ce, 11, 10),
        entry_opens_at=bangkok(ce, 7, 1, 8, 0),
        entry_closes_at=bangkok(ce, 11, 10, 16, 30),
        id_correction_deadline=bangkok(ce, 11, 10, 16, 30),
        confirm_opens_at=bangkok(ce, 11, 10, 8, 30),
        confirm_closes_at=bangkok(ce, 11, 10, 16, 30),
        self_cancel_deadline=bangkok(ce, 11, 10, 16, 30),
        area_ack_closes_at=bangkok(ce, 11, 11, 23, 59),
        closed_at=bangkok(ce, 11, 12, 0, 0),
    )
    year_end_menus = (bangkok(ce + 1, 3, 1, 0, 0), bangkok(ce + 1, 4, 30, 16, 30))
    round_services.round_create(
        actor=None,
        academic_year=ay,
        number=3,
        as_of_date=dt.date(ce + 1, 3, 31),
        entry_opens_at=bangkok(ce, 11, 15, 8, 0),
        entry_closes_at=bangkok(ce + 1, 4, 30, 16, 30),
        id_correction_deadline=bangkok(ce + 1, 4, 30, 16, 30),
        confirm_opens_at=bangkok(ce + 1, 4, 30, 8, 0),
        confirm_closes_at=bangkok(ce + 1, 4, 30, 16, 30),
        self_cancel_deadline=bangkok(ce + 1, 4, 30, 16, 30),
        area_ack_closes_at=bangkok(ce + 1, 5, 1, 23, 59),
        menus={
            "3.1.8": year_end_menus,
            "3.2.2": year_end_menus,
            "3.2.2.1": year_end_menus,
            "3.2.2.2": year_end_menus,
        },
    )
    return ay


def load_structure(
    plan_areas: list[synth.SynthArea], plan_schools: list[synth.SynthSchool], year: int
) -> dict[str, School]:
    areas = {
        a.code: AreaOffice.objects.create(
            code=a.code, name=a.name, kind=a.kind, province_code=a.province_code
        )
        for a in plan_areas
    }
    schools: dict[str, School] = {}
    for s in plan_schools:
        school = School.objects.create(
            smis_code=s.smis_code,
            moe_code=s.moe_code,
            obec_code=s.obec_code,
            name=f"โรงเรียน{s.name}",
            area=areas[s.area_code],
            province_code=s.province_code,
            boarding=s.boarding,
        )
        SchoolGrade.objects.bulk_create(
            SchoolGrade(school=school, academic_year=year, grade=g, rooms=r)
            for g, r in s.rooms.items()
        )
        schools[s.smis_code] = school
    return schools


def demo_year_end(student_no: str, grade: str) -> dict[str, object]:
    """A plausible year-end result (L8) for a demo student: about 1 in 25 repeats with the
    evaluations not passed, graduates of terminal grades have a destination. The second demo
    school (school2) is left with its results pending to try the year-end menus on."""
    h = int(hashlib.sha256(student_no.encode()).hexdigest()[:8], 16)
    if h % 25 == 0:
        return {
            "year_result": "fail",
            "years_studied": 2,
            "failed_evaluations": "1" if h % 2 else "1,2",
            "sat_exam": True,
        }
    destination = ""
    if grade in TERMINAL_GRADES:
        destination = ("11", "12", "13", "14", "21")[h % 5]
    return {
        "year_result": "pass",
        "years_studied": 1,
        "destination": destination,
        "sat_exam": True,
    }


def load_students(
    plan_schools: list[synth.SynthSchool], schools: dict[str, School], *, seed: int, year: int
) -> int:
    """Bulk-load the synthetic students (system action; one audit event per school)."""
    total = 0
    first = 0
    for index, s in enumerate(plan_schools):
        people: list[Person] = []
        rows: list[synth.SynthStudent] = list(
            synth.students_of(s, seed=seed, year=year, first_index=first)
        )
        first += s.students
        for st in rows:
            p = Person(
                person_id=st.person_id,
                id_kind=st.id_kind,
                document_type=st.document_type,
                title_code=st.title_code,
                first_name=st.first_name,
                last_name=st.last_name,
                name_key=collation_key(f"{st.first_name} {st.last_name}"),
                sex=st.sex,
                birth_date=st.birth_date,
                blood=st.blood,
                religion=st.religion,
                race=st.race,
                nationality=st.nationality,
                house_no=st.house_no,
                moo=st.moo,
                street=st.street,
                subdistrict=st.subdistrict,
                district=st.district,
                province=st.province,
                guardian_first_name=st.guardian_first_name,
                guardian_last_name=st.guardian_last_name,
                guardian_occupation=st.guardian_occupation,
                guardian_relation=st.guardian_relation,
                father_first_name=st.father_first_name,
                father_last_name=st.father_last_name,
                father_occupation=st.father_occupation,
                mother_first_name=st.mother_first_name,
                mother_last_name=st.mother_last_name,
                mother_occupation=st.mother_occupation,
                disadvantaged=st.disadvantaged,
                scout=st.scout,
                redcross=st.redcross,
                swimming=st.swimming,
            )
            people.append(p)
        Person.objects.bulk_create(people, batch_size=500)
        ids = dict(
            Person.objects.filter(person_id__in=[p.person_id for p in people]).values_list(
                "person_id", "pk"
            )
        )
        school = schools[s.smis_code]
        Enrolment.objects.bulk_create(
            (
                Enrolment(
                    person_id=ids[st.person_id],
                    school=school,
                    academic_year=year,
                    student_no=st.student_no,
                    grade=st.grade,
                    room=st.room,
                    weight_kg=None if st.weight_kg is None else Decimal(str(st.weight_kg)),
                    height_cm=None if st.height_cm is None else Decimal(str(st.height_cm)),
                    admitted_on=dt.date(year - 543, 5, 16),
                    **(demo_year_end(st.student_no, st.grade) if index != 1 else {}),
                )
                for st in rows
            ),
            batch_size=500,
        )
        stats.rebuild(school, year)
        audit.record(
            actor=None,
            action="demo.load_school",
            target=school,
            after={"students": len(rows), "academic_year": year},
            school_id=school.pk,
            area_id=school.area_id,
        )
        total += len(rows)
    return total


def _make_user(username: str, first: str, last: str, password_hash: str) -> User:
    return User.objects.create(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@demo.invalid",
        password=password_hash,
    )


def create_accounts(schools: dict[str, School], areas: list[AreaOffice]) -> list[DemoAccount]:
    out: list[DemoAccount] = []
    grant = account_services.assignment_create_approved
    hashed = make_password(DEMO_PASSWORD)  # one (slow) hash shared by the demo accounts

    def _user(username: str, first: str, last: str) -> User:
        return _make_user(username, first, last, hashed)

    admin = _user("obec.admin", "ผู้ดูแลระบบ", "สพฐ.")
    grant(actor=None, user=admin, role=Role.OBEC_ADMIN)
    out.append(DemoAccount("obec.admin", Role.OBEC_ADMIN, "สพฐ."))
    for i, area in enumerate(areas, start=1):
        u = _user(f"area{i}", "เจ้าหน้าที่", f"เขต {area.code}")
        grant(actor=None, user=u, role=Role.AREA_OFFICER, area=area)
        out.append(DemoAccount(u.username, Role.AREA_OFFICER, area.name))
    for i, school in enumerate(schools.values(), start=1):
        officer = _user(f"school{i}", "ครูข้อมูล", f"โรงเรียนที่ {i}")
        grant(actor=None, user=officer, role=Role.SCHOOL_OFFICER, school=school)
        director = _user(f"director{i}", "ผู้อำนวยการ", f"โรงเรียนที่ {i}")
        grant(actor=None, user=director, role=Role.SCHOOL_DIRECTOR, school=school)
        out.append(DemoAccount(officer.username, Role.SCHOOL_OFFICER, school.name))
        out.append(DemoAccount(director.username, Role.SCHOOL_DIRECTOR, school.name))
    # one person holding two roles (officer of schools 1 and 2) to show the role picker
    first_schools = list(schools.values())[:2]
    multi = _user("multi.role", "ครูหลาย", "บทบาท")
    for school in first_schools:
        grant(actor=None, user=multi, role=Role.SCHOOL_OFFICER, school=school)
    out.append(
        DemoAccount("multi.role", Role.SCHOOL_OFFICER, " + ".join(s.name for s in first_schools))
    )
    # one registration waiting for the area's approval
    account_services.user_register(
        username="pending.teacher",
        password=DEMO_PASSWORD,  # the printed password, so logging in shows "awaiting approval"
        first_name="ครูใหม่",
        last_name="รออนุมัติ",
        email="pending@demo.invalid",
        role=Role.SCHOOL_OFFICER,
        school=next(iter(schools.values())),
    )
    return out


def demo_loaded() -> bool:
    return AcademicYear.objects.filter(year=DEMO_YEAR).exists() and Enrolment.objects.exists()


def accounts() -> list[DemoAccount]:
    """The approved accounts as ``create_accounts`` lists them: one entry per user and role, the
    scopes of a role held at several schools (multi.role) joined with " + "."""
    scopes: dict[tuple[str, str], list[str]] = {}
    for a in (
        RoleAssignment.objects.filter(status=RoleAssignment.Status.APPROVED)
        .select_related("user", "school", "area")
        .order_by("id")
    ):
        scope = a.school.name if a.school else (a.area.name if a.area else "สพฐ.")
        scopes.setdefault((a.user.username, a.role), []).append(scope)
    return [DemoAccount(user, role, " + ".join(s)) for (user, role), s in scopes.items()]


@transaction.atomic
def load_demo(
    *,
    schools: int = 20,
    students: int = 6000,
    areas: int = 3,
    seed: int = DEMO_SEED,
    year: int = DEMO_YEAR,
    set_clock: bool = True,
) -> tuple[int, list[DemoAccount]]:
    """Load everything (in one transaction). Returns (students loaded, accounts)."""
    if not clock.settable():
        raise DmcError(ErrorCode.CLOCK_LOCKED, http_status=403)
    plan_areas, plan_schools = synth.plan(schools, students, seed, areas=areas)
    # the demo shows three areas: keep the areas that received schools
    used = {s.area_code for s in plan_schools}
    plan_areas = [a for a in plan_areas if a.code in used]
    setup_calendar(year)
    school_map = load_structure(plan_areas, plan_schools, year)
    total = load_students(plan_schools, school_map, seed=seed, year=year)
    account_list = create_accounts(
        school_map, list(AreaOffice.objects.filter(code__in=used).order_by("code"))
    )
    with clock.frozen(DEMO_CLOCK):
        open_sample_cases(list(school_map.values()))
    if set_clock:
        transaction.on_commit(lambda: clock.set_clock(DEMO_CLOCK))
    return total, account_list


def _officer(school: School) -> Actor:
    assignment = RoleAssignment.objects.select_related("user", "school").get(
        school=school, role=Role.SCHOOL_OFFICER, user__username__startswith="school"
    )
    return Actor.from_assignment(assignment)


def open_sample_cases(schools: list[School]) -> None:
    """A few cases waiting in the queues so a visitor sees them: a duplicate claim across two
    areas, a dropout consultation and an ID-correction request."""
    from dmc.cases import services as cases
    from dmc.students import movements

    holder_school = schools[0]
    others = [s for s in schools if s.pk != holder_school.pk]
    claimant = next(
        (
            s
            for s in others
            if s.area_id != holder_school.area_id and s.area.kind == holder_school.area.kind
        ),
        others[0] if others else None,
    )
    if claimant is None:
        return
    offered = set(
        SchoolGrade.objects.filter(
            school=claimant, academic_year=DEMO_YEAR, rooms__gt=0
        ).values_list("grade", flat=True)
    )
    held = (
        Enrolment.objects.filter(school=holder_school, status="active", grade__in=offered)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    if held is not None:
        movements.transfer_in(
            actor=_officer(claimant),
            school=claimant,
            year=DEMO_YEAR,
            person_id=held.person.person_id,
            grade=held.grade,
            room=1,
            student_no="D0001",
            sat_exam_here=True,
        )
    second = schools[1]
    students = list(Enrolment.objects.filter(school=second, status="active").order_by("pk")[:2])
    if len(students) == 2:
        cases.dropout_open(
            actor=_officer(second),
            enrolment_id=students[0].pk,
            reason="08",
            left_on=dt.date(DEMO_YEAR - 543 + 1, 1, 15),
            note="นักเรียนออกไปช่วยครอบครัวทำงาน ผู้ปกครองแจ้งแล้ว",
        )
        head = students[1].person.person_id
        fixed = head[:11] + str((int(head[11]) + 1) % 10)
        from dmc.core.ids import check_digit

        cases.id_correction_open(
            actor=_officer(second),
            enrolment_id=students[1].pk,
            new_id=fixed + str(check_digit(fixed)),
            reason="เลขในทะเบียนบ้านไม่ตรงกับที่บันทึกไว้",
        )
