"""Reading Meta's threat-indicator files (facebook/threat-research, MIT). No database access.

Four formats, all as Meta publishes them, inconsistencies included:

- ``killchain_csv``: ``Tactic, Technique, Procedure, Indicator[, Comments|Notes|Note|…]`` — header
  spellings and trailing spaces vary, blank separator rows, procedure cells broken over lines;
- ``indicator_csv`` and ``indicator_json``: the older ``indicator_type, indicator_value, comment, ds``;
- ``markdown``: a report with a title, a summary section and an ``Indicator Type | Indicator Value``
  table.

``parse_indicator_file`` turns any of them into an ``IndicatorFile``: the network's human name, a
summary, and one ``Indicator`` per row, each classified as an account (with platform, handle and
profile URL), a domain, a URL, a count written as prose ("7,704 Facebook accounts" — a note, never
an invented account) or other text (hashes, e-mail addresses, descriptions). Values are refanged
(``twitter[.]com`` → ``twitter.com``); display code defangs them again.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import parse_qs, urlsplit

from cases.handles import normalize_handle, refang
from cases.taxonomy import split_code

FORMAT_LABELS = {
    "killchain_csv": "Meta kill-chain CSV",
    "indicator_csv": "Meta indicator CSV",
    "indicator_json": "Meta indicator JSON",
    "markdown": "Meta indicator report (Markdown)",
}
MAX_VALUE = 2000

ACCOUNT = "account"
DOMAIN = "domain"
URL = "url"
COUNT = "count"
TEXT = "text"


class IndicatorFormatError(ValueError):
    """The file is not one of Meta's indicator formats, or cannot be read as one."""


@dataclass(frozen=True, slots=True)
class Indicator:
    line: int  # the file's line (CSV, Markdown) or the entry's position (JSON), from 1
    value: str  # as published
    kind: str  # account, domain, url, count or text
    procedure_code: str = ""
    procedure: str = ""
    indicator_type: str = ""
    comment: str = ""
    platform: str = ""
    handle: str = ""
    handle_normalized: str = ""
    profile_url: str = ""
    domain: str = ""
    url: str = ""


@dataclass
class IndicatorFile:
    name: str
    sha256: str
    format: str
    network: str
    summary: str
    indicators: list[Indicator] = field(default_factory=list)
    # (line, reason) of rows that could not be read as an indicator.
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Kill-chain procedures cited by rows, including rows without an indicator value.
    procedure_codes: list[str] = field(default_factory=list)
    upstream_url: str = ""
    content: bytes = field(default=b"", repr=False)  # the file itself, for the evidence attachment

    @property
    def rows(self) -> int:
        return len(self.indicators) + len(self.rejected)


# --- sniffing -------------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IndicatorFormatError("The file is not UTF-8 text.") from None


def sniff_indicator_format(head: bytes) -> str:
    """The format of an indicator file from its first bytes (≥ the first line), or an error."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IndicatorFormatError("The file is UTF-16; save it as UTF-8.")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise IndicatorFormatError("The file is not UTF-8 text.") from None
    stripped = text.lstrip()
    if not stripped:
        raise IndicatorFormatError("The file is empty.")
    if stripped.startswith("["):
        return "indicator_json"
    # Any Markdown file starts with '#': a report says what it is in its title or its table.
    if re.match(r"#\s*indicators of compromise", stripped, re.IGNORECASE) or re.search(
        r"^\|.*indicator.*\|", stripped, re.IGNORECASE | re.MULTILINE
    ):
        return "markdown"
    header = {cell.strip().lower() for cell in next(csv.reader([stripped.splitlines()[0]]), [])}
    if {"procedure", "indicator"} <= header:
        return "killchain_csv"
    if {"indicator_type", "indicator_value"} <= header:
        return "indicator_csv"
    raise IndicatorFormatError(
        "Not a Meta threat-indicator file: expected a kill-chain CSV (Tactic, Technique, Procedure, "
        "Indicator), the indicator_type/indicator_value CSV or JSON, or a Markdown indicator report."
    )


# --- network names -----------------------------------------------------------------------------------


def network_name(file_name: str, *, title: str = "", period: str = "") -> str:
    """A case title for the network a file describes.

    'Q1_2023_ Togo _ Burkina Faso-based_CIB_network.csv' -> 'Togo / Burkina Faso-based CIB network
    (Q1 2023)'; a Markdown title wins over the file name. Deterministic, because re-importing a
    file must find the same case.
    """
    stem = PurePath(file_name).stem
    if not period:
        if match := re.match(r"^(q[1-4])[_ ]+(\d{4})", stem, re.IGNORECASE):
            period = f"{match[1].upper()} {match[2]}"
        elif match := re.match(r"^(\d{4})[_-](\d{2})(?=[_ ])", stem):
            period = f"{match[1]}-{match[2]}"
        elif match := re.match(r"^meta-([hq][1-4])-(\d{4})-", stem, re.IGNORECASE):
            period = f"{match[1].upper()} {match[2]}"
    if title:
        name = title
    else:
        name = re.sub(r"^(q[1-4][_ ]+\d{4}|\d{4}[_-]\d{2})[_ ]*", "", stem, flags=re.IGNORECASE)
        name = re.sub(r"^meta-[hq][1-4]-\d{4}-", "", name, flags=re.IGNORECASE)
        # Meta's file names stand '_' for '/' between countries ("Togo _ Burkina Faso").
        name = re.sub(r"\s+_\s+", " / ", name).replace("_", " ")
        name = re.sub(r"\s+(updated|final)$", "", name.strip(), flags=re.IGNORECASE)
        name = re.sub(r"\bcib\b", "CIB", name, flags=re.IGNORECASE)
    name = " ".join(name.split()) or "Unnamed network"
    name = name[0].upper() + name[1:]
    return f"{name} ({period})"[:300] if period else name[:300]


# --- classification -------------------------------------------------------------------------------

# Hosts of the platforms the model names, after dropping www./m./mobile./old./web.
MAIN_HOSTS = {
    "twitter.com": "x",
    "x.com": "x",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "t.me": "telegram",
    "telegram.me": "telegram",
    "reddit.com": "reddit",
}
X_RESERVED = {"i", "intent", "share", "search", "hashtag", "home", "explore", "settings", "messages"}
FACEBOOK_RESERVED = {
    "groups", "events", "watch", "photo.php", "permalink.php", "story.php", "sharer", "sharer.php",
    "share", "hashtag", "ads", "business", "help", "login", "plugins", "dialog", "marketplace",
}  # fmt: skip
INSTAGRAM_RESERVED = {"p", "reel", "reels", "tv", "explore", "accounts", "direct"}

# Sites where people have accounts that the model files under `other`, keyed by registrable domain.
OTHER_SITES = {
    "medium.com", "pinterest.com", "tumblr.com", "vk.com", "ok.ru", "livejournal.com", "blogspot.com",
    "wordpress.com", "quora.com", "vimeo.com", "flickr.com", "soundcloud.com", "github.com",
    "steemit.com", "disqus.com", "9gag.com", "pixiv.net", "artstation.com", "wattpad.com",
    "threads.net", "linkedin.com", "weibo.com", "twitch.tv", "rumble.com", "gab.com",
    "truthsocial.com", "gettr.com", "livedoor.blog", "skyrock.com", "ameblo.jp", "cont.ws", "dzen.ru",
    "substack.com", "patreon.com", "bitchute.com", "odysee.com", "dailymotion.com", "fanfiction.net",
    "liveinternet.ru", "bsky.app", "mastodon.social", "snapchat.com", "threads.com",
}  # fmt: skip
# On these, /NAME/anything is NAME's: a board, a post, a repository.
FIRST_SEGMENT_SITES = {
    "pinterest.com", "tumblr.com", "github.com", "soundcloud.com", "artstation.com", "ameblo.jp",
    "vk.com", "gab.com", "twitch.tv",
}  # fmt: skip
# Path words after which comes a user's name or id (/u/NAME, /profile/NAME, /m/author/NAME, …).
PROFILE_PREFIXES = {
    "u", "user", "users", "profile", "profiles", "people", "member", "members", "author", "authors",
    "by", "id", "channel", "c", "in", "photos", "blog",
}  # fmt: skip
# Path words that name content, not a person.
CONTENT_WORDS = {
    "p", "pin", "pins", "post", "posts", "watch", "video", "videos", "status", "share", "search",
    "tag", "tags", "hashtag", "explore", "home", "thread", "threads", "topic", "t", "d", "r",
    "comments", "wiki", "login", "signup", "about", "help", "store", "apps",
}  # fmt: skip
# Subdomains that name a part of a site, not someone's blog (forum.molihua.org/d/… is a thread).
SERVICE_HOSTS = {
    "forum", "forums", "blog", "blogs", "community", "news", "secure", "api", "app", "apps", "shop",
    "store", "support", "help", "mail", "static", "cdn", "docs", "wiki", "play", "accounts", "login",
}  # fmt: skip
QUERY_USER_KEYS = ("uid", "u", "user", "userid", "user_id", "id")
FILE_SUFFIX = re.compile(r"\.(html?|php|aspx?|jsp|apk|exe|zip|pdf)$", re.IGNORECASE)
HOST_PREFIX = re.compile(r"^(?:www|m|mobile|old|web|business)\.")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
# "63 accounts", "7,704 Facebook accounts", "About 50 accounts on Facebook and Instagram".
PROSE_COUNT = re.compile(
    r"^(?:about|around|approximately|roughly|over|more than|nearly|almost|~)?\s*\d[\d,.]*\s+[a-z]",
    re.IGNORECASE,
)
ACCOUNT_TYPES = {"telegram_url", "social media account", "social_media_account", "account"}
DOMAIN_TYPES = {"domain_name", "domain", "hostname"}
TEXT_TYPES = {"ip", "ip_address", "md5", "sha1", "sha256", "hash", "email", "email_address"}


def registrable_domain(host: str) -> str:
    """'se.pinterest.com' -> 'pinterest.com', 'www.thestudentroom.co.uk' -> 'thestudentroom.co.uk'.

    An approximation of the public-suffix list, good enough to key an account by its site.
    """
    labels = host.split(".")
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2] in {"co", "com", "net", "org", "ac", "gov", "or"}
    ):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


@dataclass(frozen=True, slots=True)
class _Account:
    platform: str
    handle: str
    profile_url: str


def _plausible_name(segment: str) -> bool:
    return (
        0 < len(segment) <= 100 and not FILE_SUFFIX.search(segment) and segment.lower() not in CONTENT_WORDS
    )


def _main_account(platform: str, segments: list[str], query: dict[str, list[str]]) -> _Account | None:
    first = segments[0] if segments else ""
    second = segments[1] if len(segments) > 1 else ""
    name, url = "", ""
    if platform == "x":
        if re.fullmatch(r"[A-Za-z0-9_]{1,50}", first) and first.lower() not in X_RESERVED:
            name, url = first, f"https://x.com/{first}"
    elif platform == "facebook":
        if first == "profile.php" and query.get("id"):
            name = query["id"][0]
            url = f"https://www.facebook.com/profile.php?id={name}"
        elif first == "people" and len(segments) >= 3:
            name, url = segments[2], f"https://www.facebook.com/{segments[2]}"
        elif first and first.lower() not in FACEBOOK_RESERVED and first != "pages":
            name, url = first, f"https://www.facebook.com/{first}"
    elif platform == "instagram":
        if first == "stories" and second:
            first = second
        if first and first.lower() not in INSTAGRAM_RESERVED:
            name, url = first, f"https://www.instagram.com/{first}"
    elif platform == "tiktok":
        if first.startswith("@") and len(first) > 1:
            name, url = first[1:], f"https://www.tiktok.com/{first}"
    elif platform == "youtube":
        if first.startswith("@") and len(first) > 1:
            name, url = first[1:], f"https://www.youtube.com/{first}"
        elif first in {"channel", "c", "user"} and second:
            name, url = second, f"https://www.youtube.com/{first}/{second}"
    elif platform == "telegram":
        if first == "s" and second:
            first = second
        if (
            first
            and not first.startswith("+")
            and first.lower() not in {"joinchat", "addstickers", "share", "proxy"}
        ):
            name, url = first, f"https://t.me/{first}"
    elif platform == "reddit" and first in {"user", "u"} and second:
        name, url = second, f"https://www.reddit.com/user/{second}"
    name = name.lstrip("@")
    if not name or not _plausible_name(name):
        return None
    return _Account(platform, name, url)


def _other_account(url: str, *, always: bool) -> _Account | None:
    """An account on a site the model files under `other`, as 'name@site' with the profile URL.

    ``always`` is False for an unknown site outside an account-acquiring row: a URL there is a
    URL, not a person.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    site = registrable_domain(host)
    if not always and site not in OTHER_SITES:
        return None
    base = f"{parts.scheme or 'https'}://{parts.netloc.lower()}"
    segments = [s for s in parts.path.split("/") if s]
    subdomain = HOST_PREFIX.sub("", host).removesuffix(site).rstrip(".")
    name, profile = "", ""
    query = parse_qs(parts.query)
    if key := next((k for k in QUERY_USER_KEYS if query.get(k)), None):
        name, profile = query[key][0], f"{base}{parts.path}?{key}={query[key][0]}"
    if not name:
        for i, segment in enumerate(segments[:3]):
            if segment.lower() in PROFILE_PREFIXES and i + 1 < len(segments):
                name, profile = segments[i + 1], f"{base}/{'/'.join(segments[: i + 2])}"
                break
            if segment.startswith("@") and len(segment) > 1:
                name, profile = segment[1:], f"{base}/{'/'.join(segments[: i + 1])}"
                break
    if (
        not name
        and subdomain
        and "." not in subdomain
        and len(subdomain) > 2
        and subdomain not in SERVICE_HOSTS
    ):
        # Blog-style sites give each account a subdomain (NAME.blogspot.com); two-letter ones are
        # languages (es.quora.com), not people.
        name, profile = subdomain, f"{base}/"
    # vimeo.com/123 is a video, vimeo.com/user123 a person.
    is_video = site == "vimeo.com" and bool(segments) and segments[0].isdigit()
    if not name and segments and (len(segments) == 1 or site in FIRST_SEGMENT_SITES) and not is_video:
        name, profile = segments[0], f"{base}/{segments[0]}"
    if not name or not _plausible_name(name):
        return None
    return _Account("other", f"{name.lstrip('@')}@{site}", profile)


def _as_url(value: str) -> str | None:
    """The value as an http(s) URL, if it is one (scheme-less 'host/path' included)."""
    if " " in value or len(value) > MAX_VALUE:
        return None
    if re.match(r"^https?://", value, re.IGNORECASE):
        return value
    if re.match(r"^[a-z0-9.-]+\.[a-z]{2,63}(?::\d+)?/", value, re.IGNORECASE):
        return "https://" + value
    return None


def classify(
    value: str, *, line: int, procedure_code: str = "", procedure: str = "", indicator_type: str = "",
    comment: str = "",
) -> Indicator:  # fmt: skip
    """What one published value is. Accounts only where the value names one; counts stay prose."""
    published = value.strip().strip("`").strip()
    clean = refang(published)
    kind_of_type = indicator_type.strip().lower()
    base = {
        "line": line,
        "value": published,
        "procedure_code": procedure_code,
        "procedure": procedure,
        "indicator_type": indicator_type.strip(),
        "comment": comment.strip(),
    }
    # Rows that acquire accounts (kill chain 0.9.x) or are typed as accounts name people even on
    # sites this module does not know.
    account_row = procedure_code.startswith("0.9.") or kind_of_type in ACCOUNT_TYPES
    if kind_of_type in TEXT_TYPES:
        return Indicator(kind=TEXT, **base)
    if kind_of_type in DOMAIN_TYPES:
        domain = clean.lower().strip("/").rstrip(".")
        if HOSTNAME.match(domain):
            return Indicator(kind=DOMAIN, domain=domain, **base)
        return Indicator(kind=TEXT, **base)
    url = _as_url(clean)
    if url is None and account_row and HOSTNAME.match(clean.lower()):
        url = f"https://{clean.lower()}/"  # 'name.blogspot.com' in an account row
    if url is not None:
        parts = urlsplit(url)
        host = HOST_PREFIX.sub("", (parts.hostname or "").lower())
        segments = [s for s in parts.path.split("/") if s]
        account = None
        if host in MAIN_HOSTS:
            account = _main_account(MAIN_HOSTS[host], segments, parse_qs(parts.query))
        else:
            account = _other_account(url, always=account_row)
        if account is not None:
            return Indicator(
                kind=ACCOUNT,
                platform=account.platform,
                handle=account.handle,
                handle_normalized=normalize_handle(account.handle),
                profile_url=account.profile_url,
                **base,
            )
        if not segments and not parts.query and host and HOSTNAME.match(host):
            return Indicator(kind=DOMAIN, domain=(parts.hostname or "").lower(), **base)
        return Indicator(kind=URL, url=url, **base)
    if HOSTNAME.match(clean.lower()):
        return Indicator(kind=DOMAIN, domain=clean.lower(), **base)
    if PROSE_COUNT.match(published) and len(published) <= 120:
        return Indicator(kind=COUNT, **base)
    return Indicator(kind=TEXT, **base)


# --- parsing --------------------------------------------------------------------------------------


def parse_indicator_file(name: str, content: bytes) -> IndicatorFile:
    """Read one indicator file. Raises IndicatorFormatError when it is not one of Meta's formats;
    a row that cannot be read is listed in ``rejected`` and the others still count."""
    fmt = sniff_indicator_format(content[:65536])
    text = _decode(content)
    parsed = IndicatorFile(
        name=PurePath(name).name,
        sha256=hashlib.sha256(content).hexdigest(),
        format=fmt,
        network="",
        summary="",
        content=content,
    )
    {
        "killchain_csv": _parse_killchain,
        "indicator_csv": _parse_indicator_csv,
        "indicator_json": _parse_indicator_json,
        "markdown": _parse_markdown,
    }[fmt](text, parsed)
    if not parsed.network:
        parsed.network = network_name(parsed.name)
    if not parsed.summary:
        parsed.summary = _summary_from_rows(parsed)
    return parsed


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(starting line, cells) of every CSV record; a record may span lines (quoted line breaks)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise IndicatorFormatError(f"Line {start} is not valid CSV: {exc}.") from None
        rows.append((start, cells))


def _parse_killchain(text: str, parsed: IndicatorFile) -> None:
    rows = _csv_rows(text)
    if not rows:
        raise IndicatorFormatError("The file is empty.")
    header = [cell.strip().lower() for cell in rows[0][1]]
    procedure_at = header.index("procedure")
    indicator_at = header.index("indicator")
    # Whatever else follows is Meta's remark on the row: "Comments", "Notes", "Note", "Commernts".
    comment_at = [i for i, name in enumerate(header) if i > indicator_at and name]
    codes: dict[str, None] = {}
    for line, cells in rows[1:]:
        if not any(cell.strip() for cell in cells):
            continue  # Meta's blank separator rows
        cells = cells + [""] * (len(header) - len(cells))
        code, procedure = split_code(cells[procedure_at])
        value = cells[indicator_at].strip()
        comment = " ".join(
            " ".join(cells[i].split()) for i in comment_at if i < len(cells) and cells[i].strip()
        )
        if code:
            codes[code] = None
        if not value:
            continue  # a procedure without an indicator still cites the technique
        if len(value) > 20 * MAX_VALUE:
            parsed.rejected.append((line, "the indicator is implausibly long"))
            continue
        parsed.indicators.append(
            classify(value, line=line, procedure_code=code, procedure=procedure, comment=comment)
        )
    parsed.procedure_codes = list(codes)


def _older_entry(position: int, entry: object, parsed: IndicatorFile) -> None:
    if not isinstance(entry, dict):
        parsed.rejected.append((position, "not an object"))
        return
    value = entry.get("indicator_value")
    if not isinstance(value, str) or not value.strip():
        parsed.rejected.append((position, "no indicator_value"))
        return
    kind = entry.get("indicator_type")
    comment = entry.get("comment")
    parsed.indicators.append(
        classify(
            value,
            line=position,
            indicator_type=kind if isinstance(kind, str) else "",
            comment=comment if isinstance(comment, str) else "",
        )
    )


def _parse_indicator_csv(text: str, parsed: IndicatorFile) -> None:
    rows = _csv_rows(text)
    header = [cell.strip().lower() for cell in rows[0][1]]
    for line, cells in rows[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        _older_entry(line, dict(zip(header, cells, strict=False)), parsed)


def _parse_indicator_json(text: str, parsed: IndicatorFile) -> None:
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise IndicatorFormatError(f"The JSON cannot be read: {exc}.") from None
    if not isinstance(entries, list):
        raise IndicatorFormatError("The JSON is not a list of indicators.")
    for position, entry in enumerate(entries, start=1):
        _older_entry(position, entry, parsed)


def _parse_markdown(text: str, parsed: IndicatorFile) -> None:
    lines = text.splitlines()
    title = ""
    section = ""
    summary: list[str] = []
    columns: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("# ") and not title:
            title = re.sub(r"^indicators of compromise\s*:\s*", "", line[2:].strip(), flags=re.IGNORECASE)
            continue
        if line.startswith("## "):
            section = line[3:].strip().lower()
            columns = []
            continue
        if "summary" in section and line:
            summary.append(line)
            continue
        if match := re.search(r"IOC File \(GitHub\):\*\*\s*\[[^\]]*\]\((https://[^)\s]+)\)", line):
            parsed.upstream_url = match[1]
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if not columns:
            columns = [cell.lower() for cell in cells]
            continue
        if all(re.fullmatch(r":?-{2,}:?", cell) for cell in cells):
            continue  # the | :--- | row under the header
        if len(cells) != len(columns):
            parsed.rejected.append((number, f"{len(cells)} cells in a table of {len(columns)} columns"))
            continue
        row = dict(zip(columns, cells, strict=True))
        value = row.get("indicator value") or row.get("value") or row.get("indicator") or ""
        if not value.strip("` "):
            parsed.rejected.append((number, "no indicator value"))
            continue
        kind = row.get("indicator type") or row.get("type") or ""
        parsed.indicators.append(classify(value, line=number, indicator_type=kind))
    period = ""
    if match := re.search(r"Adversarial Threat Report ([HQ][1-4] \d{4})", text):
        period = match[1]
    parsed.network = network_name(parsed.name, title=title, period=period) if title else ""
    parsed.summary = "\n\n".join(summary)


def _summary_from_rows(parsed: IndicatorFile) -> str:
    """For the CSV and JSON formats, which have no prose: what the file holds, in one paragraph."""
    kinds = Counter(i.kind for i in parsed.indicators)
    platforms = Counter(i.platform for i in parsed.indicators if i.kind == ACCOUNT)
    parts = [f"Network named in Meta's threat-indicator file {parsed.name} ({FORMAT_LABELS[parsed.format]})."]
    listed = [f"{n} {p} account{'s' * (n != 1)}" for p, n in sorted(platforms.items())]
    for kind, label in ((DOMAIN, "domain"), (URL, "other URL"), (TEXT, "other indicator")):
        if kinds[kind]:
            listed.append(f"{kinds[kind]} {label}{'s' * (kinds[kind] != 1)}")
    if listed:
        parts.append("It lists " + ", ".join(listed) + ".")
    counts = [i for i in parsed.indicators if i.kind == COUNT]
    if counts:
        parts.append(
            "Counts as Meta published them (not imported as accounts): "
            + "; ".join(f"{i.value}" + (f" ({i.procedure})" if i.procedure else "") for i in counts)
            + "."
        )
    comments = Counter(i.comment for i in parsed.indicators if i.comment and not i.procedure_code)
    if comments:
        parts.append("Meta's comments: " + "; ".join(f"{c} ({n})" for c, n in comments.most_common(10)) + ".")
    return " ".join(parts)
