"""Pages: the purpose form (area/OBEC, once per session and school) and the student's data
access report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from dmc.accounts.web import actor_of, actor_required
from dmc.core.errors import DmcError
from dmc.core.i18n import lang
from dmc.core.models import AccessEvent
from dmc.privacy import access, report
from dmc.schools import selectors as school_selectors
from dmc.students import selectors as student_selectors


@actor_required
def purpose_form(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    smis = (request.POST.get("school") or request.GET.get("school") or "")[:10]
    school = school_selectors.school_get(actor=actor, smis_code=smis)
    nxt = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    error = None
    status = 200
    if request.method == "POST":
        try:
            purpose = access.parse_purpose(request.POST.get("code"), request.POST.get("text"))
        except DmcError as exc:
            error, status = exc.message, exc.http_status
        else:
            access.remember(request, school.pk, purpose)
            return redirect(nxt)
    language = lang()
    return render(
        request,
        "dmc/access_purpose.html",
        {
            "school": school,
            "next": nxt,
            "error": error,
            "purposes": [
                (c, en if language == "en" else th) for c, (th, en) in access.PURPOSES.items()
            ],
            "chosen": request.POST.get("code", ""),
            "text": request.POST.get("text", ""),
        },
        status=status,
    )


@actor_required
def access_report(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    actor = actor_of(request)
    enrolment = student_selectors.enrolment_get(actor=actor, enrolment_id=enrolment_id)
    gate = access.web_gate(request, actor, enrolment.school_id, enrolment.school.smis_code)
    if isinstance(gate, HttpResponse):
        return gate
    rep = report.build(actor=actor, enrolment_id=enrolment_id)
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.REPORT,
        school_id=enrolment.school_id,
        purpose=gate,
        enrolment_id=enrolment.pk,
        person_pk=enrolment.person_id,
        academic_year=enrolment.academic_year,
    )
    return render(request, "dmc/access_report.html", {"report": rep, "enrolment": enrolment})
