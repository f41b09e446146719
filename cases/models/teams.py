from django.conf import settings
from django.db import models


class Team(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    # How many attribution votes a lead needs before deciding (the lead console's quorum).
    attribution_quorum = models.PositiveSmallIntegerField(default=3)
    # Per-team overrides of the similarity engine's signal weights; empty means the defaults.
    similarity_weights = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    MODERATOR = "moderator", "Moderator"
    LEAD = "lead", "Lead"
    ADMIN = "admin", "Admin"


class MembershipQuerySet(models.QuerySet):
    def leads(self):
        return self.filter(role__in=[Role.LEAD, Role.ADMIN])


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MODERATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_one_per_user_team"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.LEAD, Role.ADMIN)
