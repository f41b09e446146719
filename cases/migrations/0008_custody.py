"""Browser capture: custody events, and every stored avatar carries its perceptual hash.

Custody events are append-only like evidence and audit events (migration 0002): the model and
its queryset refuse edits, and a BEFORE UPDATE trigger refuses them in the database itself.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "cases_custodyevent"


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # annotator_refuse_update() is created by migration 0002.
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION annotator_refuse_update();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'rows of {TABLE} are immutable'); END;"
        )


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable ON {TABLE};")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable;")


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_lead_review")]

    operations = [
        migrations.CreateModel(
            name="CustodyEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("viewed", "Viewed"),
                            ("downloaded", "File downloaded"),
                            ("exported", "Exported"),
                            ("retracted", "Retracted"),
                        ],
                        max_length=20,
                    ),
                ),
                ("at", models.DateTimeField(auto_now_add=True)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "evidence",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="custody_events",
                        to="cases.evidence",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["at", "id"],
                "indexes": [models.Index(fields=["evidence", "at"], name="custody_evidence_at")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("action__in", ["viewed", "downloaded", "exported", "retracted"])),
                        name="custody_action_valid",
                    )
                ],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("avatar", ""), models.Q(("avatar_phash", ""), _negated=True), _connector="OR"
                ),
                name="account_avatar_has_phash",
            ),
        ),
    ]
