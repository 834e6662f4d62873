"""B3 deadline day: the national dataset (run once into a seed database, then copied per phase).

29,449 schools in 245 areas (the synthetic nation's plan), academic year 2564 with its three
rounds, a few students per school (confirm reads the maintained per-school stats; the snapshot
copies the school's rows, so fewer rows make confirm cheaper than at national size: stated in
docs/benchmarks.md), and per-school accounts: a school officer and a director per school with one
API token each and a pre-made database session each, and one area officer per area with a
session. Nobody logs in during the run: the sessions are written directly (what ``login()`` would
have stored). Officers have an unusable password; directors share one real password (one hash with
the production hasher), because every certify sends it for the step-up check. Every student has a
year result (round 3 is the end of the year, L8); the build stops if the clean-up of blocking
students leaves fewer than 90 % of them.

Usage: DATABASE_URL=postgres://…/dmc_deadline_seed python bench/deadline/dataset.py OUT.json
       [--schools 29449] [--students-per-school 8] [--areas 245]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DMC_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from dmc.accounts.models import ApiToken, Role, RoleAssignment, User  # noqa: E402
from dmc.core import clock  # noqa: E402
from dmc.core.codes import TERMINAL_GRADES  # noqa: E402
from dmc.demo import loader, synth  # noqa: E402
from dmc.rounds import stats  # noqa: E402
from dmc.rounds.models import Round, SchoolYearStats  # noqa: E402
from dmc.schools.models import AreaOffice, School, SchoolGrade  # noqa: E402
from dmc.students.models import Enrolment, Person  # noqa: E402

YEAR = loader.DEMO_YEAR
# 30 April 2565 09:00 Bangkok: round 3's confirm window (08:00-16:30) is open
CONFIRM_DAY = clock.bangkok(2022, 4, 30, 9, 0)
UNUSABLE = "!bench-no-password"
# certify needs the director's password with every API call (issue 9 step-up): directors get a
# real password, hashed once with the production hasher (Argon2id) and shared, so every certify in
# the run pays the real check_password while the dataset build pays one hash
DIRECTOR_PASSWORD = "bench-director-2565"  # noqa: S105
BACKEND = "dmc.accounts.backends.PreloadingBackend"


PERSON_FIELDS = (
    "person_id",
    "id_kind",
    "document_type",
    "title_code",
    "first_name",
    "last_name",
    "sex",
    "birth_date",
    "blood",
    "religion",
    "race",
    "nationality",
    "house_no",
    "moo",
    "street",
    "subdistrict",
    "district",
    "province",
    "guardian_first_name",
    "guardian_last_name",
    "guardian_occupation",
    "guardian_relation",
    "father_first_name",
    "father_last_name",
    "father_occupation",
    "mother_first_name",
    "mother_last_name",
    "mother_occupation",
    "disadvantaged",
    "scout",
    "redcross",
    "swimming",
)


def log(msg: str) -> None:
    print(f"[dataset {time.strftime('%H:%M:%S')}] {msg}", flush=True)  # noqa: T201


def structure(
    n_schools: int, per_school: int, n_areas: int = 245
) -> tuple[list[synth.SynthSchool], dict[str, School]]:
    areas, plan = synth.plan(n_schools, n_schools * per_school, seed=2564, areas=n_areas)
    area_objs = AreaOffice.objects.bulk_create(
        AreaOffice(code=a.code, name=a.name, kind=a.kind, province_code=a.province_code)
        for a in areas
    )
    by_code = {a.code: a for a in area_objs}
    school_objs = School.objects.bulk_create(
        (
            School(
                smis_code=s.smis_code,
                moe_code=s.moe_code,
                obec_code=s.obec_code,
                name=f"โรงเรียน{s.name}",
                area=by_code[s.area_code],
                province_code=s.province_code,
                boarding=s.boarding,
            )
            for s in plan
        ),
        batch_size=2000,
    )
    schools = {s.smis_code: s for s in school_objs}
    SchoolGrade.objects.bulk_create(
        (
            SchoolGrade(school=schools[s.smis_code], academic_year=YEAR, grade=g, rooms=r)
            for s in plan
            for g, r in s.rooms.items()
        ),
        batch_size=5000,
    )
    return plan, schools


def students(plan: list[synth.SynthSchool], schools: dict[str, School]) -> int:
    """People and enrolments in bulk (no per-school stats here: ``all_stats`` does them)."""
    first = 0
    total = 0
    people: list[Person] = []
    rows: list[tuple[School, synth.SynthStudent]] = []

    def flush() -> None:
        Person.objects.bulk_create(people, batch_size=2000)
        ids = dict(
            Person.objects.filter(person_id__in=[p.person_id for p in people]).values_list(
                "person_id", "pk"
            )
        )
        Enrolment.objects.bulk_create(
            (
                Enrolment(
                    person_id=ids[st.person_id],
                    school=school,
                    academic_year=YEAR,
                    student_no=st.student_no,
                    grade=st.grade,
                    room=st.room,
                    weight_kg=None if st.weight_kg is None else str(st.weight_kg),
                    height_cm=None if st.height_cm is None else str(st.height_cm),
                    admitted_on=dt.date(YEAR - 543, 5, 16),
                    # round 3 is the end of the year: every student needs a result first (L8),
                    # as schools enter them before confirming; leavers of a last grade go on
                    year_result="pass",
                    years_studied=1,
                    destination="12" if st.grade in TERMINAL_GRADES else "",
                )
                for school, st in rows
            ),
            batch_size=2000,
        )
        people.clear()
        rows.clear()

    from dmc.core.thai import collation_key

    for s in plan:
        for st in synth.students_of(s, seed=2564, year=YEAR, first_index=first):
            fields = {f: getattr(st, f) for f in PERSON_FIELDS}
            people.append(
                Person(**fields, name_key=collation_key(f"{st.first_name} {st.last_name}"))
            )
            rows.append((schools[s.smis_code], st))
        first += s.students
        total += s.students
        if len(people) >= 20000:
            flush()
    if people:
        flush()
    return total


def all_stats(schools: dict[str, School]) -> int:
    """Every school's maintained stats (the same ``stats.rebuild`` the app uses); then any school
    with a blocking item loses the offending students, so every school can confirm."""
    with clock.frozen(CONFIRM_DAY):
        for school in schools.values():
            stats.rebuild(school, YEAR)
        blocked = 0
        for s in SchoolYearStats.objects.filter(academic_year=YEAR).select_related("school"):
            if stats.blocking_count(s.checks) == 0:
                continue
            blocked += 1
            bad = [
                e.pk
                for e in Enrolment.objects.filter(school=s.school, academic_year=YEAR)
                if any(stats._blocks(t) for t in stats.parse_tokens(e.checks))
            ]
            Enrolment.objects.filter(pk__in=bad).delete()
            stats.rebuild(s.school, YEAR)
        # D6: a grade left without students keeps no rooms
        from dmc.rounds import checks

        for s in SchoolYearStats.objects.filter(academic_year=YEAR):
            rooms = dict(
                SchoolGrade.objects.filter(school_id=s.school_id, academic_year=YEAR).values_list(
                    "grade", "rooms"
                )
            )
            by_grade = stats.students_by_grade(s.totals)
            for grade, n, _r in checks.rooms_problems(by_grade, rooms):
                SchoolGrade.objects.filter(
                    school_id=s.school_id, academic_year=YEAR, grade=grade
                ).update(rooms=0 if n == 0 else 1)
    return blocked


def accounts(schools: dict[str, School]) -> dict[str, object]:
    now = clock.now()
    areas = list(AreaOffice.objects.order_by("code"))
    school_list = sorted(schools.values(), key=lambda s: s.smis_code)
    director_hash = make_password(DIRECTOR_PASSWORD)
    users = [User(username=f"area.{a.code}", password=UNUSABLE) for a in areas]
    for s in school_list:
        users.append(User(username=f"off.{s.smis_code}", password=UNUSABLE))
        users.append(User(username=f"dir.{s.smis_code}", password=director_hash))
    users = User.objects.bulk_create(users, batch_size=5000)
    by_name = {u.username: u for u in users}
    assignments = [
        RoleAssignment(
            user=by_name[f"area.{a.code}"],
            role=Role.AREA_OFFICER,
            area=a,
            status=RoleAssignment.Status.APPROVED,
            requested_at=now,
            decided_at=now,
        )
        for a in areas
    ]
    for s in school_list:
        for prefix, role in (("off", Role.SCHOOL_OFFICER), ("dir", Role.SCHOOL_DIRECTOR)):
            assignments.append(
                RoleAssignment(
                    user=by_name[f"{prefix}.{s.smis_code}"],
                    role=role,
                    school=s,
                    status=RoleAssignment.Status.APPROVED,
                    requested_at=now,
                    decided_at=now,
                )
            )
    assignments = RoleAssignment.objects.bulk_create(assignments, batch_size=5000)
    tokens: list[ApiToken] = []
    sessions: list[Session] = []
    secrets_by: dict[int, str] = {}
    keys_by: dict[int, str] = {}
    expire = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    store = SessionStore()
    for a in assignments:
        secret = "dmc_" + secrets.token_urlsafe(32)
        secrets_by[a.pk] = secret
        tokens.append(
            ApiToken(
                assignment=a,
                name="bench",
                prefix=secret[:12],
                key_hash=hashlib.sha256(secret.encode()).hexdigest(),
                created_at=now,
            )
        )
        key = secrets.token_hex(16)
        keys_by[a.pk] = key
        data = {
            "_auth_user_id": str(a.user.pk),
            "_auth_user_backend": BACKEND,
            "_auth_user_hash": a.user.get_session_auth_hash(),
            "dmc_assignment_id": a.pk,
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expire)
        )
    ApiToken.objects.bulk_create(tokens, batch_size=5000)
    Session.objects.bulk_create(sessions, batch_size=5000)
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    out_schools = []
    by_assignment = {(a.school_id, a.role): a.pk for a in assignments if a.school_id}
    for s in school_list:
        off = by_assignment[(s.pk, Role.SCHOOL_OFFICER)]
        dire = by_assignment[(s.pk, Role.SCHOOL_DIRECTOR)]
        out_schools.append(
            {
                "code": s.smis_code,
                "id": s.pk,
                "area": s.area_id,
                "officer_token": secrets_by[off],
                "director_token": secrets_by[dire],
                "officer_session": keys_by[off],
            }
        )
    out_areas = [
        {"id": a.area_id, "code": a.area.code, "session": keys_by[a.pk]}
        for a in assignments
        if a.area_id
    ]
    return {
        "round_id": r3.pk,
        "year": YEAR,
        "schools": out_schools,
        "areas": out_areas,
        "director_password": DIRECTOR_PASSWORD,
    }


def director_passwords(out: Path) -> None:
    """Give the directors of an existing seed their password, hashed with the current hasher."""
    User.objects.filter(username__startswith="dir.").update(
        password=make_password(DIRECTOR_PASSWORD)
    )
    creds = json.loads(out.read_text())
    creds["director_password"] = DIRECTOR_PASSWORD
    out.write_text(json.dumps(creds))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--schools", type=int, default=29449)
    ap.add_argument("--students-per-school", type=int, default=8)
    # fewer schools with proportionally fewer areas keep a national area's ~120 schools (profiling)
    ap.add_argument("--areas", type=int, default=245)
    ap.add_argument("--director-passwords-only", action="store_true")
    args = ap.parse_args()
    if args.director_passwords_only:
        director_passwords(Path(args.out))
        return
    t0 = time.time()
    with transaction.atomic():
        loader.setup_calendar(YEAR)
        plan, schools = structure(args.schools, args.students_per_school, args.areas)
    log(f"{len(schools)} schools in {time.time() - t0:.0f}s")
    with transaction.atomic():
        n = students(plan, schools)
    log(f"{n} students in {time.time() - t0:.0f}s")
    with transaction.atomic():
        blocked = all_stats(schools)
    log(f"stats rebuilt ({blocked} schools cleaned) in {time.time() - t0:.0f}s")
    kept = Enrolment.objects.count()
    if kept < 0.9 * n:
        # a rule every synthetic student breaks would empty the schools and make every read of
        # the benchmark cheap and meaningless (it happened once: L8's year results)
        raise SystemExit(f"only {kept} of {n} students survived the clean-up: fix the dataset")
    with transaction.atomic():
        creds = accounts(schools)
    creds["students"] = kept
    log(f"accounts, tokens, sessions in {time.time() - t0:.0f}s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE") if not connection.in_atomic_block else None
    Path(args.out).write_text(json.dumps(creds))
    log(f"done in {time.time() - t0:.0f}s; credentials in {args.out}")


if __name__ == "__main__":
    main()
