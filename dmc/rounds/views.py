"""Round pages: the school's checklist and confirm/certify, the area dashboard, OBEC's rounds."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from dmc.accounts import stepup
from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.accounts.web import actor_of, actor_required, own_school_code
from dmc.core import clock
from dmc.core.errors import DmcError, not_found
from dmc.core.i18n import tr
from dmc.core.normalize import parse_date
from dmc.core.rulebook import RULES
from dmc.core.thai import to_arabic_digits
from dmc.rounds import selectors, services
from dmc.rounds.models import ReopenRequest, Round, SchoolRound, Snapshot
from dmc.rounds.rules import STATE_LABELS
from dmc.schools import selectors as school_selectors
from dmc.schools.models import AreaOffice, School


def _round_for(request: HttpRequest) -> Round:
    """The round asked for (?round=id) or the current one."""
    now = clock.now()
    wanted = request.GET.get("round") or request.POST.get("round")
    if wanted and wanted.isdigit() and len(wanted) < 10:
        try:
            return selectors.round_get(int(wanted))
        except DmcError:
            pass  # an unknown id: the current round, as before
    year = selectors.current_year(now)
    r = selectors.current_round(year, now) if year else None
    if r is None:
        raise not_found()
    return r


def _flash(request: HttpRequest, th: str, en: str) -> None:
    request.session["dmc_round_flash"] = [th, en]


def _take_flash(request: HttpRequest) -> str | None:
    pair = request.session.pop("dmc_round_flash", None)
    return tr(pair[0], pair[1]) if pair else None


def _round_ctx(r: Round) -> dict[str, Any]:
    state = selectors.state_of(r, clock.now())
    return {"round": r, "round_state": state, "round_state_label": STATE_LABELS[state]}


def _parse_local(day: str, time: str) -> dt.datetime:
    d = parse_date(day, field="date")
    hh, mm = (int(x) for x in (time or "00:00").split(":")[:2])
    return dt.datetime.combine(d, dt.time(hh, mm), tzinfo=clock.BANGKOK)


# --- the school ----------------------------------------------------------------------------------


@actor_required
def school_round(request: HttpRequest) -> HttpResponse:
    """The school's round page: state, the pre-confirmation checklist, confirm/certify/cancel."""
    actor = actor_of(request)
    smis = request.GET.get("school") or request.POST.get("school")
    own = own_school_code(request)
    if not (own or smis):
        return redirect("area-round")
    school = school_selectors.school_get(actor=actor, smis_code=own or smis or "")
    r = _round_for(request)
    error = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "confirm":
                services.round_confirm(actor=actor, school=school, round_id=r.pk)
                _flash(request, "ยืนยันข้อมูลเรียบร้อย", "Confirmed")
            elif action == "certify":
                if actor.role == Role.SCHOOL_DIRECTOR:  # others are refused by the service
                    stepup.require(request, actor, request.POST.get("password") or None)
                services.round_certify(actor=actor, school=school, round_id=r.pk)
                _flash(request, "รับรองข้อมูลเรียบร้อย", "Certified")
            elif action == "cancel":
                services.round_cancel(
                    actor=actor,
                    school=school,
                    round_id=r.pk,
                    reason=request.POST.get("reason", "")[:300],
                )
                _flash(request, "ยกเลิกการยืนยันเรียบร้อย", "Confirmation cancelled")
            elif action == "reopen":
                services.reopen_request(
                    actor=actor, school=school, round_id=r.pk, reason=request.POST.get("reason", "")
                )
                _flash(request, "ส่งคำร้องถึงเขตพื้นที่แล้ว", "Request sent to the area office")
            else:
                raise not_found()
        except DmcError as exc:
            error, status = exc.message, exc.http_status
        else:
            url = reverse("school-round") + f"?round={r.pk}"
            if not actor.is_school:
                url += f"&school={school.smis_code}"
            return redirect(url)
    progress = selectors.school_progress(school, r)
    ctx = {
        **_round_ctx(r),
        "school": school,
        "progress": progress,
        "state_label": selectors.SCHOOL_STATES[progress.state],
        "error": error,
        "flash": _take_flash(request),
        "rules": RULES,
        "reopen_requests": ReopenRequest.objects.filter(school=school, round=r)[:5],
        "is_officer": actor.role == Role.SCHOOL_OFFICER,
        "is_director": actor.role == Role.SCHOOL_DIRECTOR,
        "step_up_fresh": stepup.is_fresh(request, actor),
    }
    return render(request, "dmc/round_school.html", ctx, status=status)


@actor_required
def explain_query(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    actor = actor_of(request)
    if request.method != "POST":
        return redirect("student-detail", enrolment_id=enrolment_id)
    try:
        services.query_explain(
            actor=actor,
            enrolment_id=enrolment_id,
            check_key=request.POST.get("check", ""),
            note=request.POST.get("note", ""),
        )
    except DmcError as exc:
        request.session["dmc_flash_error"] = exc.message
    return redirect("student-detail", enrolment_id=enrolment_id)


# --- the area ------------------------------------------------------------------------------------


@actor_required
def area_round(request: HttpRequest) -> HttpResponse:
    """Every school of the area with its state, counts, readiness; acknowledge, cancel, reopen."""
    actor = actor_of(request)
    actor.require_role(Role.AREA_OFFICER, Role.OBEC_ADMIN)
    code = request.GET.get("area") or request.POST.get("area", "")
    area: AreaOffice | None = (
        school_selectors.own_area(actor)
        if actor.is_area
        else AreaOffice.objects.filter(code=code).first()
    )
    if area is None:
        return redirect("obec-rounds")
    r = _round_for(request)
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        school = School.objects.filter(smis_code=request.POST.get("school", ""), area=area).first()
        try:
            if action == "ack_clean":
                done = services.round_acknowledge_clean(actor=actor, round_id=r.pk)
                _flash(
                    request, f"รับทราบแล้ว {len(done)} โรงเรียน", f"Acknowledged {len(done)} schools"
                )
            elif action == "decide_reopen":
                approve = request.POST.get("decision") == "approve"
                until = None
                if approve:
                    until = _parse_local(
                        request.POST.get("until_date", ""), request.POST.get("until_time", "16:30")
                    )
                services.reopen_decide(
                    actor=actor,
                    request_id=int(request.POST.get("request", "0") or 0),
                    approve=approve,
                    until=until,
                    note=request.POST.get("note", ""),
                )
                _flash(request, "บันทึกการพิจารณาแล้ว", "Decision recorded")
            elif school is None:
                raise not_found()
            elif action == "ack":
                services.round_acknowledge(actor=actor, school=school, round_id=r.pk)
                _flash(request, f"รับทราบ {school.name} แล้ว", f"Acknowledged {school.name}")
            elif action in ("cancel", "revoke"):
                services.round_cancel(
                    actor=actor,
                    school=school,
                    round_id=r.pk,
                    reason=request.POST.get("reason", ""),
                    lock=action == "revoke" and bool(request.POST.get("lock")),
                )
                _flash(
                    request,
                    f"ยกเลิกการยืนยันของ {school.name} แล้ว",
                    f"Cancelled {school.name}'s confirmation",
                )
            elif action == "unlock":
                services.round_unlock(actor=actor, school=school, round_id=r.pk)
                _flash(request, "คืนปุ่มยืนยันแล้ว", "Confirm button restored")
            else:
                raise not_found()
        except (DmcError, ValueError) as exc:
            error = exc.message if isinstance(exc, DmcError) else str(exc)
            status = exc.http_status if isinstance(exc, DmcError) else 400
        else:
            # back to the same filter and page the officer acted from
            return redirect(reverse("area-round") + "?" + _area_query(r, area, actor, request.POST))
    schools = list(school_selectors.school_list(actor=actor, area_code=area.code))
    rows = selectors.area_progress(schools, r)
    summary: dict[str, int] = dict.fromkeys(selectors.SCHOOL_STATES, 0)
    for row in rows:
        summary[row.state] += 1
    # the filter and page shown (a failed action re-renders the page the form was sent from)
    shown_for = request.POST if request.method == "POST" else request.GET
    wanted, q = _area_filter(shown_for)
    shown = [
        row
        for row in rows
        if (not wanted or row.state == wanted)
        and (not q or q in row.school.smis_code or q.casefold() in row.school.name.casefold())
    ]
    # 50 schools a page: the table is most of the page's CPU on deadline day (issue 8)
    page = Paginator(shown, settings.DMC_AREA_PAGE_SIZE).get_page(shown_for.get("page"))
    # the state's label picked here once per state, not by a loop over the states in each row
    label = {key: tr(th, en) for key, (th, en) in selectors.SCHOOL_STATES.items()}
    now = clock.now()
    ctx = {
        **_round_ctx(r),
        "area": area,
        "page": page,
        "rows": [(row, label[row.state]) for row in page],
        "state": wanted,
        "q": q,
        "base_query": _area_query(r, area, actor, {}),
        "filter_query": _area_query(r, area, actor, {"state": wanted, "q": q}),
        "total": len(rows),
        "summary": [(k, selectors.SCHOOL_STATES[k], n) for k, n in summary.items()],
        "awaiting_ack": summary["certified"],
        "can_cancel": actor.is_area and now >= r.self_cancel_deadline,
        "error": error,
        "flash": _take_flash(request),
        "reopen_pending": ReopenRequest.objects.filter(
            round=r, school__area=area, status=ReopenRequest.Status.SUBMITTED
        ).select_related("school", "requested_by"),
    }
    return render(request, "dmc/round_area.html", ctx, status=status)


def _area_filter(data: Any) -> tuple[str, str]:
    """The dashboard's filter: a known school state (else all) and a search on SMIS code or name."""
    state = str(data.get("state", ""))
    q = " ".join(to_arabic_digits(str(data.get("q", ""))).split())[:100]  # ๑๐๐๑… finds 1001…
    return (state if state in selectors.SCHOOL_STATES else ""), q


def _area_query(r: Round, area: AreaOffice, actor: Actor, data: Any) -> str:
    """The dashboard's query string for this round (and area, for OBEC) with the filter and page
    found in ``data`` (the request's GET, or a form's POST to return to where it was sent from)."""
    state, q = _area_filter(data)
    params: dict[str, Any] = {"round": r.pk}
    if actor.is_obec:
        params["area"] = area.code
    if state:
        params["state"] = state
    if q:
        params["q"] = q
    page = str(data.get("page", ""))
    if page.isdigit() and len(page) < 6 and page != "1":
        params["page"] = page
    return urlencode(params)


# --- OBEC ----------------------------------------------------------------------------------------


@actor_required
def obec_rounds(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_role(Role.OBEC_ADMIN)
    error, status = None, 200
    if request.method == "POST" and request.POST.get("action") == "close":
        try:
            snap = services.round_close(
                actor=actor, round_id=int(request.POST.get("round", "0") or 0)
            )
            _flash(
                request,
                f"ปิดรอบแล้ว แฮช {snap.sha256[:16]}…",
                f"Round closed, hash {snap.sha256[:16]}…",
            )
            return redirect("obec-rounds")
        except DmcError as exc:
            error, status = exc.message, exc.http_status
    now = clock.now()
    rounds = []
    for r in Round.objects.select_related("academic_year").order_by(
        "-academic_year__year", "number"
    ):
        state = selectors.state_of(r, now)
        rounds.append(
            {
                "round": r,
                "state": state,
                "label": STATE_LABELS[state],
                "counts": services.state_counts(r.pk),
                "close": Snapshot.objects.filter(round=r, kind="close").first(),
            }
        )
    areas = []
    current = selectors.current_round(selectors.current_year(now) or 0, now)
    if current is not None:
        counts_by_area: dict[int, dict[str, int]] = {}
        for sr in SchoolRound.objects.filter(round=current).values(
            "school__area_id", "confirmed_at", "certified_at", "acknowledged_at"
        ):
            c = counts_by_area.setdefault(
                sr["school__area_id"], {"confirmed": 0, "certified": 0, "acknowledged": 0}
            )
            c["confirmed"] += sr["confirmed_at"] is not None
            c["certified"] += sr["certified_at"] is not None
            c["acknowledged"] += sr["acknowledged_at"] is not None
        for area in school_selectors.area_list(actor=actor):
            areas.append(
                {
                    "area": area,
                    **counts_by_area.get(
                        area.pk, {"confirmed": 0, "certified": 0, "acknowledged": 0}
                    ),
                }
            )
    return render(
        request,
        "dmc/round_obec.html",
        {
            "rounds": rounds,
            "areas": areas,
            "current": current,
            "error": error,
            "flash": _take_flash(request),
        },
        status=status,
    )


@actor_required
def obec_round_edit(request: HttpRequest, round_id: int) -> HttpResponse:
    actor = actor_of(request)
    actor.require_role(Role.OBEC_ADMIN)
    r = selectors.round_get(round_id)
    error, status = None, 200
    if request.method == "POST":
        try:
            windows = {
                f: _parse_local(
                    request.POST.get(f"{f}_date", ""), request.POST.get(f"{f}_time", "")
                )
                for f in services.WINDOW_FIELDS
            }
            services.round_update_windows(
                actor=actor,
                round_id=r.pk,
                version=int(request.POST.get("version", "0") or 0),
                windows=windows,
            )
            _flash(request, "บันทึกปฏิทินแล้ว", "Calendar saved")
            return redirect("obec-rounds")
        except DmcError as exc:
            error, status = exc.message, exc.http_status
        except ValueError:
            error, status = tr("เวลาไม่ถูกต้อง (ชช:นน)", "Invalid time (hh:mm)"), 400
    fields = []
    labels = {
        "entry_opens_at": ("เปิดบันทึกข้อมูล", "Entry opens"),
        "entry_closes_at": ("ปิดบันทึกข้อมูล", "Entry closes"),
        "id_correction_deadline": ("กำหนดยื่นคำร้องแก้เลขประจำตัวประชาชน", "ID-correction deadline"),
        "confirm_opens_at": ("เปิดยืนยัน/รับรองข้อมูล", "Confirm window opens"),
        "confirm_closes_at": ("ปิดยืนยัน/รับรองข้อมูล", "Confirm window closes"),
        "self_cancel_deadline": ("โรงเรียนยกเลิกการยืนยันเองได้ถึง", "School self-cancel until"),
        "area_ack_closes_at": ("เขตพื้นที่รับทราบได้ถึง", "Area acknowledgement until"),
    }
    for f in services.WINDOW_FIELDS:
        local = clock.local(getattr(r, f))
        fields.append(
            {
                "name": f,
                "label": tr(*labels[f]),
                "date": f"{local.day:02d}/{local.month:02d}/{local.year + 543}",
                "time": f"{local:%H:%M}",
            }
        )
    return render(
        request,
        "dmc/round_edit.html",
        {"round": r, "fields": fields, "error": error},
        status=status,
    )
