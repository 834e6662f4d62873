from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dmc.accounts import selectors as account_selectors
from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import clock
from dmc.rounds import selectors as round_selectors
from dmc.rounds.rules import STATE_LABELS
from dmc.schools import selectors
from dmc.students import selectors as student_selectors
from dmc.students.models import Enrolment


@actor_required
def home(request: HttpRequest) -> HttpResponse:
    """A home page per role: the school's totals, the area's schools, or the nation's areas."""
    actor = actor_of(request)
    now = clock.now()
    year = round_selectors.current_year(now)
    rounds = []
    if year is not None:
        for r in round_selectors.rounds_of_year(year):
            state = round_selectors.state_of(r, now)
            rounds.append({"round": r, "state": state, "state_label": STATE_LABELS[state]})
    ctx: dict[str, object] = {"year": year, "rounds": rounds}
    active = Q(enrolments__status=Enrolment.Status.ACTIVE, enrolments__academic_year=year)
    if actor.is_school:
        school = selectors.school_get(actor=actor, smis_code=own_school_code(request) or "")
        counts = student_selectors.grade_counts(actor=actor, school=school, academic_year=year or 0)
        ctx.update(
            school=school,
            counts=counts,
            total_male=sum(c.male for c in counts),
            total_female=sum(c.female for c in counts),
        )
    elif actor.is_area:
        ctx["schools"] = selectors.school_list(actor=actor).annotate(
            students=Count("enrolments", filter=active)
        )
        ctx["pending"] = account_selectors.pending_approvals(actor=actor).count()
    else:
        ctx["areas"] = selectors.area_list(actor=actor).annotate(
            students=Count(
                "schools__enrolments",
                filter=Q(
                    schools__enrolments__status=Enrolment.Status.ACTIVE,
                    schools__enrolments__academic_year=year,
                ),
            )
        )
        ctx["pending"] = account_selectors.pending_approvals(actor=actor).count()
    return render(request, "dmc/home.html", ctx)


@actor_required
def area_schools(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    selectors.area_get(actor=actor, code=code)  # another area's list: 403, an unknown one: 404
    year = round_selectors.current_year(clock.now())
    schools = selectors.school_list(actor=actor, area_code=code).annotate(
        students=Count(
            "enrolments",
            filter=Q(enrolments__status=Enrolment.Status.ACTIVE, enrolments__academic_year=year),
        )
    )
    return render(
        request, "dmc/area_schools.html", {"schools": schools, "area_code": code, "year": year}
    )


@actor_required
def school_grades(request: HttpRequest) -> HttpResponse:
    """The school's grades offered and rooms per grade (D6), kept up to date each round."""
    from dmc.core.codes import GRADES
    from dmc.core.errors import DmcError
    from dmc.schools import services
    from dmc.schools.models import SchoolGrade

    actor = actor_of(request)
    smis = own_school_code(request) or request.GET.get("school", "")
    school = selectors.school_get(actor=actor, smis_code=smis)
    year = round_selectors.current_year(clock.now()) or 0
    error, status, saved = None, 200, False
    field_errors: dict[str, list[str]] = {}
    posted: dict[str, str] = {}
    if request.method == "POST":
        rooms: dict[str, int | None] = {}
        for entry in GRADES:
            raw = request.POST.get(f"rooms_{entry['code']}", "").strip()
            posted[entry["code"]] = raw
            if raw == "":
                rooms[entry["code"]] = None
            elif raw.isdigit():
                rooms[entry["code"]] = int(raw)
            else:
                rooms[entry["code"]] = -1  # refused by the service with the field named
        try:
            services.school_grades_update(
                actor=actor, school=school, academic_year=year, rooms=rooms
            )
        except DmcError as exc:
            error, status = exc.message, exc.http_status
            field_errors = exc.fields or {}
        else:
            request.session["dmc_flash"] = "saved"
            return redirect(f"{request.path}?school={school.smis_code}")
    saved = request.session.pop("dmc_flash", None) == "saved"
    current = dict(
        SchoolGrade.objects.filter(school=school, academic_year=year).values_list("grade", "rooms")
    )
    counts = {
        c.grade: c.total
        for c in student_selectors.grade_counts(actor=actor, school=school, academic_year=year)
    }
    rows = [
        {
            "code": e["code"],
            "students": counts.get(e["code"], 0),
            "value": posted.get(
                e["code"], "" if e["code"] not in current else str(current[e["code"]])
            ),
            "errors": field_errors.get(f"rooms_{e['code']}", []),
        }
        for e in GRADES
    ]
    return render(
        request,
        "dmc/school_grades.html",
        {
            "school": school,
            "year": year,
            "rows": rows,
            "error": error,
            "saved": saved,
            "can_edit": actor.role in ("school_officer", "obec_admin"),
        },
        status=status,
    )
