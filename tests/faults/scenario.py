"""Seeding and invariant checks for the fault tests, run in a subprocess against the database
DATABASE_URL names (a private PostgreSQL cluster, or a SQLite file):

    python -m tests.faults.scenario seed-confirm N OUT.json   # N ready schools + officer tokens
    python -m tests.faults.scenario seed-import ROWS FILE.csv # school 10010001 + its file
    python -m tests.faults.scenario check                     # invariants as one JSON object

``check`` prints: confirmed schools, round.confirm audit events per school, snapshots per school,
D1 violations (a person active twice in one year), schools whose SchoolYearStats differ from a
rebuild from the enrolments, enrolment/person counts and import audit events.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from dmc.accounts.actor import Actor  # noqa: E402
from dmc.accounts.models import Role, RoleAssignment, User  # noqa: E402
from dmc.accounts.services import assignment_create_approved, token_create  # noqa: E402
from dmc.core import clock  # noqa: E402
from dmc.core.ids import check_digit  # noqa: E402
from dmc.core.models import AuditEvent  # noqa: E402
from dmc.demo.loader import setup_calendar  # noqa: E402
from dmc.rounds import stats  # noqa: E402
from dmc.rounds.models import Round, SchoolRound, SchoolYearStats, Snapshot  # noqa: E402
from dmc.schools.models import AreaOffice, School, SchoolGrade  # noqa: E402
from dmc.students import services as student_services  # noqa: E402
from dmc.students.models import Enrolment, Person  # noqa: E402
from tests.conftest import set_year_result  # noqa: E402

YEAR = 2564
IN_ENTRY = clock.bangkok(2022, 4, 20, 10, 0)
IN_CONFIRM = clock.bangkok(2022, 4, 30, 10, 0)


def _pid(n: int) -> str:
    head = f"1{n:011d}"
    return head + str(check_digit(head))


def _officer(school: School, n: int) -> Actor:
    user = User(username=f"officer{n}", first_name="ทดสอบ", last_name=str(n))
    user.set_unusable_password()
    user.save()
    a = assignment_create_approved(actor=None, user=user, role=Role.SCHOOL_OFFICER, school=school)
    return Actor.from_assignment(
        RoleAssignment.objects.select_related("school", "user").get(pk=a.pk)
    )


def _base() -> AreaOffice:
    call_command("migrate", verbosity=0)
    setup_calendar(YEAR)
    return AreaOffice.objects.create(
        code="1001", name="สพป.ทดสอบ เขต 1", kind="primary", province_code="10"
    )


def seed_confirm(n_schools: int, out: Path) -> None:
    """N schools whose checklist is clean (2 plausible students each, rooms to match); the
    shared clock frozen inside the confirm window; one officer token per school."""
    area = _base()
    tokens: dict[str, str] = {}
    seq = 0
    with clock.frozen(IN_ENTRY):
        for i in range(n_schools):
            smis = f"1001{i:04d}"
            school = School.objects.create(
                smis_code=smis,
                moe_code=f"10{smis}",
                obec_code=smis[:2] + smis[-4:],
                name=f"โรงเรียนทดสอบ {i}",
                area=area,
                province_code="10",
            )
            SchoolGrade.objects.create(school=school, academic_year=YEAR, grade="05", rooms=1)
            actor = _officer(school, i)
            for _ in range(2):
                seq += 1
                e = student_services.student_add(
                    sat_exam_here=True,
                    actor=None,
                    school=school,
                    academic_year=YEAR,
                    person_id=_pid(7_000_000 + seq),
                    person={
                        "title_code": "001",
                        "first_name": f"สมชาย{seq}",
                        "last_name": "ใจดี",
                        "sex": "M",
                        "birth_date": dt.date(2013, 6, 1),
                    },
                    grade="05",
                    room=1,
                    student_no=str(10_000 + seq),
                    weight_kg=Decimal("30.5"),
                    height_cm=Decimal("135.0"),
                )
                set_year_result(e, "pass")  # the year-end steps done (L8)
            _, tokens[smis] = token_create(actor=actor, name="storm")
    clock.set_clock(IN_CONFIRM, freeze=True)
    r = Round.objects.get(academic_year__year=YEAR, number=3)
    out.write_text(json.dumps({"round": r.pk, "tokens": tokens}))


def seed_import(rows: int, target: Path) -> None:
    """School 10010001 with the grades of a synthetic school, and its file of ``rows`` rows."""
    from tests import import_corpus as corpus

    area = _base()
    school = School.objects.create(
        smis_code="10010001",
        moe_code="1010010001",
        obec_code="100001",
        name="โรงเรียนบ้านหนึ่ง",
        area=area,
        province_code="10",
    )
    src = corpus.source(rows, seed=11)
    corpus.fit_school(school, src.school)
    target.write_bytes(corpus.to_csv(src.header, src.rows))
    clock.set_clock(IN_ENTRY, freeze=True)


def check() -> dict[str, Any]:
    r = Round.objects.filter(academic_year__year=YEAR, number=3).first()
    confirmed = sorted(
        SchoolRound.objects.filter(round=r, confirmed_at__isnull=False).values_list(
            "school__smis_code", flat=True
        )
    )
    confirm_events: dict[str, int] = {}
    smis_of = dict(School.objects.values_list("pk", "smis_code"))
    for school_id, n in (
        AuditEvent.objects.filter(action="round.confirm")
        .values_list("school_id")
        .annotate(n=Count("id"))
    ):
        confirm_events[smis_of.get(school_id, str(school_id))] = n
    snapshots: dict[str, int] = {}
    for school_id, n in (
        Snapshot.objects.filter(round=r).values_list("school_id").annotate(n=Count("id"))
    ):
        snapshots[smis_of.get(school_id, str(school_id))] = n
    d1 = list(
        Enrolment.objects.filter(status=Enrolment.Status.ACTIVE)
        .values("person_id", "academic_year")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("person_id", flat=True)
    )
    stale_stats = []
    stored = {
        (s.school_id, s.academic_year): (s.totals, s.checks) for s in SchoolYearStats.objects.all()
    }
    with transaction.atomic():
        for school in School.objects.all():
            rebuilt = stats.rebuild(school, YEAR)
            mine = stored.get((school.pk, YEAR), ({}, {}))
            if (rebuilt.totals, rebuilt.checks) != mine and (rebuilt.totals or mine[0]):
                stale_stats.append(school.smis_code)
        transaction.set_rollback(True)
    actions = dict(AuditEvent.objects.values_list("action").annotate(n=Count("id")))
    return {
        "confirmed": confirmed,
        "confirm_events": confirm_events,
        "snapshots": snapshots,
        "d1_violations": len(d1),
        "stale_stats": stale_stats,
        "enrolments": Enrolment.objects.count(),
        "active": Enrolment.objects.filter(status=Enrolment.Status.ACTIVE).count(),
        "people": Person.objects.count(),
        "actions": actions,
    }


def write_loop() -> None:
    """Edit the first school's students forever, printing each committed enrolment version
    (after the commit) so a killer knows what was acknowledged."""
    assignment = (
        RoleAssignment.objects.select_related("school", "user")
        .filter(role=Role.SCHOOL_OFFICER)
        .first()
    )
    assert assignment is not None
    actor = Actor.from_assignment(assignment)
    enrolment_ids = list(
        Enrolment.objects.filter(school_id=actor.school_id).values_list("pk", flat=True)
    )
    n = 0
    with clock.frozen(IN_ENTRY):
        while True:
            for pk in enrolment_ids:
                e = Enrolment.objects.select_related("person").get(pk=pk)
                n += 1
                student_services.student_update(
                    actor=actor,
                    enrolment_id=pk,
                    person_version=e.person.version,
                    enrolment_version=e.version,
                    changes={
                        "weight_kg": Decimal(30 + e.version % 20),
                        "first_name": f"ชื่อ{e.person.version}",
                    },
                )
                sys.stdout.write(f"{pk} {e.version + 1} {e.person.version + 1}\n")
                sys.stdout.flush()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "seed-confirm":
        seed_confirm(int(sys.argv[2]), Path(sys.argv[3]))
    elif command == "seed-import":
        seed_import(int(sys.argv[2]), Path(sys.argv[3]))
    elif command == "write-loop":
        write_loop()
    elif command == "check":
        sys.stdout.write(json.dumps(check()))
    else:
        raise SystemExit(f"unknown command {command}")
