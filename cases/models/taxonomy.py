from django.conf import settings
from django.db import models

from .teams import Team


class ActorKind(models.TextChoices):
    STATE = "state", "State-linked"
    COMMERCIAL = "commercial", "Commercial (PR / marketing firm)"
    POLITICAL = "political", "Political party or campaign"
    INDIVIDUAL = "individual", "Individual"
    UNKNOWN = "unknown", "Unknown"


class Actor(models.Model):
    """Who a network is attributed to."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="actors")
    name = models.CharField(max_length=200)
    aliases = models.JSONField(default=list, blank=True)
    country = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=ActorKind.choices, default=ActorKind.UNKNOWN)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="actor_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class Technique(models.Model):
    """One procedure of Meta's Online Operations Kill Chain (tactic → technique → procedure).

    Loaded by a data migration; shared by every team because it is a public taxonomy.
    """

    tactic_code = models.CharField(max_length=10)
    tactic = models.CharField(max_length=200)
    technique_code = models.CharField(max_length=10)
    technique = models.CharField(max_length=200)
    procedure_code = models.CharField(max_length=20, unique=True)
    procedure = models.CharField(max_length=300)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        indexes = [models.Index(fields=["tactic_code"], name="technique_tactic")]

    def __str__(self) -> str:
        return f"{self.procedure_code} {self.procedure}"
