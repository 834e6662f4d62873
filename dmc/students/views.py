from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dmc.accounts.web import actor_of, actor_required
from dmc.core import clock
from dmc.core.codes import CODES, GRADES
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import lang, tr
from dmc.core.models import AccessEvent
from dmc.core.rulebook import CHECKS
from dmc.privacy import access
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.students import selectors, services
from dmc.students.forms import StudentForm, history_rows, initial_for


@actor_required
def student_list(request: HttpRequest, smis_code: str) -> HttpResponse:
    actor = actor_of(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    gate = access.web_gate(request, actor, school.pk, school.smis_code)  # PDPA (issue 9)
    if isinstance(gate, HttpResponse):
        return gate
    year = round_selectors.current_year(clock.now()) or 0
    with contextlib.suppress(ValueError):
        year = int(request.GET.get("year", year))
    search = request.GET.get("q", "")[:100]
    grade = request.GET.get("grade", "")
    if grade not in GRADES:
        grade = ""
    check = request.GET.get("check", "")
    if check not in CHECKS:
        check = ""
    qs = selectors.enrolment_list(
        actor=actor, school=school, academic_year=year, search=search, grade=grade, check=check
    )
    page = selectors.enrolment_page(qs, request.GET.get("page"))
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.LIST,
        school_id=school.pk,
        purpose=gate,
        academic_year=year,
        rows=len(page.object_list),
    )
    ctx = {
        "school": school,
        "year": year,
        "page": page,
        "q": search,
        "grade": grade,
        "grades": GRADES.choices(),
        "check": CHECKS.get(check),
        "bulk": request.session.pop("dmc_bulk", None),
        "can_edit": actor.role == "school_officer",
        "withdrawal_reasons": [
            (c, label) for c, label in CODES["withdrawal_reason"].choices(lang()) if c != "02"
        ],
        "check_key": check,
    }
    template = "dmc/partials/student_rows.html" if request.htmx else "dmc/student_list.html"  # type: ignore[attr-defined]
    return render(request, template, ctx)


@actor_required
def student_detail(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    actor = actor_of(request)
    enrolment = selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    gate = access.web_gate(request, actor, enrolment.school_id, enrolment.school.smis_code)
    if isinstance(gate, HttpResponse):  # PDPA: area/OBEC state a purpose first (issue 9)
        return gate
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.DETAIL,
        school_id=enrolment.school_id,
        purpose=gate,
        enrolment_id=enrolment.pk,
        person_pk=enrolment.person_id,
        academic_year=enrolment.academic_year,
    )
    can_edit = actor.role in ("school_officer", "obec_admin")
    status = 200
    conflict = None
    if request.method == "POST":
        if not can_edit:
            actor.require_role("school_officer", "obec_admin")
        form = StudentForm(request.POST)
        if form.is_valid():
            changes = form.changes()
            if not form.errors:
                try:
                    services.student_update(
                        actor=actor,
                        enrolment_id=enrolment.pk,
                        person_version=form.cleaned_data["person_version"],
                        enrolment_version=form.cleaned_data["enrolment_version"],
                        changes=changes,
                    )
                except DmcError as exc:
                    status = exc.http_status
                    if exc.code == ErrorCode.STALE_VERSION:
                        conflict = exc.message
                    for name, messages in (exc.fields or {}).items():
                        for message in messages or [exc.message]:
                            form.add_error(name if name in form.fields else None, message)
                    if not exc.fields and exc.code != ErrorCode.STALE_VERSION:
                        form.add_error(None, exc.message)
                else:
                    request.session["dmc_flash"] = "saved"
                    return redirect("student-detail", enrolment_id=enrolment.pk)
        if form.errors and status == 200:
            status = 400
        latest = selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    else:
        form = StudentForm(initial=initial_for(enrolment))
        latest = enrolment
    saved = request.session.pop("dmc_flash", None) == "saved"
    return render(
        request,
        "dmc/student_detail.html",
        {
            "enrolment": latest,
            "form": form,
            "can_edit": can_edit,
            "saved": saved,
            "conflict": conflict,
            "history": history_rows(selectors.student_history(actor=actor, enrolment=latest)),
            "checks": [
                {"key": t.rstrip("!"), "check": CHECKS[t.rstrip("!")], "explained": t.endswith("!")}
                for t in latest.checks.split()
                if t.rstrip("!") in CHECKS
            ],
            "notes": {n.check_key: n for n in latest.query_notes.all()},
            "explain_error": request.session.pop("dmc_flash_error", None),
            "action_error": (request.session.pop("dmc_action_error", None) or [None, None])[1],
            "action_ok": tr(*ok) if (ok := request.session.pop("dmc_action_ok", None)) else None,
            "withdrawal_reasons": [
                (c, label) for c, label in CODES["withdrawal_reason"].choices(lang()) if c != "02"
            ],
            "dropout_reasons": CODES["dropout_reason"].choices(lang()),
            "grades": GRADES.choices(),
        },
        status=status,
    )
