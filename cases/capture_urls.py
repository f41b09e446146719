"""Which platform account a browser URL is about.

The extension parses the URL of the page it captures with ``frontend/extension/lib/platforms.js``;
the server parses it again with :func:`parse_account_url` and refuses a capture whose platform or
handle disagree. Both implementations are tested against one table,
``tests/fixtures/capture_urls.json``, so a rule changed in one place and not the other fails a test.

The rules, in short (hosts are matched case-insensitively, ``www.``/``m.``/``mobile.`` and the
other listed mobile hosts are accepted, query strings and fragments are ignored):

- x: ``x.com`` / ``twitter.com`` ``/NAME`` and ``/NAME/status/ID`` (NAME is 1-15 of ``A-Za-z0-9_``;
  site sections such as ``/home``, ``/i/…``, ``/search`` are not accounts);
- facebook: ``/NAME`` and ``/NAME/posts/…``, ``/profile.php?id=ID``, ``/people/NAME/ID`` (→ ID);
- instagram: ``/NAME``, ``/stories/NAME/…`` (``/p/…`` and ``/reel/…`` carry no author: None);
- tiktok: ``/@NAME`` and ``/@NAME/video/ID``;
- youtube: ``/@NAME`` and ``/channel/ID``;
- telegram: ``t.me`` / ``telegram.me`` ``/NAME``, ``/NAME/ID``, ``/s/NAME`` (invites and ``/c/`` are not);
- reddit: ``/user/NAME`` and ``/u/NAME``.

The handle is returned as written in the URL, without ``@``; the server compares handles with
``normalize_handle`` (case-insensitive), which is how accounts are keyed.
"""

import re
from urllib.parse import parse_qs, urlsplit

_HOSTS = {
    "x": {"x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com"},
    "facebook": {
        "facebook.com",
        "m.facebook.com",
        "mbasic.facebook.com",
        "web.facebook.com",
        "touch.facebook.com",
    },
    "instagram": {"instagram.com", "m.instagram.com"},
    "tiktok": {"tiktok.com", "m.tiktok.com"},
    "youtube": {"youtube.com", "m.youtube.com"},
    "telegram": {"t.me", "telegram.me"},
    "reddit": {"reddit.com", "old.reddit.com", "new.reddit.com", "m.reddit.com"},
}
_PLATFORM_BY_HOST = {host: platform for platform, hosts in _HOSTS.items() for host in hosts}

_X_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_X_RESERVED = {
    "home", "explore", "search", "i", "settings", "messages", "notifications", "intent", "hashtag",
    "share", "login", "logout", "signup", "tos", "privacy", "compose", "jobs", "lists", "topics",
}  # fmt: skip
_FB_HANDLE = re.compile(r"^[A-Za-z0-9.\-]{1,80}$")
_FB_RESERVED = {
    "login", "logout", "watch", "groups", "events", "pages", "marketplace", "gaming", "reel", "reels",
    "hashtag", "search", "help", "settings", "share", "sharer", "sharer.php", "photo.php", "story.php",
    "permalink.php", "home.php", "plugins", "policies", "privacy", "stories", "friends", "messages",
    "notifications", "bookmarks", "ads", "business",
}  # fmt: skip
_IG_HANDLE = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_IG_RESERVED = {"p", "reel", "reels", "explore", "accounts", "direct", "tv", "about", "legal", "developer"}
_TIKTOK_HANDLE = re.compile(r"^@([A-Za-z0-9._]{1,40})$")
_YT_HANDLE = re.compile(r"^@([A-Za-z0-9._\-]{1,100})$")
_YT_CHANNEL = re.compile(r"^UC[A-Za-z0-9_\-]{22}$")
_TG_HANDLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,31}$")
_TG_RESERVED = {"joinchat", "addstickers", "addemoji", "share", "proxy", "socks", "c", "s", "iv", "login"}
_REDDIT_HANDLE = re.compile(r"^[A-Za-z0-9_\-]{1,30}$")
_DIGITS = re.compile(r"^[0-9]{1,30}$")


def parse_account_url(url: str) -> tuple[str, str] | None:
    """``"https://x.com/Name/status/1?s=20"`` -> ``("x", "Name")``; None if not an account URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"}:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    platform = _PLATFORM_BY_HOST.get(host)
    if platform is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    handle = _PARSERS[platform](segments, parts.query)
    return (platform, handle) if handle else None


def _x(segments: list[str], query: str) -> str | None:
    if segments and segments[0].lower() not in _X_RESERVED and _X_HANDLE.match(segments[0]):
        return segments[0]
    return None


def _facebook(segments: list[str], query: str) -> str | None:
    if not segments:
        return None
    first = segments[0]
    if first == "profile.php":
        ids = parse_qs(query).get("id", [])
        return ids[0] if ids and _DIGITS.match(ids[0]) else None
    if first == "people" and len(segments) >= 3 and _DIGITS.match(segments[2]):
        return segments[2]
    if first.lower() in _FB_RESERVED or first == "people":
        return None
    return first if _FB_HANDLE.match(first) else None


def _instagram(segments: list[str], query: str) -> str | None:
    if not segments:
        return None
    if segments[0] == "stories" and len(segments) >= 2:
        name = segments[1]
        return name if name != "highlights" and _IG_HANDLE.match(name) else None
    if segments[0].lower() in _IG_RESERVED or segments[0] == "stories":
        return None
    return segments[0] if _IG_HANDLE.match(segments[0]) else None


def _tiktok(segments: list[str], query: str) -> str | None:
    match = _TIKTOK_HANDLE.match(segments[0]) if segments else None
    return match.group(1) if match else None


def _youtube(segments: list[str], query: str) -> str | None:
    if not segments:
        return None
    match = _YT_HANDLE.match(segments[0])
    if match:
        return match.group(1)
    if segments[0] == "channel" and len(segments) >= 2 and _YT_CHANNEL.match(segments[1]):
        return segments[1]
    return None


def _telegram(segments: list[str], query: str) -> str | None:
    if not segments:
        return None
    if segments[0] == "s" and len(segments) >= 2:
        segments = segments[1:]
    name = segments[0]
    if name.lower() in _TG_RESERVED or not _TG_HANDLE.match(name):
        return None
    return name


def _reddit(segments: list[str], query: str) -> str | None:
    if len(segments) >= 2 and segments[0] in {"user", "u"} and _REDDIT_HANDLE.match(segments[1]):
        return segments[1]
    return None


_PARSERS = {
    "x": _x,
    "facebook": _facebook,
    "instagram": _instagram,
    "tiktok": _tiktok,
    "youtube": _youtube,
    "telegram": _telegram,
    "reddit": _reddit,
}
