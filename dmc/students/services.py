"""Student writes: add, enrol, update. Atomic, scoped, window-checked, audited.

``actor=None`` is the system (demo loader, rollover): no role scope and no window check.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.clock import local
from dmc.core.errors import Collector, DmcError, ErrorCode, conflict, not_found, not_in_scope
from dmc.core.ids import normalize_document_type, normalize_person_id
from dmc.core.normalize import clean_text
from dmc.core.thai import collation_key, format_datetime_be
from dmc.rounds import stats
from dmc.rounds.selectors import require_entry_round
from dmc.schools.models import School, SchoolGrade
from dmc.students import rules
from dmc.students.models import Enrolment, Person

PERSON_FIELDS = (
    "title_code", "first_name", "last_name", "sex", "birth_date", "blood", "religion", "race",
    "nationality", "house_no", "moo", "street", "subdistrict", "district", "province",
    "guardian_first_name", "guardian_last_name", "guardian_occupation", "guardian_relation",
    "father_first_name", "father_last_name", "father_occupation", "mother_first_name",
    "mother_last_name", "mother_occupation", "disadvantaged", "disability", "scout", "redcross",
    "swimming",
)  # fmt: skip
ENROLMENT_FIELDS = ("student_no", "weight_kg", "height_cm")
_MAX_LENGTH: dict[str, int] = {
    name: int(getattr(Person._meta.get_field(name), "max_length", 0) or 0)
    for name in PERSON_FIELDS
    if getattr(Person._meta.get_field(name), "max_length", None)
}
_AUDIT_ENROLMENT = (
    "school",
    "academic_year",
    "student_no",
    "grade",
    "room",
    "status",
    "weight_kg",
    "height_cm",
)
_CODE_FIELDS = {
    "blood": ("blood", "กลุ่มเลือด", "blood group"),
    "religion": ("religion", "ศาสนา", "religion"),
    "race": ("nationality", "เชื้อชาติ", "ethnicity"),
    "nationality": ("nationality", "สัญชาติ", "nationality"),
    "guardian_occupation": ("occupation", "อาชีพผู้ปกครอง", "guardian occupation"),
    "guardian_relation": ("relation", "ความเกี่ยวข้อง", "guardian relation"),
    "father_occupation": ("occupation", "อาชีพบิดา", "father occupation"),
    "mother_occupation": ("occupation", "อาชีพมารดา", "mother occupation"),
    "disadvantaged": ("disadvantaged", "ความด้อยโอกาส", "disadvantaged"),
    "disability": ("disability", "ความพิการ", "disability"),
    "scout": ("scout", "ลูกเสือ", "scout"),
    "redcross": ("redcross", "ยุวกาชาด", "Red Cross youth"),
    "swimming": ("swimming", "ทักษะการว่ายน้ำ", "swimming"),
}


def validate_person(
    data: dict[str, Any], *, on: dt.date, title_on: dt.date | None = None
) -> dict[str, Any]:
    """Clean and check person fields; returns the cleaned dict or raises (all errors at once).

    ``on`` is today (a birth date cannot be later); D5 judges the title at ``title_on``, the
    round's as-of date, the same date the pre-confirmation checklist uses."""
    out = dict(data)
    for key, value in out.items():
        if isinstance(value, str):
            out[key] = clean_text(value)
    c = Collector()
    for key, value in out.items():
        limit = _MAX_LENGTH.get(key)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            c.errors.append(
                DmcError(
                    ErrorCode.TOO_LONG,
                    field=key,
                    max=limit,
                    length=len(value),
                    fields={key: ["too_long"]},
                )
            )
    c.check(
        rules.check_name,
        out.get("first_name", ""),
        field="first_name",
        label_th="ชื่อ",
        label_en="First name",
    )
    c.check(
        rules.check_name,
        out.get("last_name", ""),
        field="last_name",
        label_th="นามสกุล",
        label_en="Last name",
    )
    sex = out.get("sex")
    if sex not in ("M", "F"):
        c.errors.append(
            DmcError(
                ErrorCode.CODE_UNKNOWN,
                value=sex or "",
                list_th="เพศ",
                list_en="sex",
                fields={"sex": []},
            )
        )
    birth = out.get("birth_date")
    if not isinstance(birth, dt.date):
        c.errors.append(
            DmcError(
                ErrorCode.REQUIRED,
                field_th="วันเกิด",
                field_en="Birth date",
                fields={"birth_date": []},
            )
        )
    elif not dt.date(on.year - 40, 1, 1) <= birth <= on:
        c.errors.append(
            DmcError(ErrorCode.DATE_RANGE, value=birth.isoformat(), fields={"birth_date": []})
        )
    elif sex in ("M", "F"):
        age = rules.age_on(birth, title_on or on)
        c.check(rules.check_title, out.get("title_code", ""), sex, age)
    for name, (list_name, th, en) in _CODE_FIELDS.items():
        c.check(
            rules.check_code,
            list_name,
            out.get(name, "") or "",
            field=name,
            label_th=th,
            label_en=en,
        )
    c.raise_if_any()
    return out


def _rooms_by_grade(school: School, year: int) -> dict[str, int]:
    return dict(
        SchoolGrade.objects.filter(school=school, academic_year=year).values_list("grade", "rooms")
    )


def _require_school_write(actor: Actor | None, school: School) -> None:
    if actor is None:
        return
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    if not actor.covers_school(school.pk, school.area_id):
        raise not_in_scope()


def _other_school_name(actor: Actor | None, school: School) -> tuple[str, str]:
    """D1 names the other school only as far as the actor's scope allows."""
    if actor is None or actor.covers_school(school.pk, school.area_id):
        return f"โรงเรียน{school.name} ({school.smis_code})", f"{school.name} ({school.smis_code})"
    return "โรงเรียนอื่น", "another school"


@transaction.atomic
def enrolment_create(
    *,
    actor: Actor | None,
    person: Person,
    school: School,
    academic_year: int,
    grade: str,
    room: int,
    student_no: str,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
    admitted_on: dt.date | None = None,
) -> Enrolment:
    """Enrol ``person`` at ``school`` for ``academic_year``.

    Raises NOT_IN_SCOPE, WINDOW_CLOSED, GRADE_NOT_OFFERED/ROOM_OUT_OF_RANGE, VALUE_RANGE,
    ENROLMENT_ACTIVE_ELSEWHERE (D1, 409) and STUDENT_NO_TAKEN (409).
    """
    _require_school_write(actor, school)
    now = clock.now()
    if actor is not None:
        require_entry_round(academic_year, now, school.pk)
    c = Collector()
    c.check(rules.check_grade_room, grade, room, _rooms_by_grade(school, academic_year))
    c.check(rules.check_measure, weight_kg, field="weight_kg")
    c.check(rules.check_measure, height_cm, field="height_cm")
    student_no = clean_text(student_no)
    c.check(rules.check_student_no, student_no)
    c.raise_if_any()
    enrolment = Enrolment(
        person=person,
        school=school,
        academic_year=academic_year,
        grade=grade,
        room=room,
        student_no=student_no,
        weight_kg=weight_kg,
        height_cm=height_cm,
        admitted_on=admitted_on or local(now).date(),
    )
    try:
        with transaction.atomic():  # savepoint: PostgreSQL aborts the transaction on a violation
            enrolment.save(force_insert=True)
    except IntegrityError as exc:
        raise _enrolment_conflict(actor, person, school, academic_year, student_no) from exc
    stats.enrolment_changed(enrolment, person, before=None)
    audit.record(
        actor=actor,
        action="enrolment.create",
        target=enrolment,
        after=audit.snapshot(enrolment, _AUDIT_ENROLMENT),
        school_id=school.pk,
        area_id=school.area_id,
    )
    return enrolment


def _enrolment_conflict(
    actor: Actor | None, person: Person, school: School, year: int, student_no: str
) -> DmcError:
    other = (
        Enrolment.objects.filter(person=person, academic_year=year, status=Enrolment.Status.ACTIVE)
        .select_related("school")
        .first()
    )
    if other is not None:
        th, en = _other_school_name(actor, other.school)
        return conflict(ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE, school_th=th, school_en=en, year=year)
    return conflict(ErrorCode.STUDENT_NO_TAKEN, student_no=student_no)


@transaction.atomic
def student_add(
    *,
    actor: Actor | None,
    school: School,
    academic_year: int,
    person_id: str,
    document_type: str = "I",
    person: dict[str, Any],
    grade: str,
    room: int,
    student_no: str,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
    admitted_on: dt.date | None = None,
    sat_exam_here: bool = False,
) -> Enrolment:
    """Add a student not yet known nationally: a new Person and their enrolment.

    Raises what ``enrolment_create`` raises, plus CITIZEN_ID_* / GCODE_*, the person field
    refusals, and PERSON_EXISTS (409) when the ID is already registered (use transfer-in).
    """
    _require_school_write(actor, school)
    pid, kind = normalize_person_id(person_id)
    doc = normalize_document_type(document_type)
    now = clock.now()
    if actor is not None:
        r = require_entry_round(academic_year, now, school.pk)
        # the end-of-year round: only exam takers here (L5); an admission dated after the year
        # ends is an applicant for the next year (L4)
        rules.check_year_end_add(round_number=r.number, sat_exam_here=sat_exam_here)
        if admitted_on is not None:
            rules.check_not_next_year_applicant(
                round_number=r.number, admitted_on=admitted_on, year_ends_on=r.academic_year.ends_on
            )
    data = validate_person(person, on=local(now).date(), title_on=stats.as_of_for(academic_year))
    if Person.objects.filter(person_id=pid).exists():
        raise conflict(ErrorCode.PERSON_EXISTS)
    p = Person(
        person_id=pid,
        id_kind=kind,
        document_type=doc,
        **{k: data.get(k, "") for k in PERSON_FIELDS},
    )
    p.name_key = collation_key(f"{p.first_name} {p.last_name}")
    try:
        with transaction.atomic():
            p.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent add of the same ID won the race
        raise conflict(ErrorCode.PERSON_EXISTS) from exc
    audit.record(
        actor=actor,
        action="person.create",
        target=p,
        after=audit.snapshot(p, ("person_id", "id_kind", "document_type", *PERSON_FIELDS)),
        school_id=school.pk,
        area_id=school.area_id,
    )
    enrolment = enrolment_create(
        actor=actor,
        person=p,
        school=school,
        academic_year=academic_year,
        grade=grade,
        room=room,
        student_no=student_no,
        weight_kg=weight_kg,
        height_cm=height_cm,
        admitted_on=admitted_on,
    )
    if sat_exam_here:
        Enrolment.objects.filter(pk=enrolment.pk).update(sat_exam=True)
        enrolment.sat_exam = True
    return enrolment


@transaction.atomic
def student_update(
    *,
    actor: Actor,
    enrolment_id: int,
    person_version: int,
    enrolment_version: int,
    changes: dict[str, Any],
) -> Enrolment:
    """Edit a student's personal fields and this enrolment's measures, with optimistic locking.

    Both rows are locked (person, then enrolment: the fixed order) and their versions compared
    with what the editor saw; a mismatch raises STALE_VERSION (409) and changes nothing. Citizen
    IDs are refused here (L1: ID-correction request). Raises NOT_FOUND (also outside scope),
    ROLE_NOT_ALLOWED, WINDOW_CLOSED and the field refusals.
    """
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    if "person_id" in changes or "citizen_id" in changes:
        raise DmcError(
            ErrorCode.CITIZEN_ID_DIRECT_EDIT,
            http_status=400,
            fields={"person_id": ["citizen_id_direct_edit"]},
        )
    unknown = set(changes) - set(PERSON_FIELDS) - set(ENROLMENT_FIELDS)
    if unknown:
        raise DmcError(ErrorCode.VALIDATION, fields={k: ["not editable"] for k in sorted(unknown)})
    head = (
        Enrolment.objects.filter(pk=enrolment_id)
        .values("person_id", "school_id", "school__area_id")
        .first()
    )
    if head is None or not actor.covers_school(head["school_id"], head["school__area_id"]):
        raise not_found()
    person = Person.objects.select_for_update().get(pk=head["person_id"])
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("school")
        .get(pk=enrolment_id)
    )
    if enrolment.version != enrolment_version or person.version != person_version:
        changed = max(enrolment.updated_at, person.updated_at)
        raise conflict(ErrorCode.STALE_VERSION, changed_at=format_datetime_be(local(changed)))
    now = clock.now()
    require_entry_round(enrolment.academic_year, now, enrolment.school_id)
    before_contribution = stats.contribution(enrolment, person.sex)

    person_changes = {k: v for k, v in changes.items() if k in PERSON_FIELDS}
    merged = {k: getattr(person, k) for k in PERSON_FIELDS} | person_changes
    c = Collector()
    cleaned = c.check(
        validate_person,
        merged,
        on=local(now).date(),
        title_on=stats.as_of_for(enrolment.academic_year),
    )
    for name in ("weight_kg", "height_cm"):
        if name in changes:
            c.check(rules.check_measure, changes[name], field=name)
    if "student_no" in changes:
        c.check(rules.check_student_no, clean_text(changes["student_no"]))
    c.raise_if_any()
    assert cleaned is not None

    p_before = audit.snapshot(person, PERSON_FIELDS)
    e_before = audit.snapshot(enrolment, ENROLMENT_FIELDS)
    for name in person_changes:
        setattr(person, name, cleaned[name])
    for name in ENROLMENT_FIELDS:
        if name in changes:
            value = changes[name]
            setattr(enrolment, name, clean_text(value) if name == "student_no" else value)
    pb, pa = audit.diff(p_before, audit.snapshot(person, PERSON_FIELDS))
    eb, ea = audit.diff(e_before, audit.snapshot(enrolment, ENROLMENT_FIELDS))
    if pa:
        person.name_key = collation_key(f"{person.first_name} {person.last_name}")
        person.version += 1
        person.save()
        audit.record(
            actor=actor,
            action="person.update",
            target=person,
            before=pb,
            after=pa,
            school_id=enrolment.school_id,
            area_id=enrolment.school.area_id,
        )
    if pa or ea:
        stats.enrolment_changed(enrolment, person, before=before_contribution)
    if ea:
        enrolment.version += 1
        try:
            with transaction.atomic():
                enrolment.save()
        except IntegrityError as exc:
            raise conflict(ErrorCode.STUDENT_NO_TAKEN, student_no=enrolment.student_no) from exc
        audit.record(
            actor=actor,
            action="enrolment.update",
            target=enrolment,
            before=eb,
            after=ea,
            school_id=enrolment.school_id,
            area_id=enrolment.school.area_id,
        )
    return enrolment
