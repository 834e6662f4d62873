"""Build the roll-up for the data already there (a fresh database has none: nothing to do), and
two partial indexes on other apps' tables that the dropout and disadvantaged reports read
(plain SQL that SQLite and PostgreSQL both accept)."""

from django.db import migrations


def build(apps, schema_editor):  # type: ignore[no-untyped-def]
    SchoolYearStats = apps.get_model("rounds", "SchoolYearStats")
    years = sorted(set(SchoolYearStats.objects.values_list("academic_year", flat=True)))
    if not years:
        return
    from dmc.reports import rollup  # the current code: run right after 0001 on existing data

    for year in years:
        rollup.rebuild(year)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("rounds", "0004_loadbatch"),
        ("students", "0003_enrolment_dropout_reason_enrolment_leave_note_and_more"),
    ]

    operations = [
        migrations.RunPython(build, migrations.RunPython.noop),
        migrations.RunSQL(
            "CREATE INDEX reports_enrol_dropout ON students_enrolment"
            " (academic_year, school_id, dropout_reason) WHERE status = 'dropout'",
            "DROP INDEX reports_enrol_dropout",
        ),
        migrations.RunSQL(
            "CREATE INDEX reports_person_disadv ON students_person (disadvantaged)"
            " WHERE disadvantaged NOT IN ('', '00')",
            "DROP INDEX reports_person_disadv",
        ),
    ]
