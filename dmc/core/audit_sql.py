"""Database triggers that make ``core_auditevent`` append-only (SQLite and PostgreSQL).

Installed by migration core.0002. ``uninstall`` exists only for the test harness, whose
transactional tests empty every table between tests.
"""

from __future__ import annotations

from typing import Any

_SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
]
_PG_INSTALL = [
    """CREATE OR REPLACE FUNCTION core_auditevent_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE
       ON core_auditevent FOR EACH ROW EXECUTE FUNCTION core_auditevent_refuse()""",
    """CREATE OR REPLACE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_refuse()""",
]
_PG_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent",
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
]


def install(connection: Any) -> None:
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for sql in _PG_INSTALL if pg else _SQLITE_INSTALL:
            cursor.execute(sql)


def uninstall(connection: Any) -> None:
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for sql in _PG_UNINSTALL if pg else _SQLITE_UNINSTALL:
            cursor.execute(sql)
