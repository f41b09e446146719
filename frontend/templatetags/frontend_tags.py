"""Small display helpers for the frontend's templates. None of them marks anything safe."""

from urllib.parse import urlsplit

from django import template

from cases.handles import defang as _defang

register = template.Library()


@register.filter
def defang(value) -> str:
    """``https://bild.pics/x`` -> ``hxxps://bild[.]pics/x``: shown, never clickable as text."""
    return _defang(str(value)) if value else ""


@register.filter
def external_href(value) -> str:
    """The URL if it is an http(s) link to a host, else "" — so a ``javascript:`` or ``data:``
    URL that an import or capture stored never becomes a clickable ``href``."""
    if not value:
        return ""
    url = str(value).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return ""
    return url


@register.filter
def humanize_key(value) -> str:
    """``account_count`` -> ``Account count``, for showing a job's result keys."""
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced, for pager and filter links."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def page_url(context, param: str, number: int) -> str:
    """The current query string pointing ``param`` at page ``number`` (other pagers keep theirs)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"


@register.filter
def thousands(value) -> str:
    """``4812`` -> ``4,812``; anything that is not a whole number is shown as it is."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
