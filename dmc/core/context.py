from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dmc.core import clock
from dmc.core.i18n import lang


def dmc_context(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "actor", None)
    queue_total = 0
    if actor is not None:
        from dmc.cases.services import awaiting

        queue_total = awaiting(actor).count()
    return {
        "queue_total": queue_total,
        "lang": lang(),
        "actor": getattr(request, "actor", None),
        "server_now": clock.local(clock.now()),
        "clock_settable": clock.settable(),
    }
