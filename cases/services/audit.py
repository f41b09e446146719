import datetime
import decimal
import uuid
from typing import Any

from django.db import models

from cases.models import AuditEvent, Team


def json_value(value: Any) -> Any:
    """A JSON-safe form of a field value for the audit trail."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or ""
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The given fields of a row, JSON-safe, for a creation event."""
    return {name: json_value(getattr(instance, name)) for name in fields}


def record_event(
    *,
    team: Team | None,
    user,
    verb: str,
    target: models.Model,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. Called by services inside their transaction,
    so the event exists exactly when the change it describes does."""
    return AuditEvent.objects.create(
        team=team,
        user=user if user is not None and user.is_authenticated else None,
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:300],
        data=json_value(data or {}),
    )
