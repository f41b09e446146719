from django.conf import settings
from django.db import models

from .cases import Evidence


class CustodyAction(models.TextChoices):
    VIEWED = "viewed", "Viewed"
    DOWNLOADED = "downloaded", "File downloaded"
    EXPORTED = "exported", "Exported"
    RETRACTED = "retracted", "Retracted"


class CustodyEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Custody events are append-only.")

    def delete(self):
        raise TypeError("Custody events are append-only.")


class CustodyEvent(models.Model):
    """One link of an evidence item's chain of custody after its capture: who viewed, downloaded,
    exported or retracted it, and when. Append-only: a database trigger refuses UPDATE.

    The capture itself is not an event here: who captured the item, when, how and with which
    persona are fields of the (immutable) evidence row, and the manifest starts its chain there.
    """

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody_events")
    action = models.CharField(max_length=20, choices=CustodyAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    # What was seen or sent: {"file": id, "sha256": ...} for a download, {"format": "json"} for an export.
    detail = models.JSONField(default=dict, blank=True)

    objects = CustodyEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["evidence", "at"], name="custody_evidence_at")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=[a.value for a in CustodyAction]), name="custody_action_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} evidence #{self.evidence_id} by {self.user}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Custody events are append-only.")
        super().save(*args, **kwargs)
