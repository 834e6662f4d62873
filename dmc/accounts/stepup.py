"""Step-up re-authentication (issue 9): certifying needs the password entered again within the
last ``DMC_STEP_UP_MINUTES`` minutes.

A web session keeps the time of the last step-up (bound to the user); a token-authenticated API
call has no session to keep it in, so it sends ``password`` with every certification. A wrong
password counts as a failed login for the account (throttled like the login page).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest

from dmc.accounts import throttle
from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode

SESSION_KEY = "dmc_step_up"


def _session_user(request: HttpRequest, actor: Actor) -> bool:
    """True when the request is the actor's own logged-in web session (not a token)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.pk == actor.user.pk)


def is_fresh(request: HttpRequest, actor: Actor) -> bool:
    if not _session_user(request, actor):
        return False
    mark = request.session.get(SESSION_KEY) or {}
    if mark.get("user") != actor.user.pk:
        return False
    try:
        at = dt.datetime.fromisoformat(str(mark.get("at")))
    except ValueError:
        return False
    age = clock.now() - at
    return dt.timedelta(0) <= age <= dt.timedelta(minutes=settings.DMC_STEP_UP_MINUTES)


def confirm_password(request: HttpRequest, actor: Actor, password: str) -> None:
    """Check the actor's password again; remember the step-up in the web session."""
    keys = (throttle.user_key(actor.user.username),)
    throttle.check(ErrorCode.LOGIN_THROTTLED, *keys)
    if not actor.user.check_password(password):
        throttle.record_failure(*keys)
        raise DmcError(ErrorCode.STEP_UP_FAILED, http_status=403, fields={"password": ["wrong"]})
    if _session_user(request, actor):
        request.session[SESSION_KEY] = {"user": actor.user.pk, "at": clock.now().isoformat()}


def require(request: HttpRequest, actor: Actor, password: str | None) -> None:
    """Pass with a correct ``password`` or a fresh step-up, else STEP_UP_REQUIRED/_FAILED (403)."""
    if password:
        confirm_password(request, actor, password)
        return
    if is_fresh(request, actor):
        return
    raise DmcError(
        ErrorCode.STEP_UP_REQUIRED,
        http_status=403,
        fields={"password": ["required"]},
        minutes=settings.DMC_STEP_UP_MINUTES,
    )
