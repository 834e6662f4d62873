"""Database triggers that make the audit tables append-only (SQLite and PostgreSQL).

``core_auditevent`` (every change) since migration core.0002, ``core_accessevent`` (PDPA reads,
issue 9) since core.0004. ``uninstall`` exists only for the test harness, whose transactional
tests empty every table between tests.
"""

from __future__ import annotations

from typing import Any

#: the append-only tables
TABLES = ("core_auditevent", "core_accessevent")


def _sqlite_install(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ]


def _sqlite_uninstall(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
    ]


_PG_FUNCTION = """CREATE OR REPLACE FUNCTION core_auditevent_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql"""


def _pg_install(table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE
       ON {table} FOR EACH ROW EXECUTE FUNCTION core_auditevent_refuse()""",
        f"""CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
       FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_refuse()""",
    ]


def _pg_uninstall(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
    ]


def _existing(connection: Any, tables: tuple[str, ...]) -> list[str]:
    present = set(connection.introspection.table_names())
    return [t for t in tables if t in present]


def install(connection: Any, tables: tuple[str, ...] = TABLES) -> None:
    pg = connection.vendor == "postgresql"
    statements = [_PG_FUNCTION] if pg else []
    for table in _existing(connection, tables):
        statements += _pg_install(table) if pg else _sqlite_install(table)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def uninstall(connection: Any, tables: tuple[str, ...] = TABLES) -> None:
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for table in _existing(connection, tables):
            for sql in _pg_uninstall(table) if pg else _sqlite_uninstall(table):
                cursor.execute(sql)
