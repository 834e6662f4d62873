"""Report pages: totals (school / area / nation) with drill-down, confirmation progress, dropouts,
disadvantaged students, five years; every table as XLSX (``?format=xlsx``); the background
workbook with HTMX progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dmc.accounts.web import actor_of, actor_required
from dmc.core import clock
from dmc.core.codes import GRADES
from dmc.core.i18n import tr
from dmc.core.models import AccessEvent
from dmc.core.thai import format_date_be
from dmc.exchange.xlsx import write_table
from dmc.privacy import access
from dmc.reports import charts, jobs, selectors
from dmc.reports.selectors import Line, Source, Totals
from dmc.rounds import selectors as round_selectors
from dmc.rounds.models import Round
from dmc.schools.models import AreaOffice

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(
    name: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> HttpResponse:
    response = HttpResponse(write_table(title, headers, rows), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def _source(request: HttpRequest) -> Source:
    return selectors.source_of(request.GET.get("year"), request.GET.get("src"))


def _qs(source: Source, **extra: str) -> str:
    return urlencode({"year": source.year, "src": source.param, **extra})


@actor_required
def reports_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.is_obec:
        return redirect("reports-nation")
    if actor.is_area:
        code = (
            AreaOffice.objects.filter(pk=actor.area_id or 0).values_list("code", flat=True).first()
        )
        return redirect("reports-area", code=code)
    school = getattr(getattr(request, "assignment", None), "school", None)
    return redirect("reports-school", smis_code=school.smis_code if school else "-")


# --- totals ---------------------------------------------------------------------------------------


def _line_values(line: Line) -> list[int | None]:
    return [line.value(k) for k in selectors.COLUMNS]


def _totals_xlsx(t: Totals, table: str) -> HttpResponse:
    headers = [tr("ชั้น", "Grade"), *selectors.column_headers()]
    if table == "parts":
        first = tr("โรงเรียน", "School") if t.scope == "area" else tr("เขตพื้นที่", "Area")
        headers = [tr("รหัส", "Code"), first, *selectors.column_headers()]
        rows = [[p.key, p.label, *_line_values(p)] for p in t.parts]
        if t.parts_total is not None:
            rows.append(["", t.parts_total.label, *_line_values(t.parts_total)])
    else:
        rows = [[line.label, *_line_values(line)] for line in [*t.lines, t.total]]
    name = f"totals-{t.scope}-{t.code}-{t.source.year}-{t.source.param}" + (
        "-parts" if table == "parts" else ""
    )
    return _xlsx(name, f"{t.name} {t.source.year}", headers, rows)


def _links(t: Totals, request: HttpRequest) -> None:
    """Where each number drills to: the students (school), the schools (area), the areas or
    an area's page (nation)."""
    actor = actor_of(request)
    for line in [*t.lines, t.total]:
        line.link = line.key
    if t.scope == "area":
        for part in t.parts:
            part.link = reverse("reports-school", args=[part.key]) + "?" + _qs(t.source)
    elif t.scope == "nation":
        own = None
        if actor.is_area:
            own = (
                AreaOffice.objects.filter(pk=actor.area_id or 0)
                .values_list("code", flat=True)
                .first()
            )
        for part in t.parts:
            if actor.is_obec or part.key == own:
                part.link = reverse("reports-area", args=[part.key]) + "?" + _qs(t.source)


def _cell_url(t: Totals, grade: str, column: str) -> str:
    sex, kind = selectors.DRILL[column]
    params = _qs(t.source, grade=grade, sex=sex, kind=kind)
    if t.scope == "school":
        return reverse("reports-students", args=[t.code]) + "?" + params
    if t.scope == "area":
        return reverse("reports-area-cell", args=[t.code]) + "?" + params
    return reverse("reports-nation-cell") + "?" + params


def _render_totals(request: HttpRequest, t: Totals) -> HttpResponse:
    if request.GET.get("format") == "xlsx":
        return _totals_xlsx(t, request.GET.get("table", ""))
    _links(t, request)
    actor = actor_of(request)
    drillable = actor.is_obec or t.scope != "nation"
    grid = [
        (
            line,
            [
                (
                    k,
                    line.value(k),
                    _cell_url(t, line.key, k) if drillable and k in selectors.DRILL else "",
                )
                for k in selectors.COLUMNS
            ],
        )
        for line in [*t.lines, t.total]
    ]
    parts = [(p, [(k, p.value(k)) for k in selectors.COLUMNS]) for p in t.parts]
    chart = charts.bar_chart(
        "totals-by-grade",
        tr(f"จำนวนนักเรียนตามชั้น {t.name}", f"Students by grade, {t.name}"),
        tr(
            "แผนภูมิแท่ง นักเรียนชายและหญิงที่นับตามเกณฑ์ในแต่ละชั้น ตัวเลขอยู่ในตารางด้านล่าง",
            "Bar chart of counted boys and girls in each grade; the numbers are in the table",
        ),
        [line.label for line in t.lines],
        [
            (tr("ชาย", "Male"), [line.cm for line in t.lines]),
            (tr("หญิง", "Female"), [line.cf for line in t.lines]),
        ],
    )
    rounds = list(Round.objects.filter(academic_year__year=t.source.year).order_by("number"))
    ctx = {
        "t": t,
        "grid": grid,
        "parts": parts,
        "headers": selectors.column_headers(),
        "chart": chart,
        "rounds": rounds,
        "query": _qs(t.source),
        "part_title": tr("โรงเรียน", "School") if t.scope == "area" else tr("เขตพื้นที่", "Area"),
        "jobs": _recent_jobs(request) if t.scope != "school" else [],
    }
    return render(request, "dmc/reports_totals.html", ctx)


def _recent_jobs(request: HttpRequest) -> list[Any]:
    from dmc.reports.models import ReportJob

    actor = actor_of(request)
    return list(
        ReportJob.objects.filter(requested_by=actor.user, role=actor.role)
        .defer("content")
        .order_by("-created_at", "-id")[:3]
    )


@actor_required
def totals_nation(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    t = selectors.nation_totals(
        actor=actor, source=_source(request), public=request.GET.get("public") == "1"
    )
    return _render_totals(request, t)


@actor_required
def totals_area(request: HttpRequest, code: str) -> HttpResponse:
    t = selectors.area_totals(actor=actor_of(request), code=code, source=_source(request))
    return _render_totals(request, t)


@actor_required
def totals_school(request: HttpRequest, smis_code: str) -> HttpResponse:
    t = selectors.school_totals(
        actor=actor_of(request), smis_code=smis_code, source=_source(request)
    )
    return _render_totals(request, t)


def _drill_args(request: HttpRequest) -> dict[str, str]:
    return {
        "grade": request.GET.get("grade", ""),
        "sex": request.GET.get("sex", ""),
        "kind": request.GET.get("kind", "counted"),
    }


def _cell_title(args: dict[str, str]) -> str:
    grade = GRADES.label(args["grade"], selectors._lang()) or tr("ทุกชั้น", "all grades")
    sex = {"M": tr("ชาย", "male"), "F": tr("หญิง", "female")}.get(
        args["sex"], tr("ทุกเพศ", "both sexes")
    )
    kind = {
        "counted": tr("นับตามเกณฑ์", "counted"),
        "excluded": tr("ไม่นับตามเกณฑ์อายุ", "not counted (age)"),
        "all": tr("ทั้งหมด", "all"),
    }.get(args["kind"], "")
    return f"{grade} · {sex} · {kind}"


@actor_required
def area_cell(request: HttpRequest, code: str) -> HttpResponse:
    """One number of an area, by school; each school's number drills to its students."""
    source, args = _source(request), _drill_args(request)
    area, rows, total = selectors.cell_by_school(
        actor=actor_of(request), code=code, source=source, **args
    )
    if request.GET.get("format") == "xlsx":
        return _xlsx(
            f"cell-{code}-{source.year}",
            area.name,
            [tr("รหัสโรงเรียน", "School"), tr("ชื่อ", "Name"), tr("จำนวน", "Students")],
            [*rows, ["", tr("รวม", "Total"), total]],
        )
    q = _qs(source, **args)
    items = [
        (smis, name, n, reverse("reports-students", args=[smis]) + "?" + q)
        for smis, name, n in rows
    ]
    return render(
        request,
        "dmc/reports_cell.html",
        {
            "title": area.name,
            "cell": _cell_title(args),
            "items": items,
            "total": total,
            "source": source,
            "query": q,
            "back": reverse("reports-area", args=[code]) + "?" + _qs(source),
            "first": tr("โรงเรียน", "School"),
        },
    )


@actor_required
def nation_cell(request: HttpRequest) -> HttpResponse:
    source, args = _source(request), _drill_args(request)
    rows = selectors.cell_by_area(actor=actor_of(request), source=source, **args)
    total = sum(r[2] for r in rows)
    if request.GET.get("format") == "xlsx":
        return _xlsx(
            f"cell-nation-{source.year}",
            tr("ทั้งประเทศ", "Whole country"),
            [tr("รหัสเขต", "Area"), tr("ชื่อ", "Name"), tr("จำนวน", "Students")],
            [*rows, ["", tr("รวม", "Total"), total]],
        )
    q = _qs(source, **args)
    items = [
        (code, name, n, reverse("reports-area-cell", args=[code]) + "?" + q)
        for code, name, n in rows
    ]
    return render(
        request,
        "dmc/reports_cell.html",
        {
            "title": tr("ทั้งประเทศ", "Whole country"),
            "cell": _cell_title(args),
            "items": items,
            "total": total,
            "source": source,
            "query": q,
            "back": reverse("reports-nation") + "?" + _qs(source),
            "first": tr("เขตพื้นที่", "Area"),
        },
    )


@actor_required
def students(request: HttpRequest, smis_code: str) -> HttpResponse:
    """The students behind one number of a school (masked IDs)."""
    actor = actor_of(request)
    source, args = _source(request), _drill_args(request)
    want_xlsx = request.GET.get("format") == "xlsx"
    scoped = selectors.require_school(actor, smis_code)
    gate = access.web_gate(request, actor, scoped.pk, scoped.smis_code)  # PDPA (issue 9)
    if isinstance(gate, HttpResponse):
        return gate
    school, rows, n = selectors.drill_students(
        actor=actor,
        smis_code=smis_code,
        source=source,
        limit=None if want_xlsx else selectors.DRILL_LIMIT,
        **args,
    )
    headers = [
        tr("เลขประจำตัวนักเรียน", "Student no."),
        tr("เลขประจำตัวประชาชน", "Citizen ID"),
        tr("ชื่อ-นามสกุล", "Name"),
        tr("ชั้น", "Grade"),
        tr("ห้อง", "Room"),
        tr("เพศ", "Sex"),
        tr("วันเกิด", "Birth date"),
        tr("นับตามเกณฑ์", "Counted"),
    ]
    lang = selectors._lang()
    table = [
        [
            s.student_no,
            s.person_id_masked,
            s.name,
            GRADES.label(s.grade, lang),
            s.room,
            tr("ชาย", "M") if s.sex == "M" else tr("หญิง", "F"),
            format_date_be(s.birth_date),
            tr("นับ", "yes") if s.counted else tr("ไม่นับ", "no"),
        ]
        for s in rows
    ]
    purpose = gate if isinstance(gate, access.Purpose) else None
    if want_xlsx:  # an identifiable export: logged for every role
        access.record(
            actor=actor,
            kind=AccessEvent.Kind.EXPORT,
            school_id=school.pk,
            purpose=purpose,
            academic_year=source.year,
            rows=n,
        )
        return _xlsx(
            f"students-{smis_code}-{source.year}-{source.param}", school.name, headers, table
        )
    access.record_if_gated(
        actor=actor,
        kind=AccessEvent.Kind.LIST,
        school_id=school.pk,
        purpose=purpose,
        academic_year=source.year,
        rows=len(rows),
    )
    return render(
        request,
        "dmc/reports_students.html",
        {
            "school": school,
            "cell": _cell_title(args),
            "headers": headers,
            "rows": table,
            "n": n,
            "source": source,
            "query": _qs(source, **args),
            "truncated": n > len(rows),
            "back": reverse("reports-school", args=[smis_code]) + "?" + _qs(source),
        },
    )


# --- progress and the other tables ----------------------------------------------------------------


@actor_required
def progress(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = clock.now()
    round_id = request.GET.get("round", "")
    if not round_id.isdigit():
        year = round_selectors.current_year(now)
        r = round_selectors.current_round(year, now) if year else None
        if r is None:
            from dmc.core.errors import not_found

            raise not_found()
        round_id = str(r.pk)
    p = selectors.progress(actor=actor, round_id=int(round_id), area_code=request.GET.get("area"))
    headers = [
        tr("รหัส", "Code"),
        tr("ชื่อ", "Name"),
        tr("จำนวนโรงเรียน", "Schools"),
        tr("ยืนยันแล้ว", "Confirmed"),
        tr("รับรองแล้ว", "Certified"),
        tr("เขตรับทราบแล้ว", "Acknowledged"),
    ]
    if request.GET.get("format") == "xlsx":
        return _xlsx(
            f"progress-{p.round.pk}",
            tr("ความก้าวหน้าการยืนยัน", "Confirmation progress"),
            headers,
            [*p.rows, ["", tr("รวม", "Total"), *p.total]],
        )
    hours = [f"{h:02d}:00" for h, _c, _ce in p.hours]
    chart = charts.line_chart(
        "confirm-progress",
        tr(
            f"การยืนยันข้อมูลสะสมในวันสุดท้าย {format_date_be(p.day)}",
            f"Cumulative confirmations on the deadline day {format_date_be(p.day)}",
        ),
        tr(
            "กราฟเส้น จำนวนโรงเรียนที่ยืนยันและรับรองแล้วสะสมรายชั่วโมง เส้นประคือจำนวนโรงเรียนทั้งหมด"
            " ตัวเลขอยู่ในตาราง",
            "Line chart of schools confirmed and certified by each hour; the dashed line is all"
            " schools; the numbers are in the table",
        ),
        hours,
        [
            (tr("ยืนยันแล้ว", "Confirmed"), [c for _h, c, _ce in p.hours]),
            (tr("รับรองแล้ว", "Certified"), [ce for _h, _c, ce in p.hours]),
        ],
        ceiling=p.total[0],
    )
    return render(
        request,
        "dmc/reports_progress.html",
        {
            "p": p,
            "headers": headers,
            "chart": chart,
            "hours": list(zip(hours, p.hours, strict=True)),
            "query": urlencode(
                {
                    "round": p.round.pk,
                    **({"area": request.GET["area"]} if request.GET.get("area") else {}),
                }
            ),
            "rounds": Round.objects.filter(academic_year=p.round.academic_year).order_by("number"),
        },
    )


@actor_required
def summary(request: HttpRequest) -> HttpResponse:
    """Dropouts by reason, disadvantaged students by category, five years of counts."""
    actor = actor_of(request)
    source = _source(request)
    year = source.year
    drop = selectors.dropouts(actor=actor, year=year)
    disadv = selectors.disadvantaged(actor=actor, year=year)
    years = selectors.five_years(actor=actor, year=year)
    code_headers = [
        tr("รหัส", "Code"),
        tr("รายการ", "Item"),
        tr("ชาย", "Male"),
        tr("หญิง", "Female"),
        tr("รวม", "Total"),
    ]
    year_headers = [
        tr("ปีการศึกษา", "Year"),
        tr("ที่มา", "Source"),
        tr("ชาย", "Male"),
        tr("หญิง", "Female"),
        tr("รวม", "Total"),
        tr("ห้องเรียน", "Rooms"),
    ]
    drop_rows = [[c, label, m, f, m + f] for c, label, m, f in drop]
    disadv_rows = [[c, label, m, f, m + f] for c, label, m, f in disadv]
    year_rows = [[y, label, ln.cm, ln.cf, ln.counted, ln.rooms] for y, label, ln in years]
    table = request.GET.get("table")
    if request.GET.get("format") == "xlsx" and table in ("dropouts", "disadvantaged", "years"):
        title, headers, rows = {
            "dropouts": (
                tr("นักเรียนออกกลางคันจำแนกตามสาเหตุ", "Dropouts by reason"),
                code_headers,
                drop_rows,
            ),
            "disadvantaged": (
                tr("นักเรียนด้อยโอกาสจำแนกตามประเภท", "Disadvantaged by category"),
                code_headers,
                disadv_rows,
            ),
            "years": (
                tr("เปรียบเทียบจำนวนนักเรียน 5 ปี", "Five-year comparison"),
                year_headers,
                year_rows,
            ),
        }[table]
        return _xlsx(f"{table}-{year}", title, headers, rows)
    year_chart = charts.bar_chart(
        "five-years",
        tr("จำนวนนักเรียนที่นับตามเกณฑ์ รายปี", "Counted students by year"),
        tr(
            "แผนภูมิแท่งจำนวนนักเรียนชายและหญิงในแต่ละปีการศึกษา ตัวเลขอยู่ในตาราง",
            "Bar chart of counted boys and girls per academic year; numbers in the table",
        ),
        [str(y) for y, _l, _ln in years],
        [
            (tr("ชาย", "Male"), [ln.cm for _y, _l, ln in years]),
            (tr("หญิง", "Female"), [ln.cf for _y, _l, ln in years]),
        ],
    )
    return render(
        request,
        "dmc/reports_summary.html",
        {
            "year": year,
            "code_headers": code_headers,
            "year_headers": year_headers,
            "drop_rows": drop_rows,
            "disadv_rows": disadv_rows,
            "year_rows": year_rows,
            "year_chart": year_chart,
            "query": _qs(source),
        },
    )


# --- background workbook --------------------------------------------------------------------------


@actor_required
@require_POST
def job_start(request: HttpRequest) -> HttpResponse:
    source = selectors.source_of(request.POST.get("year"), request.POST.get("src"))
    job = jobs.job_start(
        actor=actor_of(request), source=source, area_code=request.POST.get("area") or None
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "dmc/partials/report_job.html", {"job": job})
    return redirect("reports-job", job_id=job.pk)


@actor_required
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.job_get(actor=actor_of(request), job_id=job_id)
    htmx = request.htmx  # type: ignore[attr-defined]
    template = "dmc/partials/report_job.html" if htmx else "dmc/reports_job.html"
    return render(request, template, {"job": job})


@actor_required
def job_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.job_get(actor=actor_of(request), job_id=job_id)
    if job.status != job.Status.DONE or job.content is None:
        return redirect("reports-job", job_id=job.pk)
    response = HttpResponse(bytes(job.content), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    return response
