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
