"""The login backend: Django's ``ModelBackend`` that can hand back a user already loaded.

Every page needs the user (Django's session check) and the role the user picked
(``ActorMiddleware``: the assignment with its school and area). ``ActorMiddleware`` loads the
assignment together with its user in one query and offers that user here before
``request.user`` is first read; Django's own ``auth.get_user`` then runs as always (active check,
session-hash verification, flush on a changed password) on the offered object instead of
querying the user again. A user not offered, or offered for another id, is read from the
database as before.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.contrib.auth.backends import ModelBackend

#: the user loaded with the request's role assignment (set only while ``request.user`` is resolved)
offered_user: contextvars.ContextVar[Any] = contextvars.ContextVar("offered_user", default=None)

PATH = "dmc.accounts.backends.PreloadingBackend"


class PreloadingBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = offered_user.get()
        if user is not None and str(user.pk) == str(user_id):
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)
