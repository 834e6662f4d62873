"""Helpers shared by the HTML views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

from dmc.accounts.actor import Actor


def actor_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Logged in and acting in a chosen role, else to login / the role picker."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "actor", None) is None:
            return redirect("role-pick")
        return view(request, *args, **kwargs)

    return wrapper


def actor_of(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert actor is not None  # guaranteed by actor_required
    return actor


def own_school_code(request: HttpRequest) -> str | None:
    """The SMIS code of the school the user acts for (school roles), else None."""
    assignment = getattr(request, "assignment", None)
    school = getattr(assignment, "school", None)
    return school.smis_code if school is not None else None
