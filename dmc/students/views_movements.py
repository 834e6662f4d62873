"""Pages for movements: add a new student, transfer in by ID, the actions on a student's page,
and bulk actions on the list."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from dmc.accounts.models import Role
from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.cases import services as cases
from dmc.core import clock
from dmc.core.codes import CODES, GRADES, TITLES
from dmc.core.errors import Collector, DmcError, not_found
from dmc.core.i18n import tr
from dmc.core.normalize import parse_date, parse_decimal
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.students import movements, selectors, services
from dmc.students.models import Enrolment


def _school(request: HttpRequest) -> Any:
    actor = actor_of(request)
    actor.require_role(Role.SCHOOL_OFFICER)
    return school_selectors.school_get(actor=actor, smis_code=own_school_code(request) or "")


def _year() -> int:
    return round_selectors.current_year(clock.now()) or 0


def _round_number(year: int) -> int:
    r = round_selectors.current_round(year, clock.now())
    return r.number if r else 0


def _errors(exc: DmcError) -> tuple[str, dict[str, list[str]]]:
    return exc.message, exc.fields or {}


def _enrolment_fields(post: Any, c: Collector) -> dict[str, Any]:
    room = post.get("room", "1").strip()
    return {
        "grade": post.get("grade", ""),
        "room": int(room) if room.isdigit() else 0,
        "student_no": post.get("student_no", ""),
        "weight_kg": c.check(parse_decimal, post.get("weight_kg", ""), field="weight_kg"),
        "height_cm": c.check(parse_decimal, post.get("height_cm", ""), field="height_cm"),
        "sat_exam_here": post.get("sat_exam_here") == "1",
        "admitted_on": (
            c.check(parse_date, post["admitted_on"], field="admitted_on")
            if post.get("admitted_on")
            else None
        ),
    }


def _choices() -> dict[str, Any]:
    return {
        "grades": GRADES.choices(),
        "titles": TITLES.choices(),
        "document_types": CODES["document_type"].choices(),
    }


@actor_required
def student_add(request: HttpRequest) -> HttpResponse:
    """เพิ่มนักเรียน: a person not yet known nationally."""
    school = _school(request)
    actor = actor_of(request)
    year = _year()
    error: str | None = None
    fields: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        c = Collector()
        enrolment = _enrolment_fields(post, c)
        birth = c.check(parse_date, post.get("birth_date", ""), field="birth_date")
        try:
            c.raise_if_any()
            created = services.student_add(
                actor=actor,
                school=school,
                academic_year=year,
                person_id=post.get("person_id", ""),
                document_type=post.get("document_type", "I"),
                person={
                    "title_code": post.get("title_code", ""),
                    "first_name": post.get("first_name", ""),
                    "last_name": post.get("last_name", ""),
                    "sex": post.get("sex", ""),
                    "birth_date": birth,
                },
                **enrolment,
            )
        except DmcError as exc:
            (error, fields), status = _errors(exc), exc.http_status
        else:
            request.session["dmc_flash"] = "saved"
            return redirect("student-detail", enrolment_id=created.pk)
    return render(
        request,
        "dmc/student_add.html",
        {
            "school": school,
            "year": year,
            "error": error,
            "fields": fields,
            "post": request.POST,
            "round_number": _round_number(year),
            **_choices(),
        },
        status=status,
    )


@actor_required
def transfer_in(request: HttpRequest) -> HttpResponse:
    """ย้ายเข้า: pull a known person by citizen ID or G-code, then enrol (or open a case)."""
    school = _school(request)
    actor = actor_of(request)
    year = _year()
    raw_id = (request.POST.get("person_id") or request.GET.get("id") or "").strip()
    error: str | None = None
    fields: dict[str, list[str]] = {}
    status = 200
    lookup = None
    if raw_id:
        try:
            lookup = movements.transfer_lookup(actor=actor, school=school, year=year, raw_id=raw_id)
        except DmcError as exc:
            (error, fields), status = _errors(exc), exc.http_status
    if request.method == "POST" and lookup is not None and lookup.person is not None:
        c = Collector()
        enrolment = _enrolment_fields(request.POST, c)
        try:
            c.raise_if_any()
            created, case = movements.transfer_in(
                actor=actor, school=school, year=year, person_id=raw_id, **enrolment
            )
        except DmcError as exc:
            (error, fields), status = _errors(exc), exc.http_status
        else:
            if case is not None:
                request.session["dmc_flash_case"] = case.pk
                return redirect("case-detail", case_id=case.pk)
            request.session["dmc_flash"] = "saved"
            assert created is not None
            return redirect("student-detail", enrolment_id=created.pk)
    return render(
        request,
        "dmc/transfer_in.html",
        {
            "school": school,
            "year": year,
            "raw_id": raw_id,
            "lookup": lookup,
            "error": error,
            "fields": fields,
            "post": request.POST,
            "round_number": _round_number(year),
            **_choices(),
        },
        status=status,
    )


@actor_required
def student_action(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """The movement forms on a student's page; each redirects back with its outcome."""
    actor = actor_of(request)
    enrolment = selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    if request.method != "POST":
        return redirect("student-detail", enrolment_id=enrolment.pk)
    post = request.POST
    action = post.get("action", "")
    version = int(post["version"]) if post.get("version", "").isdigit() else None
    message: tuple[str, str] = ("บันทึกแล้ว", "Saved")
    try:
        c = Collector()
        left_on = (
            c.check(parse_date, post.get("left_on", ""), field="left_on")
            if action in ("transfer_out", "withdraw", "dropout")
            else None
        )
        c.raise_if_any()
        if action == "transfer_out":
            assert left_on is not None
            movements.transfer_out(
                actor=actor,
                enrolment_id=enrolment.pk,
                version=version,
                left_on=left_on,
                destination=post.get("destination", ""),
            )
            message = ("บันทึกการย้ายออกแล้ว", "Transfer out recorded")
        elif action == "withdraw":
            assert left_on is not None
            movements.withdraw(
                actor=actor,
                enrolment_id=enrolment.pk,
                version=version,
                reason=post.get("reason", ""),
                left_on=left_on,
                note=post.get("note", ""),
            )
            message = ("จำหน่ายนักเรียนแล้ว", "Student withdrawn")
        elif action == "dropout":
            assert left_on is not None
            case = cases.dropout_open(
                actor=actor,
                enrolment_id=enrolment.pk,
                reason=post.get("reason", ""),
                left_on=left_on,
                note=post.get("note", ""),
            )
            return redirect("case-detail", case_id=case.pk)
        elif action == "tracked":
            movements.set_tracked(
                actor=actor,
                enrolment_id=enrolment.pk,
                version=version,
                tracked=post.get("tracked") == "1",
                note=post.get("note", ""),
            )
            message = ("บันทึกสถานะ 3.1.8 แล้ว", "3.1.8 flag saved")
        elif action == "correct_grade":
            room = post.get("room", "")
            movements.correct_grade(
                actor=actor,
                enrolment_id=enrolment.pk,
                version=version,
                grade=post.get("grade", ""),
                room=int(room) if room.isdigit() else 0,
                reason=post.get("reason", ""),
            )
            message = ("แก้ไขชั้น/ห้องแล้ว", "Grade/room corrected")
        elif action == "id_correction":
            case = cases.id_correction_open(
                actor=actor,
                enrolment_id=enrolment.pk,
                new_id=post.get("new_id", ""),
                reason=post.get("reason", ""),
            )
            return redirect("case-detail", case_id=case.pk)
        elif action == "gcode":
            case = cases.gcode_open(
                actor=actor, enrolment_id=enrolment.pk, note=post.get("note", "")
            )
            return redirect("case-detail", case_id=case.pk)
        else:
            return redirect("student-detail", enrolment_id=enrolment.pk)
    except DmcError as exc:
        request.session["dmc_action_error"] = [action, exc.message]
    else:
        request.session["dmc_action_ok"] = list(message)
    return redirect(reverse("student-detail", args=[enrolment.pk]) + "#actions")


@actor_required
def student_bulk(request: HttpRequest, smis_code: str) -> HttpResponse:
    """Bulk actions from the student list: withdraw many, assign a room."""
    actor = actor_of(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    if request.method != "POST":
        return redirect("student-list", smis_code=school.smis_code)
    posted = [int(x) for x in request.POST.getlist("ids") if x.isdigit()]
    # only this list's students: an id of another school's student is refused, even for OBEC
    ids = list(Enrolment.objects.filter(pk__in=posted, school=school).values_list("pk", flat=True))
    outside = [(i, "not_found", not_found().message) for i in posted if i not in set(ids)]
    action = request.POST.get("action", "")
    try:
        if action == "withdraw":
            result = movements.withdraw_many(
                actor=actor,
                ids=ids,
                reason=request.POST.get("reason", ""),
                left_on=parse_date(request.POST.get("left_on", ""), field="left_on"),
                note=request.POST.get("note", ""),
            )
        elif action == "room":
            room = request.POST.get("room", "")
            result = movements.assign_room_many(
                actor=actor,
                ids=ids,
                room=int(room) if room.isdigit() else 0,
                reason=request.POST.get("reason", "") or tr("จัดห้องเรียน", "Room assignment"),
            )
        else:
            return redirect("student-list", smis_code=school.smis_code)
    except DmcError as exc:
        request.session["dmc_bulk"] = {"error": exc.message}
    else:
        request.session["dmc_bulk"] = {
            "done": len(result.done),
            "refused": result.refused + outside,
        }
    return redirect("student-list", smis_code=school.smis_code)
