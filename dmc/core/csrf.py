"""CSRF_FAILURE_VIEW (issue 9, found by schemathesis): a refused CSRF check answers in the
project's shapes — the JSON error body on /api/, the Thai/English error page on the web —
instead of Django's English HTML page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from dmc.core.errors import DmcError, ErrorCode, render_message
from dmc.core.middleware import LANG_COOKIE


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        accept = request.headers.get("Accept-Language", "").lower()
        language = (
            "en" if accept.startswith("en") or request.COOKIES.get(LANG_COOKIE) == "en" else "th"
        )
        return JsonResponse(
            {
                "code": ErrorCode.CSRF_FAILED.value,
                "message": render_message(ErrorCode.CSRF_FAILED, {}, language),
                "fields": {},
            },
            status=403,
            json_dumps_params={"ensure_ascii": False},
        )
    error = DmcError(ErrorCode.CSRF_FAILED, http_status=403)
    return render(request, "dmc/error.html", {"error": error}, status=403)
