from django.conf import settings
from django.db import models

from .accounts import Account
from .cases import Case, Evidence
from .taxonomy import Actor, Technique
from .teams import Team


class Queue(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="queues")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True, related_name="queues")
    name = models.CharField(max_length=200)
    # How many different reviewers must label each item before it is done.
    labels_per_item = models.PositiveSmallIntegerField(default=1)
    # A claim is a lease: after this long without completion the item returns to the queue.
    lease_minutes = models.PositiveSmallIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="queue_unique_name_per_team"),
            models.CheckConstraint(
                condition=models.Q(labels_per_item__gte=1, labels_per_item__lte=20),
                name="queue_labels_per_item_1_20",
            ),
            models.CheckConstraint(condition=models.Q(lease_minutes__gte=1), name="queue_lease_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueItem(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="queue_items")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="queue_items")
    priority = models.SmallIntegerField(default=0)
    # Labels completed on this item; the item is done at the queue's labels_per_item.
    label_count = models.PositiveSmallIntegerField(default=0)
    is_done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "case", "account"], name="queue_item_unique"),
        ]
        indexes = [
            models.Index(
                fields=["queue", "-priority", "id"],
                condition=models.Q(is_done=False),
                name="queue_item_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} in {self.queue}"


class AssignmentState(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    RELEASED = "released", "Released"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """A reviewer's lease on a queue item."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    state = models.CharField(max_length=20, choices=AssignmentState.choices, default=AssignmentState.ACTIVE)
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            # One live lease per reviewer per item, whatever races happen above it.
            models.UniqueConstraint(
                fields=["item", "user"],
                condition=models.Q(state="active"),
                name="assignment_one_active_per_user_item",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("claimed_at")),
                name="assignment_expires_after_claim",
            ),
        ]
        indexes = [models.Index(fields=["user", "state"], name="assignment_user_state")]

    def __str__(self) -> str:
        return f"{self.user} → {self.item} ({self.state})"


class Verdict(models.TextChoices):
    INAUTHENTIC = "inauthentic", "Inauthentic"
    AUTHENTIC = "authentic", "Authentic"
    UNSURE = "unsure", "Unsure"


class Label(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="labels")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="labels")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    techniques = models.ManyToManyField(Technique, blank=True, related_name="labels")
    note = models.TextField(blank=True)
    seconds_spent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "account", "annotator"], name="label_one_per_annotator_account_case"
            ),
            models.CheckConstraint(
                condition=models.Q(verdict__in=[v.value for v in Verdict]), name="label_verdict_valid"
            ),
        ]
        indexes = [models.Index(fields=["annotator", "-created_at"], name="label_annotator_recent")]

    def __str__(self) -> str:
        return f"{self.annotator}: {self.account} is {self.verdict}"


class Confidence(models.TextChoices):
    # The estimative words analysts use for each level, shown beside the choice.
    LOW = "low", "Low — possible, evidence is thin"
    MODERATE = "moderate", "Moderate — likely, plausible alternatives remain"
    HIGH = "high", "High — almost certain, well corroborated"


class AttributionVote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    actor = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="votes")
    confidence = models.CharField(max_length=20, choices=Confidence.choices)
    rationale = models.TextField()
    cited_evidence = models.ManyToManyField(Evidence, blank=True, related_name="cited_by_votes")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "voter"], name="vote_one_per_voter_case"),
            models.CheckConstraint(
                condition=models.Q(confidence__in=[c.value for c in Confidence]), name="vote_confidence_valid"
            ),
            models.CheckConstraint(condition=~models.Q(rationale=""), name="vote_rationale_required"),
        ]

    def __str__(self) -> str:
        return f"{self.voter}: {self.actor} ({self.confidence})"


class AttributionDecision(models.Model):
    """A lead's decision on who is behind a case. Every decision is kept; the newest stands."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decisions")
    actor = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="decisions")
    confidence = models.CharField(max_length=20, choices=Confidence.choices)
    rationale = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    # Set when the case is reopened: the decision no longer stands, but stays in the history.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-decided_at"]
        get_latest_by = "decided_at"
        constraints = [
            models.CheckConstraint(condition=~models.Q(rationale=""), name="decision_rationale_required"),
            models.CheckConstraint(
                condition=models.Q(confidence__in=[c.value for c in Confidence]),
                name="decision_confidence_valid",
            ),
            # At most one standing decision per case.
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(withdrawn_at__isnull=True), name="decision_one_standing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.actor} ({self.confidence})"
