"""Template helpers of the lead console."""

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def short_age(value, now=None) -> str:
    """How long ago, in its largest unit: ``3 d``, ``5 h``, ``12 min``."""
    if not value:
        return ""
    seconds = max(0, int(((now or timezone.now()) - value).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


@register.filter
def percent(value) -> str:
    """``0.834`` -> ``83%``; None (nothing to measure) -> ``—``."""
    if value is None or value == "":
        return "—"
    try:
        return f"{round(float(value) * 100)}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def seconds_short(value) -> str:
    """``95.0`` -> ``1 min 35 s``; None -> ``—``."""
    if value is None:
        return "—"
    seconds = round(float(value))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"
