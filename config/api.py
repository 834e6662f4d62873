"""The REST API at /api/v1/: one NinjaAPI, its auth, and the one error shape.

Every error is ``{"code", "message", "fields"}`` (``ErrorOut``); messages follow the
``Accept-Language``/UI language (Thai by default).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from dmc.accounts import throttle
from dmc.accounts.actor import Actor
from dmc.accounts.services import token_authenticate
from dmc.core.errors import DmcError, ErrorCode, render_message
from dmc.perf.middleware import check_api_school, check_api_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer dmc_…``: acts as the role assignment the token was made for."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        check_api_token(token)  # issue 8: per-token rate limit (429), before the lookup
        # invalid tokens are throttled per client address like failed logins (issue 9)
        key = throttle.token_key(throttle.client_ip(request))
        throttle.check(ErrorCode.TOKEN_THROTTLED, key)
        actor = token_authenticate(token)
        if actor is None:
            throttle.record_failure(key)
        else:
            check_api_school(actor.school_id, actor.user.pk)  # issue 8: the school's fair share
            request.actor = actor  # type: ignore[attr-defined]
        return actor


class SessionActorAuth(APIKeyCookie):
    """The web session (CSRF-checked on unsafe methods), acting in the role picked at login."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return getattr(request, "actor", None)


api = NinjaAPI(
    title="Open DMC API",
    version="1",
    description=(
        "API ของระบบจัดเก็บข้อมูลนักเรียนรายบุคคล สำหรับระบบสารสนเทศของโรงเรียน / The Open DMC API"
        " for school information systems. Authenticate with `Authorization: Bearer <token>`"
        " (create one at POST /api/v1/tokens while logged in). Every error has the shape"
        ' {"code", "message", "fields"}.'
        " Rate limits: each token may make 10 requests per second on average (bursts of 40),"
        " and all requests for one school (web and API together) share 5 per second (bursts of"
        " 40); past that the answer is 429 with a Retry-After header (seconds) and the code"
        " `rate_limited`. When the whole service is overloaded, requests may be refused with 503,"
        " Retry-After and the code `server_busy`; such a request changed nothing, so it is safe"
        " to send it again after the wait."
    ),
    auth=[TokenAuth(), SessionActorAuth()],
    urls_namespace="api",
)


def _lang(request: HttpRequest) -> str:
    accept = request.headers.get("Accept-Language", "")
    if accept.lower().startswith("en"):
        return "en"
    return "en" if request.COOKIES.get("dmc_lang") == "en" else "th"


def _error(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


@api.exception_handler(DmcError)
def on_dmc_error(request: HttpRequest, exc: DmcError) -> HttpResponse:
    with translation.override(_lang(request)):
        response = _error(request, exc.http_status, exc.as_dict())
    for name, value in getattr(exc, "headers", {}).items():  # e.g. Retry-After on a 429
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "")))
    message = render_message(ErrorCode.VALIDATION, {}, _lang(request))
    return _error(request, 422, {"code": "validation", "message": message, "fields": fields})


@api.exception_handler(AuthenticationError)
def on_auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = render_message(ErrorCode.NOT_AUTHENTICATED, {}, _lang(request))
    return _error(request, 401, {"code": "not_authenticated", "message": message, "fields": {}})


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(exc.status_code, "error")
    return _error(request, exc.status_code, {"code": code, "message": str(exc), "fields": {}})


# issue 9: the database cannot be reached -> 503 db_unavailable with Retry-After (not ninja's 500)
@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_db_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    from dmc.core.middleware import unavailable_response

    return unavailable_response(request)


def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any /api/v1/ path no operation matches: 404 in the one error shape."""
    from django.http import JsonResponse

    message = render_message(ErrorCode.NOT_FOUND, {}, _lang(request))
    return JsonResponse(
        {"code": "not_found", "message": message, "fields": {}},
        status=404,
        json_dumps_params={"ensure_ascii": False},
    )


from dmc.accounts.api import router as accounts_router  # noqa: E402
from dmc.cases.api import router as cases_router  # noqa: E402
from dmc.exchange.api import router as exchange_router  # noqa: E402
from dmc.exchange.import_api import router as import_router  # noqa: E402
from dmc.reports.api import router as reports_router  # noqa: E402  (issue 7)
from dmc.rounds.api import router as rounds_router  # noqa: E402
from dmc.schools.api import router as schools_router  # noqa: E402
from dmc.students.api import router as students_router  # noqa: E402
from dmc.yearend.api import router as yearend_router  # noqa: E402

api.add_router("/", accounts_router)
api.add_router("/schools", schools_router)
api.add_router("/students", students_router)
api.add_router("/rounds", rounds_router)
api.add_router("/cases", cases_router)
api.add_router("/", exchange_router)
api.add_router("/imports", import_router)
api.add_router("/", yearend_router)  # issue 5
# issue 7: nutrition, per-head budget
from dmc.budget.api import router as budget_router  # noqa: E402
from dmc.nutrition.api import router as nutrition_router  # noqa: E402

api.add_router("/nutrition", nutrition_router)
api.add_router("/budget", budget_router)
# issue 9: the PDPA access report
from dmc.privacy.api import router as privacy_router  # noqa: E402

api.add_router("/", privacy_router)
api.add_router("/reports", reports_router)  # issue 7
