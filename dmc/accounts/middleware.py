from __future__ import annotations

from collections.abc import Callable

from django.contrib import auth
from django.http import HttpRequest, HttpResponse

from dmc.accounts.actor import Actor
from dmc.accounts.backends import offered_user
from dmc.accounts.models import RoleAssignment

SESSION_KEY = "dmc_assignment_id"


class ActorMiddleware:
    """Attach ``request.actor``: the logged-in user acting in the role they picked (or None)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = None  # type: ignore[attr-defined]
        session = getattr(request, "session", None)
        assignment_id = session.get(SESSION_KEY) if session is not None else None
        user_id = session.get(auth.SESSION_KEY) if session is not None else None
        if assignment_id and user_id:
            # one query for the role, its school/area and the user; Django's session check then
            # runs on that user (backends.PreloadingBackend) instead of reading it again
            assignment = (
                RoleAssignment.objects.select_related("school__area", "area", "user")
                .filter(pk=assignment_id, user_id=user_id, status=RoleAssignment.Status.APPROVED)
                .first()
            )
            token = offered_user.set(assignment.user if assignment is not None else None)
            try:
                authenticated = request.user.is_authenticated
            finally:
                offered_user.reset(token)
            if assignment is not None and authenticated and request.user.pk == assignment.user_id:
                request.actor = Actor.from_assignment(  # type: ignore[attr-defined]
                    assignment, request_scoped=True
                )
                request.assignment = assignment  # type: ignore[attr-defined]
        return self.get_response(request)
