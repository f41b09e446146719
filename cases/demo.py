"""Demo data: a team, four logins and two CIB investigations built from Meta's published indicators.

Handles, profile URLs, domains and Telegram channels come from Meta's threat-indicator files,
copied into ``cases/data/demo`` with their MIT licence beside them. Everything else — display
names, bios, follower counts, post texts and timestamps — is invented, drawn from a seeded
random source and fixed dates so every run produces the same data. Posts attributed to real
outlets and politicians are synthetic too: written to be plausible, never quoted.

Every write goes through ``cases.services`` so the demo leaves the same audit trail a real
investigation would. The one exception is marked where it happens.
"""

import csv
import io
import json
import random
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from cases.errors import Conflict
from cases.handles import normalize_handle, refang
from cases.models import (
    Account,
    AccountKind,
    AccountSource,
    ActorKind,
    BrandDomain,
    BrandRole,
    CaptureMethod,
    Case,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    MediaBrand,
    Membership,
    Platform,
    Post,
    Priority,
    QueueItem,
    Role,
    Team,
    Technique,
)
from cases.services import accounts as account_services
from cases.services import cases as case_services
from cases.services import evidence as evidence_services
from cases.services import queues as queue_services
from cases.services import teams as team_services
from cases.similarity.text import copy_similarity
from cases.taxonomy import split_code

DEMO_TEAM_SLUG = "demo"
DEMO_TEAM_NAME = "Demo Trust & Safety"

DATA_DIR = Path(__file__).resolve().parent / "data" / "demo"
SPAMOUFLAGE_CSV = DATA_DIR / "Q2_2023_Spamouflage_China_based_CIB_updated.csv"
DOPPELGANGER_JSON = DATA_DIR / "2022_09_removing_coordinated_inauthentic_behavior_from_china_and_russia.json"
UPSTREAM = "https://github.com/facebook/threat-research/blob/main/indicators/"
SPAMOUFLAGE_UPSTREAM = f"{UPSTREAM}csv/Q2_2023%20/{SPAMOUFLAGE_CSV.name}"
DOPPELGANGER_UPSTREAM = f"{UPSTREAM}json/{DOPPELGANGER_JSON.name}"

# The date Meta published its Q2 2023 report: any fixed number would do, this one is findable.
RANDOM_SEED = 20230829


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    site_admin: bool = False


# Published on purpose: these logins exist only in a demo database and are printed by the command.
DEMO_LOGINS = (
    DemoLogin("admin", "demo-admin-pass", Role.ADMIN, site_admin=True),
    DemoLogin("lead", "demo-lead-pass", Role.LEAD),
    DemoLogin("moderator1", "demo-mod1-pass", Role.MODERATOR),
    DemoLogin("moderator2", "demo-mod2-pass", Role.MODERATOR),
)


# --- actors ---------------------------------------------------------------------------------

ACTORS = (
    {
        "name": "Spamouflage",
        "country": "China",
        "kind": ActorKind.STATE,
        "aliases": ["Dragonbridge", "Storm-1376"],
        "description": (
            "Long-running, cross-platform China-based operation. Meta's Q2 2023 report linked it to "
            "individuals associated with Chinese law enforcement. High volume, low engagement; copies "
            "posts of real U.S. outlets and politicians and mixes them with spam as camouflage."
        ),
    },
    {
        "name": "Doppelganger",
        "country": "Russia",
        "kind": ActorKind.COMMERCIAL,
        "aliases": ["Social Design Agency", "Structura National Technologies", "RRN"],
        "description": (
            "Russia-based operation run by the Social Design Agency and Structura, Moscow marketing "
            "firms. Clones European news sites on look-alike domains (bild.pics, dailymail.top) and "
            "drives traffic to them from fake accounts and Telegram channels."
        ),
    },
    {
        "name": "HaiEnergy",
        "country": "China",
        "kind": ActorKind.COMMERCIAL,
        "aliases": ["Shanghai Haixun Technology"],
        "description": (
            "China-based campaign that researchers attributed to a Shanghai PR firm; runs networks "
            "of inauthentic news sites. An alternative to weigh against Spamouflage."
        ),
    },
    {
        "name": "Internet Research Agency",
        "country": "Russia",
        "kind": ActorKind.COMMERCIAL,
        "aliases": ["IRA", "Glavset"],
        "description": (
            "St Petersburg troll farm financed by Yevgeny Prigozhin; targeted U.S. audiences from 2014."
        ),
    },
)


# --- the China-based network (Spamouflage, Q2 2023) ---------------------------------------------

# How many accounts to take from each host in the file, and the platform they belong to. The file
# lists hundreds; a few dozen keep the demo readable and the seed fast.
SPAMOUFLAGE_QUOTAS: dict[str, tuple[str, int]] = {
    "twitter.com": (Platform.X, 16),
    "tiktok.com": (Platform.TIKTOK, 5),
    "reddit.com": (Platform.REDDIT, 8),
    "medium.com": (Platform.OTHER, 6),
    "tumblr.com": (Platform.OTHER, 3),
}

# Each platform's accounts were registered in one short burst: a signal the engine should see.
CREATION_BURSTS = {
    Platform.X: datetime(2023, 2, 27, 3, 0, tzinfo=UTC),
    Platform.TIKTOK: datetime(2023, 3, 6, 2, 0, tzinfo=UTC),
    Platform.REDDIT: datetime(2022, 11, 14, 4, 0, tzinfo=UTC),
    Platform.OTHER: datetime(2023, 1, 9, 1, 0, tzinfo=UTC),
}
CHINA_WINDOW_START = datetime(2023, 4, 10, tzinfo=UTC)
CHINA_WINDOW_DAYS = 42

FIRST_NAMES = ("Emily", "Grace", "Linda", "Nancy", "Megan", "Olivia", "Chloe", "Hannah", "Daniel", "Kevin")
FIRST_NAMES += ("Brian", "Tyler", "Jason", "Eric", "Peter", "Steven", "Gary", "Frank", "Rachel", "Laura")
LAST_NAMES = ("Miller", "Hughes", "Turner", "Lopez", "Walker", "Baker", "Young", "Carter", "Evans", "Parker")
LAST_NAMES += ("Collins", "Stewart", "Morris", "Reed", "Cook", "Bell", "Murphy", "Bailey", "Cooper", "Howard")
# Reused word for word across the network, as Spamouflage personas often are.
BIOS = (
    "Love peace and truth.",
    "Love peace and truth.",
    "Just an ordinary person who cares about the world.",
    "Mom of two | coffee lover | news junkie",
    "Truth seeker. Follow for daily news.",
    "Truth seeker. Follow for daily news.",
    "Reading, travel and politics.",
    "Peace and love 🌍",
    "Independent thinker. No party.",
    "Nature lover 🌸 Good vibes only",
    "",
)


@dataclass(frozen=True)
class ReferenceAccount:
    handle: str
    display_name: str
    bio: str
    followers: int


# Real outlets and politicians of both sides, as they were in spring 2023 (hence the Speaker of
# that time). Bios are descriptions, not the real ones; follower counts are rounded approximations.
REFERENCE_ACCOUNTS = (
    ReferenceAccount(
        "nytimes", "The New York Times", "News and analysis from The New York Times.", 54_000_000
    ),
    ReferenceAccount("FoxNews", "Fox News", "Breaking news and opinion from Fox News.", 23_000_000),
    ReferenceAccount("CNN", "CNN", "Breaking news and analysis from CNN.", 61_000_000),
    ReferenceAccount(
        "WSJ", "The Wall Street Journal", "News and analysis from The Wall Street Journal.", 20_000_000
    ),
    ReferenceAccount(
        "SenSchumer", "Chuck Schumer", "Senate Majority Leader. U.S. Senator for New York.", 3_100_000
    ),
    ReferenceAccount(
        "LeaderMcConnell", "Leader McConnell", "U.S. Senate Republican Leader (R-KY).", 1_800_000
    ),
    ReferenceAccount(
        "SpeakerMcCarthy", "Kevin McCarthy", "Speaker of the House. Representing CA-20.", 2_700_000
    ),
)


@dataclass(frozen=True)
class ReferencePost:
    key: str
    handle: str
    at: datetime
    text: str


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


# Synthetic texts in each account's register. None is a real post.
REFERENCE_POSTS = (
    ReferencePost(
        "nyt-debt",
        "nytimes",
        _at("2023-05-02T12:04"),
        "The Treasury warned that it could run out of cash to pay the government's bills as soon as June 1. "
        "Here's what happens if Congress does not raise the debt limit in time.",
    ),
    ReferencePost(
        "nyt-inflation",
        "nytimes",
        _at("2023-05-10T13:31"),
        "Inflation cooled again in April, but prices for groceries and rent are still rising faster than "
        "they were before the pandemic.",
    ),
    ReferencePost(
        "nyt-analysis",
        "nytimes",
        _at("2023-04-24T10:15"),
        "News Analysis: Both parties are betting that voters will blame the other side if the talks over "
        "federal spending collapse.",
    ),
    ReferencePost(
        "fox-title42",
        "FoxNews",
        _at("2023-05-09T11:45"),
        "Border towns brace for a surge in crossings as Title 42 expires this week. Local officials say "
        "they are not ready.",
    ),
    ReferencePost(
        "fox-spending",
        "FoxNews",
        _at("2023-04-18T15:20"),
        "Republicans say the White House refuses to negotiate on spending cuts as the debt limit "
        "deadline approaches.",
    ),
    ReferencePost(
        "fox-gas",
        "FoxNews",
        _at("2023-05-15T12:10"),
        "Gas prices are climbing again ahead of the summer driving season, squeezing family budgets "
        "across the country.",
    ),
    ReferencePost(
        "cnn-ethics",
        "CNN",
        _at("2023-05-15T21:40"),
        "Supreme Court justices face growing pressure to adopt a binding code of ethics after new "
        "reports of undisclosed gifts and travel.",
    ),
    ReferencePost(
        "cnn-ai",
        "CNN",
        _at("2023-05-16T18:05"),
        "A bipartisan group of senators is pushing for new rules on artificial intelligence as the "
        "technology races ahead of regulators.",
    ),
    ReferencePost(
        "wsj-banks",
        "WSJ",
        _at("2023-05-04T14:50"),
        "Regional bank shares fell again on Thursday as investors worried about deposits leaving "
        "smaller lenders.",
    ),
    ReferencePost(
        "wsj-smallbiz",
        "WSJ",
        _at("2023-04-13T11:00"),
        "Small businesses say higher interest rates are making it harder to borrow, hire and expand.",
    ),
    ReferencePost(
        "schumer-default",
        "SenSchumer",
        _at("2023-04-19T15:30"),
        "Default is not an option. Congress must pay the bills it has already run up: no hostage-taking, "
        "no brinkmanship.",
    ),
    ReferencePost(
        "schumer-insulin",
        "SenSchumer",
        _at("2023-04-11T16:12"),
        "Seniors on Medicare now pay no more than $35 a month for insulin. That is real relief for "
        "families, and we are not done.",
    ),
    ReferencePost(
        "mcconnell-spending",
        "LeaderMcConnell",
        _at("2023-05-01T17:25"),
        "Washington has a spending problem. Any agreement on the debt limit has to include real reforms.",
    ),
    ReferencePost(
        "mcconnell-ukraine",
        "LeaderMcConnell",
        _at("2023-04-20T19:02"),
        "Helping Ukraine defend itself is in America's own national interest. We must keep standing with "
        "our friends.",
    ),
    ReferencePost(
        "mccarthy-lsg",
        "SpeakerMcCarthy",
        _at("2023-04-26T22:10"),
        "The House passed the Limit, Save, Grow Act. We did our job. Now it is time for the President to "
        "come to the table.",
    ),
    ReferencePost(
        "mccarthy-families",
        "SpeakerMcCarthy",
        _at("2023-05-11T14:33"),
        "Families are paying more for everything. Washington has to stop spending money it does not have.",
    ),
)


@dataclass(frozen=True)
class Burst:
    """Several accounts posting a copy of one source post within the same minute."""

    source: str
    at: datetime
    size: int
    platforms: tuple[str, ...]
    edited: bool


BURSTS = (
    Burst("schumer-default", _at("2023-04-20T06:05"), 5, (Platform.X,), edited=False),
    Burst("mccarthy-lsg", _at("2023-04-27T01:52"), 6, (Platform.X, Platform.REDDIT), edited=True),
    Burst("nyt-debt", _at("2023-05-03T02:17"), 8, (Platform.X,), edited=False),
    Burst("fox-title42", _at("2023-05-10T03:41"), 7, (Platform.X, Platform.TIKTOK), edited=True),
    Burst("cnn-ethics", _at("2023-05-16T08:30"), 5, (Platform.REDDIT, Platform.OTHER), edited=True),
)

ORIGINAL_POSTS = (
    "Two parties, one result: ordinary Americans pay more for rent, food and medicine while Washington "
    "fights over the debt ceiling. #USA #DebtCeiling",
    "Democrats blame Republicans, Republicans blame Democrats. Nobody in Washington takes "
    "responsibility. #Politics",
    "The U.S. spends billions on weapons for other countries' wars while its own cities cannot house "
    "veterans. #America",
    "Border chaos, inflation, bank failures. Is this the leadership America promised the world? "
    "#Title42 #Inflation",
    "Banks fail and Wall Street gets rescued again. Working families get nothing. #Banking #USA",
    "Why do U.S. politicians lecture the world about democracy when their own elections are full of "
    "division and distrust? #Democracy",
    "Polls say most Americans think the country is on the wrong track. Both parties should listen. "
    "#USPolitics",
    "Another shooting, another round of thoughts and prayers. When will Congress act? #America",
)
CAMOUFLAGE_POSTS = (
    "Good morning! Wishing everyone a peaceful day 🌸",
    "Spring is here. Beautiful flowers in the park today.",
    "Tea time ☕ Nothing better after a long day.",
    "Have a great week, friends! Stay safe.",
    "The sunset over the lake tonight was amazing.",
)
# Headlines of the network's own blog posts, as listed in the indicator file (6.1.3 rows).
BLOG_HEADLINE_KEYS = (
    "racial discrimination in the United States",
    "American Racial Disease",
    "U.S. bombing of Nord Stream is the first step",
    "US rare earth pollution",
)
EDIT_PREFIXES = ("Wow. ", "Read this: ", "So true. ", "Important: ", "Must read! ")
EDIT_HASHTAGS = ("#USA", "#DebtCeiling", "#Biden", "#GOP", "#Congress", "#Politics", "#America")


# --- the Russia-based network (Doppelganger, September 2022) ------------------------------------


@dataclass(frozen=True)
class BrandSpec:
    name: str
    impersonates: str
    domain_pattern: str
    description: str


BRANDS = (
    BrandSpec(
        "Bild (clone)",
        "Bild",
        r"^bild\.",
        "Copies Bild's layout and logo on look-alike domains; the articles are written by the operation.",
    ),
    BrandSpec(
        "Der Spiegel (clone)",
        "Der Spiegel",
        r"^spiegel[ir]?\.",
        "Spiegel look-alike on a rotating set of typosquatted domains (spiegel.ltd, spiegeli.live, ...).",
    ),
    BrandSpec(
        "Daily Mail (clone)",
        "Daily Mail",
        r"^dailymail\.",
        "UK-targeting clone of the Daily Mail's website.",
    ),
    BrandSpec(
        "RRN (Reliable Recent News)",
        "",
        r"^rrn\.world$",
        "A fictitious outlet rather than a clone: the operation's own 'news agency', in several languages.",
    ),
)


@dataclass(frozen=True)
class Channel:
    display_name: str
    bio: str
    language: str
    followers: int
    created: datetime


# Channels named in the indicator file; names and the rest are invented.
TELEGRAM_CHANNELS = {
    "News_Freies_Deutschland": Channel(
        "Freies Deutschland News",
        "Nachrichten, die andere verschweigen.",
        "de",
        1_240,
        _at("2022-05-16T09:00"),
    ),
    "news_munchen": Channel(
        "News München", "Aktuelles aus München und Bayern.", "de", 410, _at("2022-05-17T10:12")
    ),
    "berlin_noname": Channel(
        "Berlin ohne Namen", "Was in Berlin wirklich passiert.", "de", 655, _at("2022-05-17T11:40")
    ),
    "friekorps": Channel("Freikorps", "Für ein freies Deutschland.", "de", 298, _at("2022-06-02T08:03")),
    "london_rumors": Channel(
        "London Rumors", "What the papers won't tell you.", "en", 870, _at("2022-06-20T13:30")
    ),
    "Streetleeds": Channel(
        "Street Leeds", "News from the streets of Leeds.", "en", 190, _at("2022-06-20T14:05")
    ),
    "GreatBritain_F": Channel(
        "Great Britain Free", "Britain's news, unfiltered.", "en", 340, _at("2022-06-21T09:55")
    ),
    "reliablerecentnews": Channel(
        "RRN | Reliable Recent News",
        "Reliable news from Europe and the world.",
        "en",
        2_950,
        _at("2022-04-04T07:00"),
    ),
}


@dataclass(frozen=True)
class Article:
    """A fake article on a brand domain, posted by one channel and echoed by others within a minute."""

    brand: str
    domain: str
    path: str
    text: str
    at: datetime
    poster: str
    echoes: tuple[str, ...]


ARTICLES = (
    Article(
        "Bild (clone)",
        "bild.pics",
        "politik/inland/sanktionen-treffen-deutsche-familien",
        "Die Sanktionen treffen nicht Moskau, sondern deutsche Familien. Heizkosten verdoppelt, und die "
        "Regierung schaut zu.",
        _at("2022-08-17T07:12"),
        "News_Freies_Deutschland",
        ("news_munchen", "berlin_noname", "friekorps"),
    ),
    Article(
        "Bild (clone)",
        "bild.asia",
        "geld/wirtschaft/gaspreise-winter-ohne-heizung",
        "Gaspreise: Experten warnen vor einem Winter ohne Heizung. Wer bezahlt die Rechnung für Berlins "
        "Ukraine-Politik?",
        _at("2022-08-29T06:40"),
        "berlin_noname",
        ("News_Freies_Deutschland", "friekorps"),
    ),
    Article(
        "Der Spiegel (clone)",
        "spiegel.ltd",
        "politik/deutschland/milliarden-fuer-waffen-rentner-frieren",
        "Milliarden für Waffen, während Rentner frieren: Wie lange trägt die Bevölkerung diesen Kurs noch "
        "mit?",
        _at("2022-08-23T08:05"),
        "news_munchen",
        ("News_Freies_Deutschland", "berlin_noname"),
    ),
    Article(
        "Der Spiegel (clone)",
        "spiegeli.live",
        "politik/kommunen-am-limit",
        "Kommunen am Limit: Bürgermeister schlagen Alarm, die Unterbringung von Geflüchteten sei nicht "
        "mehr zu bezahlen.",
        _at("2022-09-06T07:58"),
        "friekorps",
        ("news_munchen", "News_Freies_Deutschland"),
    ),
    Article(
        "Daily Mail (clone)",
        "dailymail.top",
        "news/energy-bills-soar-as-sanctions-backfire",
        "Energy bills to soar again this winter as sanctions backfire on British households.",
        _at("2022-08-25T09:20"),
        "london_rumors",
        ("Streetleeds", "GreatBritain_F"),
    ),
    Article(
        "Daily Mail (clone)",
        "dailymail.cam",
        "news/waiting-lists-record-while-billions-go-abroad",
        "NHS waiting lists hit a record high while billions go abroad. Who is the government working for?",
        _at("2022-09-08T10:02"),
        "GreatBritain_F",
        ("london_rumors", "Streetleeds"),
    ),
    Article(
        "RRN (Reliable Recent News)",
        "rrn.world",
        "en/europe-pays-the-price",
        "Europe pays the price: how the sanctions against Russia are wrecking the EU economy.",
        _at("2022-09-13T06:30"),
        "reliablerecentnews",
        ("london_rumors", "GreatBritain_F", "News_Freies_Deutschland"),
    ),
)
ECHO_PREFIXES = ("", "", "⚡️ ", "Teilen! ", "👉 ")


# --- reading the indicator files -------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorAccount:
    platform: str
    handle: str
    profile_url: str
    procedure_code: str


def read_spamouflage_accounts(path: Path = SPAMOUFLAGE_CSV) -> list[IndicatorAccount]:
    """Profile URLs from Meta's Spamouflage file, up to each host's quota, in file order."""
    taken: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    found = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            url = refang(row["Indicator"])
            parts = urlsplit(url)
            host = parts.netloc.lower().removeprefix("www.")
            if not url.startswith("http") or host not in SPAMOUFLAGE_QUOTAS:
                continue
            platform, quota = SPAMOUFLAGE_QUOTAS[host]
            segments = [s for s in parts.path.split("/") if s]
            # Profile roots only: a post's URL would make its slug the handle.
            is_profile = (
                len(segments) == 2 and segments[0] == "user" if host == "reddit.com" else len(segments) == 1
            )
            key = (platform, normalize_handle(url))
            if not is_profile or taken[host] >= quota or key in seen:
                continue
            seen.add(key)
            taken[host] += 1
            code, _ = split_code(row["Procedure"])
            found.append(IndicatorAccount(platform, segments[-1].lstrip("@"), url, code))
    return found


def read_spamouflage_headlines(path: Path = SPAMOUFLAGE_CSV) -> list[str]:
    """The network's blog headlines named by BLOG_HEADLINE_KEYS, in that order."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        titles = [row["Indicator"] for row in csv.DictReader(handle) if row["Procedure"].startswith("6.1.3")]
    return [next(t for t in titles if key in t) for key in BLOG_HEADLINE_KEYS]


def read_doppelganger_indicators(path: Path = DOPPELGANGER_JSON) -> tuple[list[str], dict[str, str]]:
    """Domains, and Telegram channel URLs by normalized handle, from Meta's 2022-09 file.

    A few entries name a post (``t.me/news_munchen/42``); the channel is its first path segment.
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    domains = [refang(e["indicator_value"]).lower() for e in entries if e["indicator_type"] == "domain_name"]
    channels = {}
    for entry in entries:
        if entry["indicator_type"] == "telegram_url":
            url = refang(entry["indicator_value"])
            name = urlsplit(url).path.strip("/").split("/")[0]
            channels[normalize_handle(url)] = f"https://t.me/{name}"
    return domains, channels


# --- pictures ------------------------------------------------------------------------------------------


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_post_screenshot(*, display_name: str, handle: str, text: str, at: datetime) -> bytes:
    """A 400x240 PNG that looks enough like a captured post to stand in for one."""
    image = Image.new("RGB", (400, 240), "white")
    draw = ImageDraw.Draw(image)
    bold, regular, small = (ImageFont.load_default(size=s) for s in (15, 13, 11))
    draw.ellipse((16, 16, 56, 56), fill=(29, 155, 240))
    draw.text((30, 25), display_name[:1].upper(), font=bold, fill="white")
    draw.text((66, 18), display_name, font=bold, fill="black")
    draw.text((66, 38), f"@{handle}", font=regular, fill=(83, 100, 113))
    for i, line in enumerate(textwrap.wrap(text, 54)[:7]):
        draw.text((16, 72 + 18 * i), line, font=regular, fill="black")
    draw.line((16, 204, 384, 204), fill=(207, 217, 222))
    draw.text((16, 214), f"{at:%H:%M} UTC · {at:%b} {at.day}, {at.year}", font=small, fill=(83, 100, 113))
    return _png(image)


def render_logo(*, text: str, background: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (160, 160), background)
    draw = ImageDraw.Draw(image)
    draw.text((80, 80), text, font=ImageFont.load_default(size=40), fill="white", anchor="mm")
    return _png(image)


# --- the seeder -------------------------------------------------------------------------------------


def _display_name(handle: str, rng: random.Random) -> str:
    """A persona name that fits the handle when the handle spells one ('GarciaJasmyn1')."""
    words = re.findall(r"[A-Z][a-z]{2,}", handle)
    if len(words) >= 2:
        return " ".join(words[:2])
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _small_edit(text: str, rng: random.Random) -> str:
    """The light touch-ups the network makes to copied posts: a prefix, hashtags, a cut."""
    choice = rng.randrange(3)
    if choice == 0:
        return rng.choice(EDIT_PREFIXES) + text
    if choice == 1:
        return f"{text} {' '.join(rng.sample(EDIT_HASHTAGS, 2))}"
    sentences = re.split(r"(?<=[.:!?])\s+", text)
    if len(sentences) > 1:
        return " ".join(sentences[:-1])
    return f"{text} {rng.choice(EDIT_HASHTAGS)}"


def _work_hours_time(rng: random.Random) -> datetime:
    """A weekday moment in 09:00 to 18:00 China Standard Time (01:00 to 10:00 UTC): a shift pattern."""
    moment = CHINA_WINDOW_START + timedelta(
        days=rng.randrange(CHINA_WINDOW_DAYS), hours=rng.randint(1, 9), minutes=rng.randrange(60)
    )
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


@dataclass
class _Seeder:
    rng: random.Random
    say: Callable[[str], None]
    team: Team | None = None
    users: dict[str, Any] = field(default_factory=dict)
    techniques: dict[str, Technique] = field(default_factory=dict)
    reference_posts: dict[str, Post] = field(default_factory=dict)
    reference_accounts: dict[str, Account] = field(default_factory=dict)

    def technique(self, *codes: str) -> list[Technique]:
        return [self.techniques[code] for code in codes]

    def run(self) -> None:
        self.techniques = {t.procedure_code: t for t in Technique.objects.all()}
        self.create_team_and_logins()
        self.create_actors()
        self.create_china_case()
        self.create_russia_case()

    def create_team_and_logins(self) -> None:
        self.team = team_services.create_team(slug=DEMO_TEAM_SLUG, name=DEMO_TEAM_NAME)
        for login in DEMO_LOGINS:
            self.users[login.username] = team_services.create_user(
                username=login.username, password=login.password, email=f"{login.username}@demo.invalid"
            )
        admin = self.users["admin"]
        # The first member can only be added by the system; the admin adds everyone else.
        team_services.add_member(team=self.team, user=admin, role=Role.ADMIN)
        for login in DEMO_LOGINS[1:]:
            team_services.add_member(
                team=self.team, user=self.users[login.username], role=login.role, added_by=admin
            )
        for login in DEMO_LOGINS:
            if login.site_admin:
                team_services.grant_site_admin(user=self.users[login.username])
        self.say(f"Team '{DEMO_TEAM_NAME}' with {len(DEMO_LOGINS)} logins")

    def create_actors(self) -> None:
        for actor in ACTORS:
            account_services.create_actor(team=self.team, created_by=self.users["lead"], **actor)
        self.say(f"{len(ACTORS)} actors")

    # China ------------------------------------------------------------------------------------------

    def create_china_case(self) -> None:
        rng, lead = self.rng, self.users["lead"]
        moderators = [self.users["moderator1"], self.users["moderator2"]]
        indicators = read_spamouflage_accounts()
        headlines = read_spamouflage_headlines()

        for i, ref in enumerate(REFERENCE_ACCOUNTS):
            self.reference_accounts[ref.handle] = account_services.create_account(
                team=self.team,
                platform=Platform.X,
                handle=ref.handle,
                created_by=moderators[i % 2],
                kind=AccountKind.REFERENCE,
                source=AccountSource.DEMO,
                display_name=ref.display_name,
                bio=ref.bio,
                profile_url=f"https://x.com/{ref.handle}",
                followers=ref.followers,
                language="en",
            )
        for post in REFERENCE_POSTS:
            self.reference_posts[post.key] = account_services.create_post(
                account=self.reference_accounts[post.handle],
                text=post.text,
                posted_at=post.at,
                created_by=moderators[0],
            )

        suspects: list[Account] = []
        for item in indicators:
            in_burst = rng.random() < 0.65
            if in_burst:
                created = CREATION_BURSTS[item.platform] + timedelta(minutes=rng.randrange(40 * 60))
                followers = rng.randint(0, 40)
            else:
                # Older accounts bought and repurposed (0.9.9 in the file).
                created = datetime(2019, 6, 1, tzinfo=UTC) + timedelta(days=rng.randrange(1100))
                followers = rng.randint(20, 900)
            # Reddit shows the username where other platforms show a chosen name.
            name = item.handle if item.platform == Platform.REDDIT else _display_name(item.handle, rng)
            suspects.append(
                account_services.create_account(
                    team=self.team,
                    platform=item.platform,
                    handle=item.handle,
                    created_by=lead,
                    kind=AccountKind.SUSPECT,
                    source=AccountSource.DEMO,
                    display_name=name,
                    bio=rng.choice(BIOS),
                    profile_url=item.profile_url,
                    created_on_platform=created,
                    followers=followers,
                    following=rng.randint(15, 600),
                    language="zh" if rng.random() < 0.2 else "en",
                )
            )

        burst_posts: list[list[Post]] = []
        for b, burst in enumerate(BURSTS):
            source = self.reference_posts[burst.source]
            pool = [a for a in suspects if a.platform in burst.platforms]
            members = rng.sample(pool, min(burst.size, len(pool)))
            seconds = sorted(rng.sample(range(60), len(members)))
            posts = []
            for account, second in zip(members, seconds, strict=True):
                text = _small_edit(source.text, rng) if burst.edited else source.text
                posts.append(
                    self._copy(account, source, text, burst.at + timedelta(seconds=second), moderators[b % 2])
                )
            burst_posts.append(posts)

        for a, account in enumerate(suspects):
            for _ in range(rng.randint(1, 4)):
                at = _work_hours_time(rng)
                roll = rng.random()
                earlier = [p for p in self.reference_posts.values() if p.posted_at < at]
                if roll < 0.3 and earlier:
                    source = rng.choice(earlier)
                    text = _small_edit(source.text, rng) if rng.random() < 0.6 else source.text
                    self._copy(account, source, text, at, moderators[a % 2])
                    continue
                if roll < 0.75:
                    text = rng.choice(ORIGINAL_POSTS)
                elif roll < 0.85:
                    text = f"{rng.choice(headlines)} #USA"
                else:
                    text = rng.choice(CAMOUFLAGE_POSTS)
                account_services.create_post(
                    account=account, text=text, posted_at=at, created_by=moderators[a % 2]
                )

        case = case_services.create_case(
            team=self.team,
            title="Spamouflage: China-based accounts copying U.S. political posts (Q2 2023)",
            created_by=lead,
            lead=lead,
            priority=Priority.HIGH,
            summary=(
                "In Q2 2023 Meta removed a China-based network (7,704 Facebook accounts, 954 Pages, 15 "
                "Groups and 15 Instagram accounts) and published hundreds of the network's accounts on "
                f"other platforms. This case takes {len(suspects)} of those URLs on X, TikTok, "
                "Reddit, Medium and Tumblr. The accounts copy posts of U.S. outlets and politicians of both "
                "parties, in bursts, during Beijing office hours.\n\n"
                "Demo data: handles and profile URLs are Meta's indicators; names, bios, follower counts "
                "and every post are synthetic."
            ),
        )
        for item, account in zip(indicators, suspects, strict=True):
            case_services.add_account_to_case(
                case=case,
                account=account,
                added_by=lead,
                reason=f"Listed in Meta's Q2 2023 Spamouflage indicators ({item.procedure_code}).",
            )
        for account in self.reference_accounts.values():
            case_services.add_account_to_case(
                case=case, account=account, added_by=lead, reason="Reference: real source the network copies."
            )

        self._china_evidence(case, suspects, burst_posts)
        queue = queue_services.create_queue_from_case(
            case=case, name="Spamouflage Q2 2023: suspect accounts", created_by=lead, labels_per_item=2
        )
        self.say(
            f"China case: {len(suspects)} suspect and {len(self.reference_accounts)} reference accounts, "
            f"queue '{queue.name}'"
        )

    def _copy(
        self, account: Account, source: Post, text: str, at: datetime, recorder, links: Sequence[str] = ()
    ) -> Post:
        return account_services.create_post(
            account=account,
            text=text,
            posted_at=at,
            links=list(links),
            created_by=recorder,
            copied_from=source,
            copy_similarity=copy_similarity(text, source.text),
        )

    def _china_evidence(self, case: Case, suspects: list[Account], burst_posts: list[list[Post]]) -> None:
        lead, mod1, mod2 = self.users["lead"], self.users["moderator1"], self.users["moderator2"]
        content = SPAMOUFLAGE_CSV.read_bytes()
        sha = evidence_services.sha256_hex(content)
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.INDICATOR,
            captured_by=lead,
            capture_method=CaptureMethod.IMPORT,
            title=f"Meta threat indicators: Spamouflage, Q2 2023 (SHA-256 {sha[:12]}…)",
            url=SPAMOUFLAGE_UPSTREAM,
            captured_text=(
                f"File: {SPAMOUFLAGE_CSV.name}\nSHA-256: {sha}\n"
                f"Published by Meta with its Q2 2023 Adversarial Threat Report (MIT licence). "
                f"{len(suspects)} of its account URLs are on this case."
            ),
            techniques=self.technique("0.9.4", "0.9.6", "0.9.8"),
            files=[evidence_services.Upload(EvidenceFile.Role.ATTACHMENT, SPAMOUFLAGE_CSV.name, content)],
            captured_at=_at("2023-05-22T08:00"),
        )

        exact = burst_posts[2][0]  # the @nytimes copy, word for word
        source = exact.copied_from
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.REPOST,
            captured_by=mod1,
            capture_method=CaptureMethod.EXTENSION,
            persona="research-persona-07",
            account=exact.account,
            post=exact,
            title=f"@{exact.account.handle} copies @{source.account.handle} word for word",
            url=exact.account.profile_url,
            captured_text=exact.text,
            source_text=source.text,
            source_url=source.account.profile_url,
            source_author=f"{source.account.display_name} (@{source.account.handle})",
            techniques=self.technique("5.4.2", "0.9.4"),
            captured_at=_at("2023-05-22T09:14"),
        )
        edited = burst_posts[1][0]  # a touched-up copy of the Speaker's post
        source = edited.copied_from
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.REPOST,
            captured_by=mod2,
            capture_method=CaptureMethod.EXTENSION,
            persona="research-persona-11",
            account=edited.account,
            post=edited,
            title=f"@{edited.account.handle} posts an edited copy of @{source.account.handle}",
            url=edited.account.profile_url,
            captured_text=edited.text,
            source_text=source.text,
            source_url=source.account.profile_url,
            source_author=f"{source.account.display_name} (@{source.account.handle})",
            techniques=self.technique("5.4.2", "5.2.2"),
            captured_at=_at("2023-05-22T10:02"),
        )
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.SCREENSHOT,
            captured_by=mod1,
            capture_method=CaptureMethod.UPLOAD,
            account=exact.account,
            post=exact,
            title=f"Screenshot of @{exact.account.handle}'s copy",
            url=exact.account.profile_url,
            techniques=self.technique("0.9.4"),
            files=[
                evidence_services.Upload(
                    EvidenceFile.Role.SCREENSHOT,
                    "profile.png",
                    render_post_screenshot(
                        display_name=exact.account.display_name,
                        handle=exact.account.handle,
                        text=exact.text,
                        at=exact.posted_at,
                    ),
                )
            ],
            captured_at=_at("2023-05-22T09:16"),
        )
        tiktok = next(a for a in suspects if a.platform == Platform.TIKTOK)
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.LINK,
            captured_by=mod2,
            account=tiktok,
            title=f"TikTok profile @{tiktok.handle}, created in the March 2023 batch",
            url=tiktok.profile_url,
            techniques=self.technique("0.9.6"),
            captured_at=_at("2023-05-23T07:45"),
        )
        burst = burst_posts[2]
        handles = ", ".join(f"@{p.account.handle}" for p in burst)
        batch_start = CREATION_BURSTS[Platform.X]
        batch = sum(
            1
            for p in burst
            if batch_start <= p.account.created_on_platform < batch_start + timedelta(hours=40)
        )
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.NOTE,
            captured_by=lead,
            title=f"Coordinated burst: one @nytimes post, {len(burst)} accounts, one minute",
            captured_text=(
                f"{len(burst)} accounts posted the text of @nytimes's debt-limit post between "
                f"{burst[0].posted_at:%Y-%m-%d %H:%M:%S} and {burst[-1].posted_at:%H:%M:%S} UTC: {handles}. "
                f"{batch} of them were registered within 40 hours of each other in February 2023."
            ),
            techniques=self.technique("3.5.1", "5.4.2"),
            captured_at=_at("2023-05-23T09:30"),
        )
        times = list(Post.objects.filter(account__in=suspects).values_list("posted_at", flat=True))
        office = sum(1 for t in times if 1 <= t.hour < 10 and t.weekday() < 5)
        weekend = sum(1 for t in times if t.weekday() >= 5)
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.NOTE,
            captured_by=mod1,
            title="Posting times follow a Beijing office shift",
            captured_text=(
                f"{office} of {len(times)} posts by the suspect accounts fall on weekdays between 09:00 and "
                f"18:00 China Standard Time (01:00 to 10:00 UTC); {weekend} on weekends."
            ),
            techniques=self.technique("3.1.1"),
            captured_at=_at("2023-05-24T06:10"),
        )

    # Russia ----------------------------------------------------------------------------------------

    def create_russia_case(self) -> None:
        rng, lead, mod2 = self.rng, self.users["lead"], self.users["moderator2"]
        domains, channel_urls = read_doppelganger_indicators()

        channels: dict[str, Account] = {}
        for handle, channel in TELEGRAM_CHANNELS.items():
            channels[handle] = account_services.create_account(
                team=self.team,
                platform=Platform.TELEGRAM,
                handle=handle,
                created_by=mod2,
                kind=AccountKind.SUSPECT,
                source=AccountSource.DEMO,
                display_name=channel.display_name,
                bio=channel.bio,
                # KeyError here means the file no longer names the channel: the demo must not invent one.
                profile_url=channel_urls[normalize_handle(handle)],
                created_on_platform=channel.created,
                followers=channel.followers,
                following=0,
                language=channel.language,
            )

        brands: dict[str, MediaBrand] = {}
        for spec in BRANDS:
            brand_domains = [d for d in domains if re.search(spec.domain_pattern, d)]
            roles: dict[str, str] = {}
            for article in ARTICLES:
                if article.brand == spec.name:
                    if article.domain not in brand_domains:
                        raise ValueError(f"{article.domain} is not among {spec.name}'s domains in the file.")
                    # RRN is the operation's own outlet, so whoever publishes it runs it; the clones'
                    # owners stay behind the domains and the channels only amplify them.
                    role = BrandRole.RUNS if spec.impersonates == "" else BrandRole.AMPLIFIES
                    roles.setdefault(article.poster, role)
                    for echo in article.echoes:
                        roles.setdefault(echo, BrandRole.AMPLIFIES)
            brands[spec.name] = account_services.create_media_brand(
                team=self.team,
                name=spec.name,
                created_by=mod2,
                impersonates=spec.impersonates,
                description=spec.description,
                domains=brand_domains,
                accounts=[(channels[h], role) for h, role in roles.items()],
            )

        first_posts: list[Post] = []
        echo_posts: list[Post] = []
        for article in ARTICLES:
            link = f"https://{article.domain}/{article.path}"
            text = f"{article.text} {link}"
            first = account_services.create_post(
                account=channels[article.poster],
                text=text,
                posted_at=article.at,
                links=[link],
                created_by=mod2,
            )
            first_posts.append(first)
            seconds = sorted(rng.sample(range(5, 60), len(article.echoes)))
            for handle, second in zip(article.echoes, seconds, strict=True):
                echo_text = rng.choice(ECHO_PREFIXES) + text
                at = article.at + timedelta(seconds=second)
                echo_posts.append(self._copy(channels[handle], first, echo_text, at, mod2, links=[link]))

        case = case_services.create_case(
            team=self.team,
            title="Doppelganger: clones of German and British news sites (September 2022)",
            created_by=lead,
            lead=lead,
            priority=Priority.NORMAL,
            summary=(
                "In September 2022 Meta removed a Russia-based network that built clones of European news "
                "sites on typosquatted domains (bild.pics, spiegel.ltd, dailymail.top) and its own outlet, "
                "RRN, and pushed their articles through fake accounts, Pages and Telegram channels. Domains "
                "and channels here are from Meta's indicator file; channel names and posts are synthetic."
            ),
        )
        for account in channels.values():
            case_services.add_account_to_case(
                case=case,
                account=account,
                added_by=lead,
                reason="Telegram channel listed in Meta's September 2022 indicators; links to the clones.",
            )
        self._russia_evidence(case, brands, first_posts, echo_posts, domains)
        self.say(f"Russia case: {len(channels)} Telegram channels, {len(brands)} media brands")

    def _russia_evidence(
        self,
        case: Case,
        brands: dict[str, MediaBrand],
        first_posts: list[Post],
        echo_posts: list[Post],
        domains: list[str],
    ) -> None:
        lead, mod1, mod2 = self.users["lead"], self.users["moderator1"], self.users["moderator2"]
        content = DOPPELGANGER_JSON.read_bytes()
        sha = evidence_services.sha256_hex(content)
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.INDICATOR,
            captured_by=lead,
            capture_method=CaptureMethod.IMPORT,
            title=f"Meta threat indicators: China and Russia CIB, September 2022 (SHA-256 {sha[:12]}…)",
            url=DOPPELGANGER_UPSTREAM,
            captured_text=(
                f"File: {DOPPELGANGER_JSON.name}\nSHA-256: {sha}\n"
                f"{len(domains)} domains named by Meta (MIT licence); the brands on this case use "
                f"{sum(b.domains.count() for b in brands.values())} of them."
            ),
            techniques=self.technique("0.6.2", "1.5.1", "0.9.7"),
            files=[evidence_services.Upload(EvidenceFile.Role.ATTACHMENT, DOPPELGANGER_JSON.name, content)],
            captured_at=_at("2022-09-28T08:00"),
        )
        bild = brands["Bild (clone)"]
        bild_domains = list(bild.domains.values_list("domain", flat=True))
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.MEDIA_BRAND,
            captured_by=mod2,
            capture_method=CaptureMethod.UPLOAD,
            brand=bild,
            title=f"Bild clone on {len(bild_domains)} look-alike domains",
            url="https://bild.pics/",
            captured_text=f"Same logo and layout as bild.de on: {', '.join(bild_domains)}.",
            techniques=self.technique("1.5.1", "0.6.2", "9.5.2"),
            files=[
                evidence_services.Upload(
                    EvidenceFile.Role.LOGO,
                    "bild-clone-logo.png",
                    render_logo(text="BILD", background=(221, 0, 0)),
                )
            ],
            captured_at=_at("2022-09-28T09:40"),
        )
        rrn = brands["RRN (Reliable Recent News)"]
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.MEDIA_BRAND,
            captured_by=mod1,
            brand=rrn,
            title="RRN presents itself as an independent news agency",
            url="https://rrn.world/",
            captured_text="No imprint, no named editors; the channels on this case push every article.",
            techniques=self.technique("1.3.1", "0.6.2"),
            captured_at=_at("2022-09-28T10:05"),
        )
        first = first_posts[0]
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.LINK,
            captured_by=mod1,
            account=first.account,
            post=first,
            title=f"@{first.account.handle} links to an article on bild.pics",
            url=first.links[0],
            captured_text=first.text,
            techniques=self.technique("7.5.2", "1.5.1"),
            captured_at=_at("2022-09-28T11:20"),
        )
        echo = echo_posts[0]
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.REPOST,
            captured_by=mod2,
            capture_method=CaptureMethod.EXTENSION,
            persona="research-persona-03",
            account=echo.account,
            post=echo,
            title=f"@{echo.account.handle} reposts @{first.account.handle} within a minute",
            url=echo.account.profile_url,
            captured_text=echo.text,
            source_text=first.text,
            source_url=first.account.profile_url,
            source_author=f"{first.account.display_name} (@{first.account.handle})",
            techniques=self.technique("6.2.7"),
            captured_at=_at("2022-09-28T11:32"),
        )
        evidence_services.record_evidence(
            case=case,
            kind=EvidenceKind.NOTE,
            captured_by=lead,
            title="Domain rotation within each brand",
            captured_text=(
                "Each brand moves between typosquatted domains (bild.pics → bild.asia, spiegel.ltd → "
                "spiegeli.live, dailymail.top → dailymail.cam) while the channels keep posting: take down "
                "the brand, not the domain."
            ),
            techniques=self.technique("9.5.2", "0.6.2"),
            captured_at=_at("2022-09-29T07:15"),
        )


def demo_counts(team: Team) -> dict[str, int]:
    """What the demo team holds, for the command's summary."""
    accounts = Account.objects.filter(team=team)
    posts = Post.objects.filter(account__team=team)
    return {
        "logins": Membership.objects.filter(team=team).count(),
        "actors": team.actors.count(),
        "accounts": accounts.count(),
        "suspect accounts": accounts.filter(kind=AccountKind.SUSPECT).count(),
        "reference accounts": accounts.filter(kind=AccountKind.REFERENCE).count(),
        "platforms": accounts.values("platform").distinct().count(),
        "posts": posts.count(),
        "copied posts": posts.filter(copied_from__isnull=False).count(),
        "media brands": MediaBrand.objects.filter(team=team).count(),
        "brand domains": BrandDomain.objects.filter(brand__team=team).count(),
        "cases": Case.objects.filter(team=team).count(),
        "evidence items": Evidence.objects.filter(case__team=team).count(),
        "evidence files": EvidenceFile.objects.filter(evidence__case__team=team).count(),
        "queue items": QueueItem.objects.filter(queue__team=team).count(),
    }


def seed_demo(stdout: TextIO | None = None) -> dict[str, Any]:
    """Load the demo team and its investigations, once.

    Idempotent by the team's slug: if the demo team exists nothing is written and the result
    says so. Everything else happens in one transaction, so a failure leaves no half demo.
    """

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message)

    result: dict[str, Any] = {
        "team_slug": DEMO_TEAM_SLUG,
        "team_name": DEMO_TEAM_NAME,
        "logins": [asdict(login) for login in DEMO_LOGINS],
    }
    with transaction.atomic():
        team = Team.objects.filter(slug=DEMO_TEAM_SLUG).first()
        created = team is None
        if created:
            taken = sorted(
                get_user_model()
                .objects.filter(username__in=[login.username for login in DEMO_LOGINS])
                .values_list("username", flat=True)
            )
            if taken:
                raise Conflict(
                    f"Users {', '.join(taken)} already exist but the demo team does not; the demo needs "
                    "those usernames. Load it into an empty database."
                )
            # Not a secret: a fixed seed makes the demo the same on every machine.
            seeder = _Seeder(rng=random.Random(RANDOM_SEED), say=say)  # noqa: S311
            seeder.run()
            team = seeder.team
    result["created"] = created
    result["counts"] = demo_counts(team)
    return result
