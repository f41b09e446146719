"""Lead console, review: adjudications, account outcomes, and what else agreement and decisions need."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The case timeline finds a case's audit events by the case id their data names (labels, votes,
# evidence, decisions, claims...). An expression index on PostgreSQL lets that lookup, OR-ed with the
# target index, skip the rest of the team's trail. SQLite (the embedded default) goes without.
AUDIT_CASE_INDEX = "audit_data_case"


def create_audit_case_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {AUDIT_CASE_INDEX} ON cases_auditevent ((data -> 'case'))"
        )


def drop_audit_case_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {AUDIT_CASE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_queue")]

    operations = [
        migrations.CreateModel(
            name="AccountOutcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("removed", "Removed"),
                            ("labeled", "Labeled"),
                            ("no_action", "No action"),
                            ("escalated", "Escalated"),
                        ],
                        max_length=20,
                    ),
                ),
                ("policy_basis", models.TextField(blank=True)),
                ("set_at", models.DateTimeField()),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outcomes",
                        to="cases.account",
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="outcomes", to="cases.case"
                    ),
                ),
                (
                    "set_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["case", "account"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("case", "account"), name="account_outcome_one_per_case_account"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("outcome__in", ["removed", "labeled", "no_action", "escalated"])),
                        name="account_outcome_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("policy_basis", ""), _negated=True),
                            ("outcome", "no_action"),
                            _connector="OR",
                        ),
                        name="account_outcome_policy_basis_required",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Adjudication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "verdict",
                    models.CharField(
                        choices=[
                            ("inauthentic", "Inauthentic"),
                            ("authentic", "Authentic"),
                            ("unsure", "Unsure"),
                        ],
                        max_length=20,
                    ),
                ),
                ("reason", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="adjudications",
                        to="cases.account",
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="adjudications",
                        to="cases.case",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "get_latest_by": ["created_at", "id"],
                "indexes": [
                    models.Index(fields=["case", "account", "-created_at"], name="adjudication_case_account")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("verdict__in", ["inauthentic", "authentic", "unsure"])),
                        name="adjudication_verdict_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True), name="adjudication_reason_required"
                    ),
                ],
            },
        ),
        migrations.RunPython(create_audit_case_index, drop_audit_case_index),
    ]
