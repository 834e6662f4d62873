"""End-of-year pages: the school's steps and classes, the class grid for each step, the results
workbook and its import, the learning-results overview, and OBEC's rollover (dry run, start,
progress). Everything goes through ``services``/``rollover``; the pages only render."""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from dmc.accounts.models import Role
from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import clock
from dmc.core.codes import CODES, TERMINAL_GRADES
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.core.i18n import lang, tr
from dmc.core.models import AccessEvent
from dmc.exchange.views import _attachment
from dmc.privacy import access
from dmc.rounds import selectors as round_selectors
from dmc.rounds.rules import YEAR_END_MENUS
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice, School
from dmc.yearend import exchange, rollover, selectors, services
from dmc.yearend.models import RolloverJob, RolloverSchool

MENU_TITLES = {
    "3.2.2": ("3.2.2 ผลการเรียนสิ้นปี (สอบได้/สอบตก)", "3.2.2 Year-end results (pass/fail)"),
    "3.2.2.1": ("3.2.2.1 นักเรียนซ้ำชั้น: เกณฑ์ที่ไม่ผ่าน", "3.2.2.1 Repeaters: evaluations not passed"),
    "3.2.2.2": ("3.2.2.2 ผู้จบการศึกษา: การศึกษาต่อ", "3.2.2.2 Graduates: destination"),
}


def _school_and_year(request: HttpRequest) -> tuple[Any, School, int]:
    actor = actor_of(request)
    smis = own_school_code(request) or request.GET.get("school", "")
    school = school_selectors.school_get(actor=actor, smis_code=smis)
    year = round_selectors.current_year(clock.now()) or 0
    return actor, school, year


def _title(menu: str) -> str:
    th, en = MENU_TITLES[menu]
    return tr(th, en)


@actor_required
def yearend_home(request: HttpRequest) -> HttpResponse:
    """The school's end-of-year page: the three steps (dates, order, pending), its classes and
    the students each step still waits for, the workbook, and what rollover will do."""
    actor, school, year = _school_and_year(request)
    now = clock.now()
    steps = selectors.steps(school, year, now)
    plan = rollover.plan(actor=actor, year=year).get(school.pk)
    return render(
        request,
        "dmc/yearend_home.html",
        {
            "school": school,
            "year": year,
            "steps": [(s, _title(s.menu)) for s in steps],
            "classes": selectors.classes(school, year),
            "learning": selectors.learning_results(actor, year, school_id=school.pk),
            "plan": plan.as_dict() if plan else None,
            "labels": rollover.LABELS,
            "can_edit": actor.role in (Role.SCHOOL_OFFICER, Role.OBEC_ADMIN),
            "flash": request.session.pop("dmc_flash_yearend", None),
            "destinations": dict(CODES["graduate_destination"].choices(lang())),
            "evaluations": dict(CODES["failed_evaluation"].choices(lang())),
        },
    )


def _entries_from_post(menu: str, post: Any, students: list[Any]) -> list[services.Entry]:
    """The grid's rows as step entries. A row left empty that has nothing recorded yet is not
    entered (the class can be done in several sittings); emptying a recorded answer is sent,
    and refused (evaluations and destinations are never blank)."""
    entries = []
    for e in students:
        pk = e.pk
        version = post.get(f"v_{pk}", "")
        common: dict[str, Any] = {"version": int(version) if version.isdigit() else None}
        if menu == "3.2.2":
            result, years = post.get(f"r_{pk}", ""), post.get(f"y_{pk}", "")
            if not result and not years:
                continue  # left blank: not entered yet
            entries.append(services.Entry(pk, result, years, **common))
        elif menu == "3.2.2.1":
            codes = post.getlist(f"e_{pk}")
            if not codes and not e.failed_evaluations:
                continue
            entries.append(services.Entry(pk, failed_evaluations=codes, **common))
        else:
            destination = post.get(f"d_{pk}", "")
            if not destination and not e.destination:
                continue
            entries.append(services.Entry(pk, destination=destination, **common))
    return entries


@actor_required
def yearend_grid(request: HttpRequest, menu: str) -> HttpResponse:
    """One step for one class as a grid: every student on one screen, keyboard order, one save.
    A refusal anywhere saves nothing and shows each row's reason next to it, keeping what was
    typed (the service's strict mode)."""
    if menu not in YEAR_END_MENUS:
        raise not_found()
    actor, school, year = _school_and_year(request)
    grade = request.GET.get("grade", "")
    room_text = request.GET.get("room", "")
    room = int(room_text) if room_text.isdigit() else None
    if grade not in CODES["grade"]:
        raise not_found()
    gate = access.web_gate(request, actor, school.pk, school.smis_code)  # PDPA (issue 9)
    if isinstance(gate, HttpResponse):
        return gate
    students = list(selectors.class_students(school, year, menu, grade, room))
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.LIST,
        school_id=school.pk,
        purpose=gate,
        academic_year=year,
        rows=len(students),
    )
    can_edit = actor.role in (Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    errors: dict[int, str] = {}
    error: str | None = None
    status = 200
    posted: dict[str, Any] = {}
    if request.method == "POST":
        actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
        entries = _entries_from_post(menu, request.POST, students)
        posted = {k: request.POST.getlist(k) for k in request.POST}
        try:
            outcome = services.record_step(
                actor=actor, school=school, year=year, menu=menu, entries=entries, strict=True
            )
        except DmcError as exc:
            status = exc.http_status
            refusals = getattr(exc, "refusals", None)
            if refusals:
                errors = {r.enrolment_id: r.message for r in refusals}
                error = tr(
                    f"ยังไม่ได้บันทึก: แก้ไข {len(errors)} แถวที่มีข้อความสีแดง แล้วกดบันทึกอีกครั้ง",
                    f"Nothing saved: fix the {len(errors)} rows marked in red, then save again",
                )
            else:
                error = exc.message
        else:
            request.session["dmc_flash_yearend"] = tr(
                f"บันทึกแล้ว {len(outcome.saved)} คน (ไม่เปลี่ยนแปลง {len(outcome.unchanged)} คน)",
                f"Saved {len(outcome.saved)} (unchanged {len(outcome.unchanged)})",
            )
            query = f"?grade={grade}" + (f"&room={room}" if room is not None else "")
            if not own_school_code(request):
                query += f"&school={school.smis_code}"
            return redirect(reverse("yearend-grid", args=[menu]) + query)
    fill = request.GET.get("fill") == "pass" and menu == "3.2.2"
    rows = []
    for e in students:
        pk = e.pk

        def value(name: str, current: Any, pk: int = pk) -> Any:
            got = posted.get(f"{name}_{pk}")
            if got is not None:
                return got if name == "e" else got[0]
            return current

        result = value("r", e.year_result or ("pass" if fill and not e.tracked_318 else ""))
        years = value("y", e.years_studied or (1 if fill and not e.tracked_318 else ""))
        rows.append(
            {
                "e": e,
                "result": result,
                "years": years,
                "evaluations": value("e", [c for c in e.failed_evaluations.split(",") if c]),
                "destination": value("d", e.destination),
                "error": errors.get(pk),
                "terminal": e.grade in TERMINAL_GRADES,
            }
        )
    step = next(s for s in selectors.steps(school, year, clock.now()) if s.menu == menu)
    return render(
        request,
        "dmc/yearend_grid.html",
        {
            "school": school,
            "year": year,
            "menu": menu,
            "title": _title(menu),
            "grade": grade,
            "room": room,
            "rows": rows,
            "step": step,
            "error": error,
            "can_edit": can_edit,
            "flash": request.session.pop("dmc_flash_yearend", None),
            "evaluations": CODES["failed_evaluation"].choices(lang()),
            "destinations": CODES["graduate_destination"].choices(lang()),
            "own": bool(own_school_code(request)),
        },
        status=status,
    )


@actor_required
def yearend_workbook(request: HttpRequest) -> HttpResponse:
    """The school's students with their results so far, as XLSX to fill in and import."""
    actor, school, year = _school_and_year(request)
    gate = access.web_gate(request, actor, school.pk, school.smis_code)  # PDPA (issue 9)
    if isinstance(gate, HttpResponse):
        return gate
    access.record(
        actor=actor, kind=AccessEvent.Kind.EXPORT, school_id=school.pk, purpose=gate,
        academic_year=year, rows=school.enrolments.filter(academic_year=year).count(),
    )  # fmt: skip
    return _attachment(
        exchange.results_workbook(school, year, lang()), f"yearend_{school.smis_code}_{year}.xlsx"
    )


@actor_required
def yearend_import(request: HttpRequest) -> HttpResponse:
    """Upload a results file: check it (nothing kept) or import it; refusals by row."""
    actor, school, year = _school_and_year(request)
    outcome = None
    error: str | None = None
    status = 200
    if request.method == "POST":
        try:
            actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
            upload = request.FILES.get("file")
            if upload is None:
                raise DmcError(
                    ErrorCode.REQUIRED, field_th="ไฟล์ผลการเรียน", field_en="The results file"
                )
            path = exchange.store_upload(upload.chunks())
            try:
                outcome = exchange.import_results(
                    actor=actor,
                    school=school,
                    year=year,
                    path=path,
                    filename=upload.name or "",
                    strict=request.POST.get("strict") == "1",
                    dry_run=request.POST.get("action") != "commit",
                )
            finally:
                path.unlink(missing_ok=True)
        except DmcError as exc:
            status = exc.http_status
            error = exc.message
            refusals = getattr(exc, "refusals", None)
            if refusals:
                outcome = exchange.ImportOutcome(refused=sorted(refusals, key=lambda r: r.row or 0))
    return render(
        request,
        "dmc/yearend_import.html",
        {"school": school, "year": year, "outcome": outcome, "error": error},
        status=status,
    )


@actor_required
def learning_overview(request: HttpRequest) -> HttpResponse:
    """Learning results per grade for the actor's scope (school, an area, the nation), with a
    choice of area for OBEC and of school for an area."""
    actor = actor_of(request)
    year = round_selectors.current_year(clock.now()) or 0
    with contextlib.suppress(ValueError):
        year = int(request.GET.get("year", year))
    area_id = school_id = None
    area = school = None
    if actor.is_school:
        school_id = actor.school_id
    code = request.GET.get("area", "")
    if code and actor.is_obec:
        area = AreaOffice.objects.filter(code=code).first()
        area_id = area.pk if area else -1
    smis = request.GET.get("school", "")
    if smis and not actor.is_school:
        school = school_selectors.school_get(actor=actor, smis_code=smis)
        school_id = school.pk
    results = selectors.learning_results(actor, year, area_id=area_id, school_id=school_id)
    return render(
        request,
        "dmc/yearend_learning.html",
        {
            "year": year,
            "results": results,
            "area": area,
            "school": school,
            "areas": AreaOffice.objects.order_by("code") if actor.is_obec else [],
            "destinations": dict(CODES["graduate_destination"].choices(lang())),
            "evaluations": dict(CODES["failed_evaluation"].choices(lang())),
        },
    )


# --- rollover ----------------------------------------------------------------------------------


@actor_required
def rollover_page(request: HttpRequest) -> HttpResponse:
    """OBEC: the dry run per area (and nation), start/resume, progress. Area officers see their
    schools' dry run (read-only)."""
    actor = actor_of(request)
    if actor.is_school:
        raise DmcError(
            ErrorCode.ROLE_NOT_ALLOWED, http_status=403, role_th="โรงเรียน", role_en="school"
        )
    now = clock.now()
    year = round_selectors.current_year(now) or 0
    with contextlib.suppress(ValueError):
        year = int(request.GET.get("year", year))
    error = None
    status = 200
    if request.method == "POST":
        try:
            started = rollover.start(actor=actor, year=year)
            if started.state == RolloverJob.State.RUNNING:
                rollover.run_in_background(started.pk, actor)
            return redirect(f"{reverse('rollover')}?year={year}")
        except DmcError as exc:
            error, status = exc.message, exc.http_status
    job = RolloverJob.objects.filter(from_year=year).first()
    plans = rollover.plan(actor=actor, year=year)
    schools = {s.pk: s for s in School.objects.filter(pk__in=plans).select_related("area")}
    by_area: dict[Any, list[dict[str, Any]]] = {}
    for sid, p in plans.items():
        by_area.setdefault(schools[sid].area, []).append(p.as_dict())
    areas = sorted(
        ((a, rollover.summarise(rows)) for a, rows in by_area.items()), key=lambda x: x[0].code
    )
    per_school = []
    if actor.is_area:
        per_school = sorted(
            ((schools[sid], p.as_dict()) for sid, p in plans.items()),
            key=lambda x: x[0].smis_code,
        )
    r3 = selectors.year_end_round(year)
    context = {
        "year": year,
        "job": job,
        "done_schools": RolloverSchool.objects.filter(job=job).count() if job else 0,
        "areas": areas,
        "nation": rollover.summarise(p.as_dict() for p in plans.values()),
        "per_school": per_school,
        "categories": [(c, tr(*rollover.LABELS[c])) for c in rollover.CATEGORIES],
        "destinations": dict(CODES["graduate_destination"].choices(lang())),
        "round_closed": bool(r3 and r3.closed_at and r3.closed_at <= now),
        "error": error,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "dmc/partials/rollover_progress.html", context)
    return render(request, "dmc/yearend_rollover.html", context, status=status)
