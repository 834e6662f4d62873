"""Language selection and the one place that turns a DmcError into a page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
