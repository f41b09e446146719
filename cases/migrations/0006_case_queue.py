"""Lead console, case queue: saved filters per user, the reviewer list of a review queue, and the
case queue's computed columns per case (with the audit-trail watermark that keeps them current)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_account_search_trigram")]

    operations = [
        migrations.CreateModel(
            name="QueueReviewer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("added_at", models.DateTimeField(auto_now_add=True)),
                (
                    "added_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "queue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reviewers",
                        to="cases.queue",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["added_at", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("queue", "user"), name="queue_reviewer_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="SavedFilter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("query", models.CharField(blank=True, max_length=1000)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="saved_filters",
                        to="cases.team",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="saved_filters",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
                "constraints": [
                    models.UniqueConstraint(fields=("user", "team", "name"), name="saved_filter_unique_name")
                ],
            },
        ),
        migrations.CreateModel(
            name="CaseQueueWatermark",
            fields=[
                (
                    "team",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="cases.team",
                    ),
                ),
                ("last_event_id", models.BigIntegerField(default=0)),
                ("refreshed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="CaseQueueStats",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="queue_stats",
                        serialize=False,
                        to="cases.case",
                    ),
                ),
                ("agreement", models.FloatField(blank=True, null=True)),
                ("conflicts", models.PositiveIntegerField(default=0)),
                ("consensus_name", models.CharField(blank=True, max_length=200)),
                ("consensus_share", models.FloatField(blank=True, null=True)),
                ("vote_count", models.PositiveIntegerField(default=0)),
                ("decided_confidence", models.CharField(blank=True, max_length=20)),
                ("open_suggestions", models.PositiveIntegerField(default=0)),
                ("activity_at", models.DateTimeField(blank=True, null=True)),
                ("refreshed_at", models.DateTimeField()),
                (
                    "consensus_actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="cases.actor",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cases.team"
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["team"], name="case_queue_stats_team")]},
        ),
    ]
