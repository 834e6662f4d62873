"""Demo-only control of the shared server clock (absent when the clock is not settable)."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from dmc.accounts.web import actor_required
from dmc.core import clock
from dmc.core.errors import DmcError
from dmc.core.normalize import parse_date

PRESETS = [
    ("2565-03-01 09:00", "เปิดเมนูสิ้นปี 1 มี.ค. 2565", "Year-end menus open, 1 Mar 2022"),
    ("2565-04-30 07:59", "ก่อนเปิดปุ่มยืนยัน", "Just before the confirm window"),
    ("2565-04-30 08:00", "เปิดปุ่มยืนยัน 08:00", "Confirm window opens 08:00"),
    ("2565-04-30 16:29", "16:29 ก่อนปิดระบบ", "16:29, just before close"),
    ("2565-04-30 16:30", "ปิดระบบ 16:30", "System closes 16:30"),
]


@actor_required
def clock_view(request: HttpRequest) -> HttpResponse:
    if not clock.settable():
        raise Http404
    error = None
    if request.method == "POST":
        if request.POST.get("reset"):
            clock.set_clock(None)
            return redirect("demo-clock")
        try:
            day = parse_date(request.POST.get("date", ""), field="date")
            hh, mm = (int(x) for x in request.POST.get("time", "08:00").split(":")[:2])
            at = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=clock.BANGKOK)
        except (DmcError, ValueError) as exc:
            error = exc.message if isinstance(exc, DmcError) else str(exc)
        else:
            clock.set_clock(at)
            nxt = request.POST.get("next") or ""
            if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                nxt = "home"  # never an open redirect to another site
            return redirect(nxt)
    presets = []
    for value, th, en in PRESETS:
        d, t = value.split(" ")
        y, m, dd = d.split("-")
        presets.append({"date": f"{dd}/{m}/{y}", "time": t, "th": th, "en": en})
    return render(request, "dmc/demo_clock.html", {"presets": presets, "error": error})
