"""Display helpers for the moderator workspace. None of them marks anything safe: every value
they return is plain text that the template escapes."""

import re

from django import template
from django.utils import timezone

register = template.Library()

# Characters that reorder or hide text: bidirectional overrides and isolates (the "RTL override"
# trick that turns "evil\u202egnp.exe" into "evilexe.png"), zero-width characters, the BOM.
_CONTROLS = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

VERDICT_KEYS = {"inauthentic": "1", "authentic": "2", "unsure": "3"}


@register.filter
def reveal(value) -> str:
    """Adversary text with its invisible control characters shown as ``[U+202E]``."""
    if value is None:
        return ""
    return _CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(value))


@register.filter
def time_left(expires_at) -> str:
    """``27 min`` / ``40 s`` / ``expired`` until a lease's expiry."""
    if not expires_at:
        return ""
    seconds = int((expires_at - timezone.now()).total_seconds())
    if seconds <= 0:
        return "expired"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@register.filter
def percent(value) -> str:
    """0.8731 -> ``87%``."""
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def score(value) -> str:
    """0.8731 -> ``0.87``."""
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def verdict_key(value) -> str:
    return VERDICT_KEYS.get(str(value), "")


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template, or None."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def signal_name(value) -> str:
    """``copy_paste`` -> ``Copy paste``."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.inclusion_tag("frontend/workspace/_ext_link.html")
def ext_link(url, length: int = 60, css: str = ""):
    """A link out, shown defanged: opens in a new tab with no referrer and no opener; the real
    address is in the tooltip. A ``javascript:`` or other non-http(s) value is never a link."""
    return {"url": url or "", "length": length, "css": css}


@register.filter
def dom_id(value) -> str:
    """``0.9.4`` -> ``0-9-4``: safe in an id and in a CSS selector."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(value))
