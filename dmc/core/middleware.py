"""Language selection and the one place that turns a DmcError into a page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation

from dmc.core.errors import DmcError

LANG_COOKIE = "dmc_lang"


class LanguageMiddleware:
    """Thai unless the user switched to English (cookie set by the switch view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = "en" if request.COOKIES.get(LANG_COOKIE) == "en" else "th"
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, DmcError) or request.path.startswith("/api/"):
            return None
        return render(request, "dmc/error.html", {"error": exc}, status=exc.http_status)


class RejectNulMiddleware:
    """NUL characters are never valid text (PostgreSQL cannot store them): refuse a request that
    carries one in its path, query or a non-file body with a 400, before any code sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            from dmc.core.errors import ErrorCode, render_message

            message = render_message(ErrorCode.VALIDATION, {})
            body = {"code": "validation", "message": message, "fields": {"__all__": ["NUL"]}}
            return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if any("\x00" in v for values in request.GET.lists() for v in values[1]):
            return True
        if request.content_type == "multipart/form-data":
            return False  # evidence files are binary; their form fields are checked as read
        body = request.body
        return b"\x00" in body or b"\\u0000" in body or b"%00" in body


# --- issue 9: the database unavailable -----------------------------------------------------------


def _db_down(exc: BaseException | None) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the one error shape for the API, a self-contained Thai/English page
    for the web (rendered without the database: no context processors, no session)."""
    from django.conf import settings
    from django.template.loader import render_to_string

    from dmc.core.errors import ErrorCode, render_message

    retry = int(getattr(settings, "DMC_RETRY_AFTER_SECONDS", 30))
    if request.path.startswith("/api/"):
        accept = request.headers.get("Accept-Language", "").lower()
        language = (
            "en" if accept.startswith("en") or request.COOKIES.get(LANG_COOKIE) == "en" else "th"
        )
        message = render_message(ErrorCode.DB_UNAVAILABLE, {"retry_after": retry}, language)
        response: HttpResponse = JsonResponse(
            {"code": ErrorCode.DB_UNAVAILABLE.value, "message": message, "fields": {}},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        language = "en" if request.COOKIES.get(LANG_COOKIE) == "en" else "th"
        message = render_message(ErrorCode.DB_UNAVAILABLE, {"retry_after": retry}, language)
        html = render_to_string(
            "dmc/unavailable.html",
            {"message": message, "code": ErrorCode.DB_UNAVAILABLE.value, "lang": language},
        )
        response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry)
    response["Cache-Control"] = "no-store"
    return response


def _mark_db_error(sender: object, request: HttpRequest | None = None, **_: object) -> None:
    """got_request_exception: remember that the request failed because the database is down
    (the exception may come from a middleware, e.g. the session or user lookup, where no
    process_exception sees it)."""
    import sys

    if request is not None and _db_down(sys.exc_info()[1]):
        request._dmc_db_down = True  # type: ignore[attr-defined]


class DatabaseUnavailableMiddleware:
    """Turn "the database cannot be reached" (OperationalError / InterfaceError: connection
    refused, server shutting down, connection lost) into a fast 503 with Retry-After instead of a
    500 page, wherever it was raised. Django closes the broken connection at the end of the
    request (and CONN_HEALTH_CHECKS checks a reused one), so service resumes by itself as soon as
    the database is back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.core.signals import got_request_exception

        self.get_response = get_response
        got_request_exception.connect(_mark_db_error, dispatch_uid="dmc-db-unavailable")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_dmc_db_down", False) and response.status_code >= 500:
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if _db_down(exc):
            from django.db import connections

            for conn in connections.all(initialized_only=True):
                conn.close_if_unusable_or_obsolete()
            return unavailable_response(request)
        return None
