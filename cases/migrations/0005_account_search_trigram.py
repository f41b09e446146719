"""Trigram indexes for the API's and the workspace's account search.

``?search=`` is a case-insensitive substring match on handle and display name, which Django
writes as ``UPPER(col::text) LIKE UPPER('%term%')``. A GIN ``gin_trgm_ops`` index on exactly
that expression lets PostgreSQL answer it from the index instead of reading every account of
the team. SQLite has no trigram index; there the migration does nothing.
"""

from django.db import migrations

INDEXES = {
    "account_handle_upper_trgm": "handle",
    "account_display_name_upper_trgm": "display_name",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON cases_account "
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_apitoken")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
