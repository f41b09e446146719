"""What the engine knows about an account, and the keys it turns that into.

Input is plain data (``AccountRecord``/``PostRecord``), built by whoever reads the database. Each
account becomes a set of *keys*: short strings of one *kind* ("a hashtag", "a 60-second posting
window", "a normalised post text"), stored as 64-bit hashes. Two accounts that hold the same key
share a piece of evidence; how much it is worth depends on how many accounts hold it (the base
rate), which the index knows and this module does not.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import urlsplit

import numpy as np
from sklearn.utils import murmurhash3_32

from cases.handles import normalize_handle, refang
from cases.similarity.config import SimilarityConfig
from cases.similarity.text import normalize_text


@dataclass(frozen=True, slots=True)
class PostRecord:
    text: str = ""
    posted_at: float | None = None  # epoch seconds
    links: tuple[str, ...] = ()
    copied_from_id: int | None = None  # the reference post this one copies, when known


@dataclass(slots=True)
class AccountRecord:
    """One account as the engine sees it. ``reference`` accounts (the real politicians and
    outlets that suspects copy from) are indexed, so their posts and links count towards base
    rates, but they are never suggested and never paired in a sweep."""

    id: int
    platform: str = ""
    handle: str = ""
    display_name: str = ""
    bio: str = ""
    created_at: float | None = None  # epoch seconds
    avatar_phash: int | None = None  # 64-bit perceptual hash
    posts: Sequence[PostRecord] = ()
    brand_domains: frozenset[str] | set[str] = frozenset()
    brand_ids: frozenset[int] | set[int] = frozenset()
    reference: bool = False


class Kind(IntEnum):
    """What a key is. Each kind feeds one signal; its blocking weight is in ``BLOCK_WEIGHT``."""

    HANDLE_GRAM = 0  # 4-gram of the handle with digit runs folded ("jordanl0")
    SHAPE_DAY = 1  # handle shape + day of creation: shape only ever blocks *with* something else
    NAME_TOKEN = 2
    BIO_TOKEN = 3
    BIO_WHOLE = 4  # the whole normalised bio, when it has 3+ words
    TEXT = 5  # a post's normalised text (case, URLs, mentions, hashtags, punctuation stripped)
    PASSAGE = 6  # a sampled 5-word passage of a post: catches edited copies
    SOURCE = 7  # the reference post a post was copied from
    URL = 8
    DOMAIN = 9
    HASHTAG = 10
    MENTION = 11
    WINDOW = 12  # a posting-time window (two offset grids)
    CREATED = 13  # a creation-time window (two offset grids)
    BRAND = 14
    BRAND_DOMAIN = 15
    AVATAR_BAND = 16  # one 16-bit quarter of the avatar hash: pigeonhole for Hamming <= 3


KIND_COUNT = len(Kind)

# How much one shared key counts towards making two accounts a *candidate pair* (blocking). A pair
# is a candidate at 1.0. Weak kinds need company: one shared hashtag is not a reason to compare,
# two are; a posting window counts a quarter, so it takes two co-timed posts (each in two grids).
BLOCK_WEIGHT = np.zeros(KIND_COUNT, dtype=np.float32)
for _kind, _weight in {
    Kind.HANDLE_GRAM: 0.34,
    Kind.SHAPE_DAY: 1.0,
    Kind.NAME_TOKEN: 0.5,
    Kind.BIO_TOKEN: 0.34,
    Kind.BIO_WHOLE: 1.0,
    Kind.TEXT: 1.0,
    Kind.PASSAGE: 0.5,
    Kind.SOURCE: 1.0,
    Kind.URL: 1.0,
    Kind.DOMAIN: 0.5,
    Kind.HASHTAG: 0.5,
    Kind.MENTION: 0.5,
    Kind.WINDOW: 0.25,
    Kind.CREATED: 0.5,
    Kind.BRAND: 1.0,
    Kind.BRAND_DOMAIN: 1.0,
    Kind.AVATAR_BAND: 0.5,
}.items():
    BLOCK_WEIGHT[_kind] = _weight

# Blocking weights of these kinds do not fall with the key's frequency below the block cap:
# investigators curated them.
CURATED_KINDS = (Kind.BRAND, Kind.BRAND_DOMAIN)

# Kinds whose value is worth showing in an explanation ("same brand domain bild.pics").
LABELLED_KINDS = frozenset({Kind.DOMAIN, Kind.HASHTAG, Kind.MENTION, Kind.BRAND_DOMAIN, Kind.BRAND})

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+|www\.[^\s<>\"']+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@(\w+)")
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_HOST_PREFIX = re.compile(r"^(?:www\d?\.|m\.|mobile\.)")
_SHAPE_RUN = re.compile(r"([^\W\d_]+)|(\d+)|(.)", re.UNICODE)


def key_hash(kind: int, value: str) -> int:
    """A stable 64-bit id for a text key (murmur3 with two seeds): the same in every process."""
    text = f"{int(kind)}:{value}"
    high = murmurhash3_32(text, seed=0x5EED, positive=True)
    low = murmurhash3_32(text, seed=0xC0FFEE, positive=True)
    return (high << 32) | low


def number_hashes(kind: int, values: np.ndarray) -> np.ndarray:
    """Stable 64-bit ids for numeric keys of one kind (time windows, post ids, avatar quarters),
    hashed in one vectorised call. Values are folded to 31 bits first."""
    values = np.asarray(values, dtype=np.int64)
    folded = ((values ^ (values >> 31)) & 0x7FFFFFFF).astype(np.int32)
    high = murmurhash3_32(folded, seed=0x5EED + 7919 * kind, positive=True).astype(np.uint64)
    low = murmurhash3_32(folded, seed=0xC0FFEE + 104729 * kind, positive=True).astype(np.uint64)
    return (high << np.uint64(32)) | low


def handle_key(handle: str) -> str:
    """The handle as compared: lower-case, without '@' or URL parts (cases.handles)."""
    return normalize_handle(handle) if handle else ""


def handle_shape(handle: str) -> str:
    """The pattern of a handle: each run of letters -> ``a``, each run of n digits -> ``9{n}``,
    any other character kept. ``jordanl61185831`` -> ``a9{8}`` (X's default "name + 8 digits"),
    ``news_atl_24`` -> ``a_a_9{2}``, ``maria`` -> ``a``."""
    parts = []
    for letters, digits, other in _SHAPE_RUN.findall(handle_key(handle)):
        if letters:
            parts.append("a")
        elif digits:
            parts.append(f"9{{{len(digits)}}}")
        else:
            parts.append(other)
    return "".join(parts)


def describe_shape(shape: str) -> str:
    """``a9{8}`` -> ``name + 8 digits``; ``a_a_9{2}`` -> ``name + '_' + letters + '_' + 2 digits``."""
    words: list[str] = []
    for part in re.findall(r"a|9\{\d+\}|.", shape):
        if part == "a":
            words.append("name" if not words else "letters")
        elif part.startswith("9{"):
            n = int(part[2:-1])
            words.append(f"{n} digit" + ("s" if n != 1 else ""))
        else:
            words.append(f"'{part}'")
    return " + ".join(words)


def url_parts(url: str) -> tuple[str, str]:
    """(``host/path`` as written, domain) of a link; never fetched, shorteners stay shorteners."""
    value = refang(url.strip())
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
    except ValueError:
        return "", ""
    host = _HOST_PREFIX.sub("", (parts.hostname or "").lower().rstrip("."))
    if not host:
        return "", ""
    path = parts.path.rstrip("/")
    return f"{host}{path}", host


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1]


def core_text(text: str) -> list[str]:
    """The words of a post as copy-paste detection compares them: normalize_text (case, URLs,
    mentions, white space) and then without hashtags and punctuation."""
    if "#" not in text and "@" not in text and "http" not in text and "www." not in text:
        return _WORD.findall(text.lower())  # the same words, without four regex passes
    return _WORD.findall(_HASHTAG.sub(" ", normalize_text(text)))


@functools.lru_cache(maxsize=8)
def _passage_pattern(n_words: int) -> re.Pattern[str]:
    """Passages of ``n_words`` words that start at an *anchor* word (one starting with b, f, k,
    v, w or y, or with Cyrillic be, ve, ka or ef: about one English word in six). Anchors depend
    on the text only, so they are the same in every process and do not move when a copy gets a
    prefix; one regex pass per post finds them all."""
    anchors = "bfkvwy\u0431\u0432\u043a\u0444"
    return re.compile(rf"(?<!\S)(?=([{anchors}]\w*(?: \w+){{{n_words - 1}}}))")


@dataclass(slots=True)
class Features:
    """One account, ready for the index: scalar fields plus its keys as (kind, hash) pairs."""

    handle: str
    shape: str
    name: str
    created_at: float  # nan when unknown
    avatar: int  # 0 when none
    has_avatar: bool
    post_times: np.ndarray  # sorted epoch seconds
    key_kinds: np.ndarray  # int8, one per distinct text key
    key_hashes: np.ndarray  # uint64
    num_kinds: np.ndarray  # int8: numeric keys (time windows, post ids, avatar quarters) ...
    num_values: np.ndarray  # int64 ... hashed in bulk by ``hash_keys``
    content_tokens: list[str]
    labels: dict[int, str] = field(default_factory=dict)  # hash -> human label, LABELLED_KINDS only
    domains: frozenset[str] = frozenset()


def extract(
    record: AccountRecord, config: SimilarityConfig, brand_domains: Iterable[str] | frozenset[str] = ()
) -> Features:
    """Turn one record into features. ``brand_domains`` are the team's known fake-brand domains:
    a link to one of them also counts as a shared brand domain."""
    keys: dict[str, int] = {}  # "kind:value" -> kind, for text keys
    labels: dict[int, str] = {}
    numbers: dict[int, list[int]] = {}  # kind -> numeric values

    def add(kind: Kind, value: str, label: str | None = None) -> None:
        keys[f"{int(kind)}:{value}"] = kind
        if label is not None:
            labels[key_hash(kind, value)] = label

    handle = handle_key(record.handle)
    shape = handle_shape(handle) if handle else ""
    skeleton = _DIGITS.sub("0", handle)
    if len(skeleton) >= 5:
        for i in range(len(skeleton) - 3):
            keys[f"0:{skeleton[i : i + 4]}"] = Kind.HANDLE_GRAM
    created = float(record.created_at) if record.created_at is not None else math.nan
    if not math.isnan(created):
        if shape:
            add(Kind.SHAPE_DAY, f"{shape}|{int(created // 86400)}")
        width = 2 * config.creation_window_seconds
        numbers[Kind.CREATED] = [2 * int(created // width), 2 * int((created + width / 2) // width) + 1]

    name_tokens = words(record.display_name)
    for token in name_tokens:
        keys[f"2:{token}"] = Kind.NAME_TOKEN
    bio_tokens = words(record.bio)
    for token in bio_tokens:
        keys[f"3:{token}"] = Kind.BIO_TOKEN
    if len(bio_tokens) >= 3:
        add(Kind.BIO_WHOLE, " ".join(bio_tokens))

    for brand_id in record.brand_ids:
        add(Kind.BRAND, str(brand_id), f"brand #{brand_id}")
    for domain in record.brand_domains:
        d = url_parts(domain)[1]
        if d:
            add(Kind.BRAND_DOMAIN, d, d)

    avatar = int(record.avatar_phash) & 0xFFFFFFFFFFFFFFFF if record.avatar_phash is not None else 0
    has_avatar = record.avatar_phash is not None
    if has_avatar:
        numbers[Kind.AVATAR_BAND] = [band * 65536 + ((avatar >> (16 * band)) & 0xFFFF) for band in range(4)]

    times: list[float] = []
    sources: list[int] = []
    content: list[str] = []
    domains: set[str] = set()
    min_words = config.min_copy_words
    passages = _passage_pattern(config.shingle_words)
    for post in record.posts:
        text = post.text or ""
        if post.posted_at is not None:
            times.append(float(post.posted_at))
        if post.copied_from_id is not None:
            sources.append(int(post.copied_from_id))
        links = list(post.links)
        if "http" in text or "www." in text:
            links.extend(_URL_IN_TEXT.findall(text))
        for link in links:
            url, domain = url_parts(link)
            if not domain:
                continue
            keys[f"8:{url}"] = Kind.URL
            add(Kind.DOMAIN, domain, domain)
            domains.add(domain)
            if domain in brand_domains:
                add(Kind.BRAND_DOMAIN, domain, domain)
        if "#" in text:
            for tag in _HASHTAG.findall(text):
                tag = tag.lower()
                add(Kind.HASHTAG, tag, f"#{tag}")
                content.append("#" + tag)
        if "@" in text:
            for mention in _MENTION.findall(text):
                mention = mention.lower()
                add(Kind.MENTION, mention, f"@{mention}")
        core = core_text(text)
        content += [w for w in core if len(w) > 1]
        if len(core) >= min_words:
            joined = " ".join(core)
            keys["5:" + joined] = Kind.TEXT
            for passage in passages.findall(joined):
                keys["6:" + passage] = Kind.PASSAGE

    window = 2 * config.co_window_seconds
    if times:
        t = np.asarray(times, dtype=np.float64)
        numbers[Kind.WINDOW] = np.concatenate(
            [2 * (t // window).astype(np.int64), 2 * ((t + window / 2) // window).astype(np.int64) + 1]
        ).tolist()
    if sources:
        numbers[Kind.SOURCE] = sources

    key_hashes = np.fromiter(
        (
            (murmurhash3_32(k, seed=0x5EED, positive=True) << 32)
            | murmurhash3_32(k, seed=0xC0FFEE, positive=True)
            for k in keys
        ),
        dtype=np.uint64,
        count=len(keys),
    )
    num_kinds = np.concatenate(
        [np.full(len(values), kind, dtype=np.int8) for kind, values in numbers.items()]
        or [np.zeros(0, np.int8)]
    )
    num_values = np.concatenate(
        [np.asarray(values, dtype=np.int64) for values in numbers.values()] or [np.zeros(0, np.int64)]
    )

    return Features(
        handle=handle,
        shape=shape,
        name=" ".join(name_tokens),
        created_at=created,
        avatar=avatar,
        has_avatar=has_avatar,
        post_times=np.sort(np.asarray(times, dtype=np.float64)),
        key_kinds=np.fromiter(keys.values(), dtype=np.int8, count=len(keys)),
        key_hashes=key_hashes,
        num_kinds=num_kinds,
        num_values=num_values,
        content_tokens=content,
        labels=labels,
        domains=frozenset(domains),
    )


def hash_keys(features: Sequence[Features]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, hashes, kinds) of all keys of many accounts, row by row: text keys were hashed
    by ``extract``; numeric keys are hashed here, one vectorised call per kind for the batch.
    A row may hold a numeric key twice (two posts in one window); the index merges them."""
    n = len(features)
    text_len = np.fromiter((len(f.key_hashes) for f in features), dtype=np.int64, count=n)
    num_len = np.fromiter((len(f.num_values) for f in features), dtype=np.int64, count=n)
    empty_h, empty_k = np.zeros(0, np.uint64), np.zeros(0, np.int8)
    text_h = np.concatenate([f.key_hashes for f in features] or [empty_h])
    text_k = np.concatenate([f.key_kinds for f in features] or [empty_k])
    num_k = np.concatenate([f.num_kinds for f in features] or [empty_k])
    num_v = np.concatenate([f.num_values for f in features] or [np.zeros(0, np.int64)])
    num_h = np.zeros(len(num_v), dtype=np.uint64)
    for kind in np.unique(num_k).tolist():
        mask = num_k == kind
        num_h[mask] = number_hashes(kind, num_v[mask])
    owner = np.concatenate([np.repeat(np.arange(n), text_len), np.repeat(np.arange(n), num_len)])
    order = np.argsort(owner, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(text_len + num_len, out=indptr[1:])
    return indptr, np.concatenate([text_h, num_h])[order], np.concatenate([text_k, num_k])[order]
