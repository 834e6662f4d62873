from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dmc.accounts.actor import Actor
from dmc.accounts.models import RoleAssignment

SESSION_KEY = "dmc_assignment_id"


class ActorMiddleware:
    """Attach ``request.actor``: the logged-in user acting in the role they picked (or None)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = None  # type: ignore[attr-defined]
        assignment_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if assignment_id and request.user.is_authenticated:
            assignment = (
                RoleAssignment.objects.select_related("school", "area", "user")
                .filter(pk=assignment_id, user=request.user, status=RoleAssignment.Status.APPROVED)
                .first()
            )
            if assignment is not None:
                request.actor = Actor.from_assignment(assignment)  # type: ignore[attr-defined]
                request.assignment = assignment  # type: ignore[attr-defined]
        return self.get_response(request)
