"""Reports from a streaming replica (SPEC §13).

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database and this router sends the
*reads* of the apps in ``DMC_REPLICA_APPS`` (the report summaries, by default) there; every
write, every migration and every read of other apps stay on the primary, so a school always
reads its own writes. Code that wants a heavy read on the replica explicitly (a national report
over the base tables) uses ``.using(reporting_alias())``. Without a replica everything is on
``default``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def has_replica() -> bool:
    return "replica" in settings.DATABASES


def reporting_alias() -> str:
    return "replica" if has_replica() else "default"


class ReplicaRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        apps = getattr(settings, "DMC_REPLICA_APPS", ())
        if model._meta.app_label in apps and has_replica():
            return "replica"
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is a copy of the primary: same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"
