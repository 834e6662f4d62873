"""Per-head budget pages: a school, an area (per school) and the nation (per area, OBEC), and
the same tables as XLSX."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.budget import selectors
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import lang, tr
from dmc.exchange.xlsx import CONTENT_TYPE, write_table
from dmc.rounds.models import Round
from dmc.rounds.views import _round_for
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice


def _report(request: HttpRequest) -> tuple[selectors.Report, str]:
    actor = actor_of(request)
    r = _round_for(request)
    version = request.GET.get("rates") or None
    if not request.GET.get("round"):
        r = selectors.funded_round(r, version)
    smis = own_school_code(request) or request.GET.get("school", "")
    if smis:
        school = school_selectors.school_get(actor=actor, smis_code=smis)
        return selectors.school_budget(actor=actor, school=school, r=r, version=version), (
            f"school-{school.smis_code}"
        )
    code = request.GET.get("area", "")
    if actor.is_area and not code:
        area = AreaOffice.objects.filter(pk=actor.area_id or 0).first()
    else:
        area = AreaOffice.objects.filter(code=code).first() if code else None
    if area is not None:
        return selectors.area_budget(actor=actor, area=area, r=r, version=version), (
            f"area-{area.code}"
        )
    return selectors.nation_budget(actor=actor, r=r, version=version), "nation"


@actor_required
def budget_page(request: HttpRequest) -> HttpResponse:
    rounds = Round.objects.select_related("academic_year").order_by(
        "-academic_year__year", "number"
    )
    try:
        report, scope = _report(request)
    except DmcError as exc:
        if exc.code not in (ErrorCode.BUDGET_ROUND_NOT_FUNDED, ErrorCode.BUDGET_NO_RATES):
            raise
        failed = {"error": exc.message, "rounds": rounds, "round": _round_for(request)}
        return render(request, "dmc/budget.html", failed, status=exc.http_status)
    ctx: dict[str, Any] = {
        "rounds": rounds,
        "report": report,
        "round": report.round,
        "scope": scope,
        "rows_are_areas": scope == "nation",
        # the arithmetic shown: heads per level and the semester's rate per item and level
        "levels": [
            (
                lv,
                report.total.counted.get(lv.code, 0),
                report.total.disadvantaged.get(lv.code, 0),
                [item.rates[lv.code][report.semester - 1] for item in report.table.items],
            )
            for lv in report.table.levels
        ],
        "query": request.GET.urlencode(),
    }
    return render(request, "dmc/budget.html", ctx)


def _label(th: str, en: str) -> str:
    return en if lang() == "en" else th


@actor_required
def budget_xlsx(request: HttpRequest) -> HttpResponse:
    report, scope = _report(request)
    t = report.table
    heads = [
        tr("รหัส", "Code"),
        tr("ชื่อ", "Name"),
        tr("ยืนยันแล้ว", "Confirmed"),
        *[tr("นักเรียนนับ ", "Counted ") + _label(lv.th, lv.en) for lv in t.levels],
        *[tr("ด้อยโอกาส ", "Disadvantaged ") + _label(lv.th, lv.en) for lv in t.levels],
        *[_label(i.th, i.en) + tr(" (บาท)", " (baht)") for i in t.items],
        tr("รวม (บาท)", "Total (baht)"),
        "SHA-256",
    ]

    def row(ln: selectors.Line) -> list[Any]:
        return [
            ln.key,
            ln.label,
            tr("ใช่", "yes") if ln.confirmed else tr("ยังไม่ยืนยัน", "not confirmed"),
            *[ln.counted.get(lv.code, 0) for lv in t.levels],
            *[ln.disadvantaged.get(lv.code, 0) for lv in t.levels],
            *[ln.amounts.get(i.code) for i in t.items],
            ln.total,
            ln.sha256,
        ]

    rows = [row(ln) for ln in report.lines] + [row(report.total)]
    note = (
        f"{t.version}{' — EXAMPLE FIGURES' if t.example else ''}; "
        f"semester {report.semester}; {t.rounding}"
    )
    rows.append(["", note])
    title = tr("เงินอุดหนุนรายหัว", "Per-head subsidy")
    response = HttpResponse(write_table(title, heads, rows), content_type=CONTENT_TYPE)
    name = f"budget-{scope}-{report.round.academic_year.year}-{report.round.number}"
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
