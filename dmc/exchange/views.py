"""Download pages: the student-list export, the school's template, report tables as XLSX.

Thin edges over ``export``, ``template`` and ``xlsx``; a refusal (scope, missing purpose) is a
``DmcError`` rendered as the Thai/English error page by the language middleware.
"""

from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_http_methods

from dmc.accounts.web import actor_of, actor_required
from dmc.core import clock
from dmc.core.codes import GRADES
from dmc.core.i18n import lang, tr
from dmc.exchange import export, template
from dmc.exchange.api import csv_response, xlsx_response
from dmc.exchange.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from dmc.exchange.xlsx import write_table
from dmc.rounds import selectors as round_selectors
from dmc.schools import selectors as school_selectors
from dmc.students import selectors as student_selectors


def _year(request: HttpRequest) -> int | None:
    raw = request.POST.get("year") or request.GET.get("year") or ""
    with contextlib.suppress(ValueError):
        year = int(raw)
        if 2400 <= year <= 2700:
            return year
    return None


def _attachment(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@actor_required
@require_http_methods(["GET", "POST"])
def export_students(request: HttpRequest, smis_code: str, fmt: str) -> HttpResponseBase:
    """GET for a school's own staff; area offices and OBEC POST the form with a purpose."""
    purpose = request.POST.get("purpose") or request.GET.get("purpose") or ""
    ex = export.students_export(
        actor=actor_of(request),
        smis_code=smis_code,
        year=_year(request),
        fmt=fmt,
        purpose=purpose,
    )
    return csv_response(ex) if fmt == "csv" else xlsx_response(ex)


@actor_required
def school_template(request: HttpRequest, smis_code: str) -> HttpResponse:
    name, content = template.school_template(
        actor=actor_of(request), smis_code=smis_code, year=_year(request)
    )
    return _attachment(content, name)


@actor_required
def school_totals(request: HttpRequest, smis_code: str) -> HttpResponse:
    """The home page's grade x sex table (live data) as XLSX."""
    actor = actor_of(request)
    school = school_selectors.school_get(actor=actor, smis_code=smis_code)
    year = _year(request) or round_selectors.current_year(clock.now()) or 0
    counts = student_selectors.grade_counts(actor=actor, school=school, academic_year=year)
    language = lang()
    rows: list[list[str | int | None]] = [
        [GRADES.label(c.grade, language), c.male, c.female, c.total] for c in counts
    ]
    male, female = sum(c.male for c in counts), sum(c.female for c in counts)
    rows.append([tr("รวม", "Total"), male, female, male + female])
    content = write_table(
        tr(f"นักเรียน {school.smis_code} {year}", f"Students {school.smis_code} {year}"),
        [tr("ชั้น", "Grade"), tr("ชาย", "Male"), tr("หญิง", "Female"), tr("รวม", "Total")],
        rows,
        widths=[14, 10, 10, 10],
    )
    return _attachment(content, f"totals_{school.smis_code}_{year}.xlsx")
