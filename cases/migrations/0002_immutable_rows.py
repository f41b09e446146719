"""Make evidence, evidence files and audit events refuse UPDATE in the database itself.

The models and admin refuse edits too; the trigger is the last line, so that no code path —
a raw queryset update, a shell session, a future bug — can alter what a report relies on.
Deletes are refused by PROTECT foreign keys and the admin; a trigger on DELETE would break
the test runner's table flush.
"""

from django.db import migrations

TABLES = ["cases_evidence", "cases_evidencefile", "cases_auditevent"]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION annotator_refuse_update() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'rows of % are immutable', TG_TABLE_NAME;
            END
            $$ LANGUAGE plpgsql;
            """,
            params=None,  # no placeholders: the '%' is PL/pgSQL's, not the driver's
        )
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION annotator_refuse_update();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'rows of {table} are immutable'); END;"
            )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS annotator_refuse_update();")


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
