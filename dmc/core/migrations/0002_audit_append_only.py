"""Make the audit table append-only in the database itself (SQLite and PostgreSQL)."""

from django.db import migrations

from dmc.core import audit_sql


def forwards(apps, schema_editor):
    audit_sql.install(schema_editor.connection, ("core_auditevent",))


def backwards(apps, schema_editor):
    audit_sql.uninstall(schema_editor.connection, ("core_auditevent",))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
