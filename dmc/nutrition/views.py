"""Nutrition pages: the school's table by grade, chart and children at risk; the area's table
by school; XLSX downloads of both."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import audit
from dmc.core.errors import not_found
from dmc.core.i18n import lang, tr
from dmc.core.thai import format_date_be
from dmc.exchange.xlsx import CONTENT_TYPE, write_table
from dmc.nutrition import selectors
from dmc.nutrition.charts import HEIGHT_COLOURS, WEIGHT_COLOURS, stacked_bar
from dmc.nutrition.references import schemes
from dmc.rounds.views import _round_for
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice, School


def _target(request: HttpRequest) -> tuple[School | None, AreaOffice | None]:
    """What to show: the actor's own school; else ?school=SMIS; else the area (?area=code for
    OBEC, the actor's own for an area office)."""
    actor = actor_of(request)
    own = own_school_code(request)
    smis = own or request.GET.get("school", "")
    if smis:
        return school_selectors.school_get(actor=actor, smis_code=smis), None
    if actor.is_area:
        return None, AreaOffice.objects.filter(pk=actor.area_id or 0).first()
    code = request.GET.get("area", "")
    area = AreaOffice.objects.filter(code=code).first() if code else None
    return None, area


def _table_rows(table: selectors.Table) -> list[list[Any]]:
    rows = [[r.key, r.label, r.total, *r.cells()] for r in table.rows]
    rows.append(["", tr("รวม", "Total"), table.total.total, *table.total.cells()])
    return rows


@actor_required
def nutrition_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    r = _round_for(request)
    school, area = _target(request)
    key = request.GET.get("ref") or None
    ctx: dict[str, Any] = {
        "round": r,
        "school": school,
        "area": area,
        "schemes": list(schemes().values()),
        "weight_bands": selectors.WEIGHT_COLUMNS,
        "height_bands": selectors.HEIGHT_COLUMNS,
        "areas": AreaOffice.objects.order_by("code") if actor.is_obec else [],
    }
    if school is not None:
        table, kids = selectors.school_table(actor=actor, school=school, r=r, scheme_key=key)
        ctx["at_risk"] = selectors.at_risk(kids) if actor.is_school else None
        ctx["not_classified"] = selectors.not_classified(kids) if actor.is_school else None
    elif area is not None:
        table = selectors.area_table(actor=actor, area=area, r=r, scheme_key=key)
    else:
        return render(request, "dmc/nutrition.html", ctx)
    ctx["table"] = table
    ctx["as_of_be"] = format_date_be(table.as_of)
    ctx["weight_chart"] = stacked_bar(
        tr("น้ำหนักตามส่วนสูง / ดัชนีมวลกาย", "Weight-for-height / BMI"),
        selectors.WEIGHT_COLUMNS,
        table.total.weight,
        WEIGHT_COLOURS,
        lang(),
    )
    ctx["height_chart"] = stacked_bar(
        tr("ส่วนสูงตามอายุ", "Height-for-age"),
        selectors.HEIGHT_COLUMNS,
        table.total.height,
        HEIGHT_COLOURS,
        lang(),
    )
    ctx["query"] = request.GET.urlencode()
    return render(request, "dmc/nutrition.html", ctx)


@actor_required
def nutrition_xlsx(request: HttpRequest) -> HttpResponse:
    """The table shown on the page (``?list=at_risk`` for a school's children at risk)."""
    actor = actor_of(request)
    r = _round_for(request)
    school, area = _target(request)
    key = request.GET.get("ref") or None
    if school is not None:
        table, kids = selectors.school_table(actor=actor, school=school, r=r, scheme_key=key)
        name = f"nutrition-{school.smis_code}-{r.academic_year.year}-{r.number}"
        if request.GET.get("list") == "at_risk":
            if not actor.is_school:
                raise not_found()
            audit.record(
                actor=actor,
                action="nutrition.export_at_risk",
                target=school,
                after={"round": r.pk, "rows": len(selectors.at_risk(kids))},
                school_id=school.pk,
                area_id=school.area_id,
            )
            return _xlsx(
                name + "-at-risk",
                tr("นักเรียนกลุ่มเสี่ยง", "Children at risk"),
                [
                    tr("เลขประจำตัว (ปิดบัง)", "ID (masked)"),
                    tr("ชื่อ-สกุล", "Name"),
                    tr("ชั้น", "Grade"),
                    tr("ห้อง", "Room"),
                    tr("อายุ (เดือน)", "Age (months)"),
                    tr("น้ำหนัก (กก.)", "Weight (kg)"),
                    tr("ส่วนสูง (ซม.)", "Height (cm)"),
                    tr("น้ำหนัก: ภาวะ", "Weight band"),
                    "z (W)",
                    tr("ส่วนสูง: ภาวะ", "Height band"),
                    "z (H)",
                    tr("เกณฑ์อ้างอิง", "Reference"),
                ],
                [
                    [
                        k.masked_id,
                        k.name,
                        selectors.GRADE_LABELS.get(k.grade, k.grade),
                        k.room,
                        (k.result.age_days or 0) * 12 // 365,
                        k.weight_kg,
                        k.height_cm,
                        k.result.weight.band.th,
                        k.result.weight.z,
                        k.result.height.band.th,
                        k.result.height.z,
                        k.result.reference,
                    ]
                    for k in selectors.at_risk(kids)
                ],
            )
        first = tr("ชั้น", "Grade")
    elif area is not None:
        table = selectors.area_table(actor=actor, area=area, r=r, scheme_key=key)
        name = f"nutrition-area-{area.code}-{r.academic_year.year}-{r.number}"
        first = "SMIS"
    else:
        raise not_found()
    heads = [first, tr("ชื่อ", "Name"), tr("นักเรียน", "Students"), *selectors.headers()]
    return _xlsx(name, tr("ภาวะโภชนาการ", "Nutrition"), heads, _table_rows(table))


def _xlsx(name: str, title: str, heads: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(write_table(title, heads, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
