"""Pure functions that turn what people paste into the keys the database holds."""

import re
from urllib.parse import urlsplit

_URL_PREFIX = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.|m\.|mobile\.)?", re.IGNORECASE)
# Paths whose first segment is a profile name on these hosts, e.g. x.com/NAME/status/1.
_PROFILE_HOSTS = {
    "x.com",
    "twitter.com",
    "facebook.com",
    "instagram.com",
    "tiktok.com",
    "youtube.com",
    "t.me",
    "reddit.com",
}


def refang(value: str) -> str:
    """'bild[.]pics' / 'hxxps://x[.]com' -> 'bild.pics' / 'https://x.com'."""
    value = value.strip().replace("[.]", ".").replace("(.)", ".").replace("[dot]", ".")
    return re.sub(r"^hxxp", "http", value, flags=re.IGNORECASE)


def defang(value: str) -> str:
    """The display form of a domain or URL: not clickable, not auto-linked by mail clients."""
    value = re.sub(r"^http", "hxxp", value, flags=re.IGNORECASE)
    return value.replace(".", "[.]")


def normalize_handle(handle: str) -> str:
    """The unique key of an account in a team and platform.

    Case-insensitive; a leading '@' and URL forms (``https://x.com/NAME/status/1``,
    ``reddit.com/user/NAME``, ``youtube.com/@NAME``) are reduced to the bare name.
    """
    value = refang(handle)
    if "/" in value:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        host = _URL_PREFIX.sub("", parts.netloc.lower())
        segments = [s for s in parts.path.split("/") if s]
        if host in _PROFILE_HOSTS and segments:
            if segments[0] in {"user", "u", "channel", "c"} and len(segments) > 1:
                value = segments[1]
            else:
                value = segments[0]
        elif segments:
            value = segments[-1]
    return value.strip().lstrip("@").lower()
