"""What a lead settles about the accounts of a case: the final verdict where reviewers disagree
(``Adjudication``) and what the platform did about each account (``AccountOutcome``)."""

from django.conf import settings
from django.db import models

from .accounts import Account
from .cases import Case
from .review import Verdict


class Adjudication(models.Model):
    """A lead's final verdict on one account of a case, with the reason. Every adjudication is
    kept; the newest per (case, account) stands. The reviewers' labels are never changed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="adjudications")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="adjudications")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(verdict__in=[v.value for v in Verdict]), name="adjudication_verdict_valid"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="adjudication_reason_required"),
        ]
        indexes = [
            models.Index(fields=["case", "account", "-created_at"], name="adjudication_case_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account} is {self.verdict} (adjudicated)"


class Outcome(models.TextChoices):
    REMOVED = "removed", "Removed"
    LABELED = "labeled", "Labeled"
    NO_ACTION = "no_action", "No action"
    ESCALATED = "escalated", "Escalated"


class AccountOutcome(models.Model):
    """The enforcement outcome for one account of a decided case and the policy it rests on.
    One row per (case, account); a change is recorded in the audit trail."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outcomes")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="outcomes")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    policy_basis = models.TextField(blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["case", "account"]
        constraints = [
            models.UniqueConstraint(fields=["case", "account"], name="account_outcome_one_per_case_account"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=[o.value for o in Outcome]), name="account_outcome_valid"
            ),
            # Acting on an account needs a policy to act under; "no action" may stand without one.
            models.CheckConstraint(
                condition=~models.Q(policy_basis="") | models.Q(outcome="no_action"),
                name="account_outcome_policy_basis_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.get_outcome_display()}"
