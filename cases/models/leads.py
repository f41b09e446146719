"""Lead console: a lead's saved case-queue filters and the reviewer list of a review queue."""

from django.conf import settings
from django.db import models

from .review import Queue
from .teams import Team


class SavedFilter(models.Model):
    """A named set of case-queue filters and sort order, kept per user and team.

    ``query`` is the case queue's query string, reduced to the parameters the queue knows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team", "name"], name="saved_filter_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueReviewer(models.Model):
    """A reviewer a lead put on a queue. A queue with no reviewers is open to every member of
    its team; once it has any, only they may claim its items."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queue_reviewer_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.queue}"


class CaseQueueStats(models.Model):
    """The case queue's computed columns of one case, kept so 10,000 cases sort by them without
    aggregating every label on every page view. Derived data: ``lead_cases.refresh_case_queue_stats``
    rebuilds the rows of cases whose audit trail moved (see there); nothing else writes them.

    ``activity_at`` is the newest label, vote or evidence; the queue takes the later of it and
    the case's own ``updated_at``."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="queue_stats"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    agreement = models.FloatField(null=True, blank=True)
    conflicts = models.PositiveIntegerField(default=0)
    consensus_actor = models.ForeignKey(
        "cases.Actor", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    consensus_name = models.CharField(max_length=200, blank=True)
    consensus_share = models.FloatField(null=True, blank=True)
    vote_count = models.PositiveIntegerField(default=0)
    decided_confidence = models.CharField(max_length=20, blank=True)
    open_suggestions = models.PositiveIntegerField(default=0)
    activity_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["team"], name="case_queue_stats_team")]

    def __str__(self) -> str:
        return f"queue stats of case {self.case_id}"


class CaseQueueWatermark(models.Model):
    """How far ``refresh_case_queue_stats`` has read a team's audit trail."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"case queue watermark of {self.team_id}: {self.last_event_id}"
