from django.conf import settings
from django.db import models

from .accounts import Account
from .teams import Team


class SuggestionStatus(models.TextChoices):
    NEW = "new", "New"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class SimilaritySuggestion(models.Model):
    """A pair of accounts the engine found alike, with the signals that say why.

    The pair is stored once, lower id first, so a sweep can upsert it without duplicates.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="suggestions")
    account_a = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    account_b = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    # [{"signal": "copy_paste", "score": 0.93, "detail": "12 near-identical posts"}, ...]
    signals = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=SuggestionStatus.choices, default=SuggestionStatus.NEW)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The score when it was dismissed: it is suggested again only if it rises by a margin.
    dismissed_score = models.FloatField(null=True, blank=True)
    job = models.ForeignKey("cases.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["account_a", "account_b"], name="suggestion_unique_pair"),
            models.CheckConstraint(
                condition=models.Q(account_a__lt=models.F("account_b")), name="suggestion_pair_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1), name="suggestion_score_0_1"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SuggestionStatus]),
                name="suggestion_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "status", "-score"], name="suggestion_team_status_score"),
            models.Index(fields=["account_b", "-score"], name="suggestion_b_score"),
        ]

    def __str__(self) -> str:
        return f"{self.account_a} ~ {self.account_b} ({self.score:.2f})"
