"""Middleware that sheds load fast when the server is past what it can do.

``AdmissionMiddleware`` (early in the chain): a bounded number of requests in flight per process,
a short bounded wait, then 503 + Retry-After. ``FairShareMiddleware`` (after the actor is known):
a token bucket per school (per user for area/OBEC roles), 429 + Retry-After, so one school (or
one runaway script) cannot take the capacity every other school needs on deadline day. API
tokens are limited in the API's auth (``check_api_token``), before the token is looked up.
Refusals are in the user's language: the API error shape under /api/, a short page elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from html import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from dmc.core.errors import DmcError, ErrorCode
from dmc.perf.limits import Admission, Buckets, Decision, RedisWindow
from dmc.perf.worker import queued_seconds

EXEMPT_PREFIXES = ("/static/",)


def _rate(spec: str) -> tuple[float, int]:
    """'5/30' -> (5 per second, bursts of 30)."""
    rate, _, burst = spec.partition("/")
    return float(rate), int(burst or max(1, int(float(rate))))


@lru_cache(maxsize=8)
def _admission(slots: int, queue: int, wait_ms: int) -> Admission:
    return Admission(slots, queue, wait_ms / 1000)


@lru_cache(maxsize=32)
def _buckets(name: str, spec: str, redis_url: str) -> Buckets | RedisWindow:
    rate, burst = _rate(spec)
    if redis_url:
        return RedisWindow(redis_url, rate, burst, prefix=f"dmc:rl:{name}:")
    return Buckets(rate, burst)


def admission() -> Admission | None:
    slots = int(getattr(settings, "DMC_ADMIT_SLOTS", 0))
    if slots <= 0:
        return None
    return _admission(
        slots, int(getattr(settings, "DMC_ADMIT_QUEUE", 0)), int(settings.DMC_ADMIT_WAIT_MS)
    )


def limiter(name: str) -> Buckets | RedisWindow | None:
    if not getattr(settings, "DMC_RATE_LIMITS", False):
        return None
    spec = getattr(settings, f"DMC_RATE_{name.upper()}", "")
    return _buckets(name, spec, getattr(settings, "DMC_RATE_REDIS_URL", "")) if spec else None


def _language(request: HttpRequest) -> str:
    if request.COOKIES.get("dmc_lang") == "en":
        return "en"
    if request.path.startswith("/api/"):
        return "en" if request.headers.get("Accept-Language", "").lower().startswith("en") else "th"
    return "th"


def refusal(request: HttpRequest, error: DmcError, retry_after: int) -> HttpResponse:
    """The refusal as the API error shape (JSON) or a small bilingual page, with Retry-After."""
    lang = _language(request)
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        response: HttpResponse = JsonResponse(
            {"code": error.code.value, "message": error.message_in(lang), "fields": {}},
            status=error.http_status,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        th, en = error.message_in("th"), error.message_in("en")
        first, second = (en, th) if lang == "en" else (th, en)
        body = (
            f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
            f"<title>Open DMC</title><h1>{escape(first)}</h1><p>{escape(second)}</p></html>"
        )
        response = HttpResponse(body, status=error.http_status, content_type="text/html")
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    # an intended refusal, counted by the access log: no django.request log line per request
    # (writing one for each shed request would spend the CPU the shedding is saving)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def busy_error(retry_after: int) -> DmcError:
    return DmcError(ErrorCode.SERVER_BUSY, http_status=503, retry_after=retry_after)


def limited_error(retry_after: int, who_th: str, who_en: str) -> DmcError:
    err = DmcError(
        ErrorCode.RATE_LIMITED,
        http_status=429,
        retry_after=retry_after,
        who_th=who_th,
        who_en=who_en,
    )
    err.headers = {"Retry-After": str(retry_after)}  # type: ignore[attr-defined]
    return err


class AdmissionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        gate = admission()
        if gate is None or request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        max_queue = int(getattr(settings, "DMC_ADMIT_MAX_QUEUE_MS", 0)) / 1000
        if (max_queue and queued_seconds() > max_queue) or not gate.acquire():
            retry = int(getattr(settings, "DMC_ADMIT_RETRY_AFTER", 2))
            return refusal(request, busy_error(retry), retry)
        try:
            return self.get_response(request)
        finally:
            gate.release()


class FairShareMiddleware:
    """Per school (school roles) or per user (area and OBEC roles), for web sessions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        actor = getattr(request, "actor", None)
        if actor is not None and not request.path.startswith(EXEMPT_PREFIXES):
            if actor.school_id:
                decision = _hit("school", f"{actor.school_id}")
                who = ("โรงเรียนนี้", "this school")
            else:
                decision = _hit("user", f"{actor.user.pk}")
                who = ("ผู้ใช้นี้", "this user")
            if not decision.allowed:
                err = limited_error(decision.retry_after, *who)
                return refusal(request, err, decision.retry_after)
        return self.get_response(request)


def _hit(name: str, key: str) -> Decision:
    buckets = limiter(name)
    return buckets.hit(key) if buckets is not None else Decision(True)


def check_api_token(secret: str) -> None:
    """Per API token (keyed by a hash of what was presented, before any lookup, so guessing
    tokens is limited too). Raises RATE_LIMITED (429, Retry-After)."""
    key = hashlib.sha256(secret.encode()).hexdigest()[:24]
    decision = _hit("token", key)
    if not decision.allowed:
        raise limited_error(decision.retry_after, "โทเค็น API นี้", "this API token")


def check_api_school(school_id: int | None, user_id: int) -> None:
    """The same per-school share for API requests as for the web (after authentication)."""
    decision = _hit("school", f"{school_id}") if school_id else _hit("user", f"{user_id}")
    if not decision.allowed:
        who = ("โรงเรียนนี้", "this school") if school_id else ("ผู้ใช้นี้", "this user")
        raise limited_error(decision.retry_after, *who)
