"""The director's certification form (แบบรับรองข้อมูลนักเรียน) as a PDF.

Rendered by WeasyPrint from ``dmc/certificate.html`` with a Thai font from Debian's
fonts-thai-tlwg (Laksaman is TH Sarabun New; Garuda and Loma as fall-backs), dates in the
Buddhist era. It shows the school's sealed confirmation snapshot of the round: counted heads by
grade × sex, the rooms, the students not counted (D4), the snapshot's SHA-256, who confirmed and
certified and when, and the signature lines. The school's own staff get theirs; an area office
gets its schools'; OBEC any school's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import clock
from dmc.core.codes import grade_label
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.core.thai import format_date_be, format_datetime_be
from dmc.rounds.models import Round, SchoolRound
from dmc.schools import selectors as school_selectors
from dmc.schools.models import School

FONT_FAMILIES = ("Laksaman", "Garuda", "Loma")  # as in static/dmc/certificate.css


def _when(value: Any) -> str:
    return format_datetime_be(clock.local(value)) if value else ""


def _person(user: Any) -> str:
    if user is None:
        return ""
    return f"{user.first_name} {user.last_name}".strip() or user.username


def certificate_context(school: School, r: Round) -> dict[str, Any]:
    sr = (
        SchoolRound.objects.select_related("snapshot", "confirmed_by", "certified_by")
        .filter(school=school, round=r)
        .first()
    )
    if sr is None or sr.confirmed_at is None or sr.snapshot is None:
        raise DmcError(ErrorCode.NOT_CONFIRMED, http_status=409)
    snap = sr.snapshot
    rows = []
    sums: dict[str, int] = {"M": 0, "F": 0, "total": 0, "rooms": 0, "excluded": 0}
    for grade in sorted(snap.totals):
        cell = snap.totals[grade]
        m, f = int(cell.get("cM", 0)), int(cell.get("cF", 0))
        excluded = int(cell.get("M", 0)) + int(cell.get("F", 0)) - m - f
        counts = {
            "M": m,
            "F": f,
            "total": m + f,
            "rooms": int(cell.get("rooms", 0)),
            "excluded": excluded,
        }
        for key in sums:
            sums[key] += counts[key]
        rows.append({"grade": grade_label(grade, "th"), **counts})
    as_of = r.as_of_date
    return {
        "school": school,
        "area": school.area,
        "round": r,
        "as_of_be": format_date_be(as_of, style="long") if as_of else "",
        "rows": rows,
        "sums": sums,
        "snapshot": snap,
        "snapshot_taken_be": _when(snap.taken_at),
        "confirmed_by": _person(sr.confirmed_by),
        "confirmed_at_be": _when(sr.confirmed_at),
        "certified_by": _person(sr.certified_by),
        "certified_at_be": _when(sr.certified_at),
        "printed_be": _when(clock.now()),
    }


STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "dmc" / "certificate.css"


def render_pdf(html: str, stylesheet: Path | None = None) -> bytes:
    from weasyprint import CSS, HTML  # imported here: Pango loads only when a PDF is made

    sheets = [CSS(filename=str(stylesheet))] if stylesheet else []
    return HTML(string=html).write_pdf(stylesheets=sheets)


def certificate_pdf_bytes(school: School, r: Round) -> bytes:
    html = render_to_string("dmc/certificate.html", certificate_context(school, r))
    return render_pdf(html, STYLESHEET)


@actor_required
def certificate_pdf(request: HttpRequest) -> HttpResponse:
    from dmc.rounds.views import _round_for

    actor = actor_of(request)
    smis = own_school_code(request) or request.GET.get("school", "")
    if not smis:
        raise not_found()
    school = school_selectors.school_get(actor=actor, smis_code=smis)
    r = _round_for(request)
    response = HttpResponse(certificate_pdf_bytes(school, r), content_type="application/pdf")
    name = f"certificate-{school.smis_code}-{r.academic_year.year}-{r.number}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
