"""What the engine knows about an account, and the keys it turns that into.

Input is plain data (``AccountRecord``/``PostRecord``), built by whoever reads the database. Each
account becomes a set of *keys*: short strings or numbers of one *kind* ("a hashtag", "a
60-second posting window", "a normalised post text"), stored as 64-bit hashes. Two accounts that
hold the same key share a piece of evidence; how much it is worth depends on how many accounts
hold it (the base rate), which the index knows and this module does not.

Extraction is column-wise (``extract_batch``): one Python pass over a batch of records fills one
flat list per kind of key, and everything after that (hashing, windows, owners) is numpy over the
whole batch. Text keys are hashed with Python's own string hash (SipHash, computed in C and
cached on the string): stable within a process, which is all an in-memory index needs; numeric
keys with a vectorised splitmix64.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import compress
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

from cases.handles import normalize_handle, refang
from cases.similarity.config import SimilarityConfig
from cases.similarity.text import normalize_text


class PostRecord(NamedTuple):
    """One post. A named tuple: a sweep reads a million of them, and a tuple is made 4x faster
    than a frozen dataclass."""

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
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_WORD2 = re.compile(r"\w\w+")  # the \w+ runs of two characters or more, in one pass
# ASCII letters -> "a", digits -> "9", everything else kept (str.translate table)
_ASCII_PATTERN = {
    **{ord(c): "a" for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{ord(c): "9" for c in "0123456789"},
}
_SPECIAL = re.compile(r"[/\[(\n]|hxxp", re.IGNORECASE)


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: a well-spread 64-bit hash of 64-bit integers."""
    z = np.asarray(values).astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def number_hashes(kind: int, values: np.ndarray) -> np.ndarray:
    """64-bit ids for numeric keys of one kind (time windows, post ids, avatar quarters)."""
    with np.errstate(over="ignore"):
        salted = np.asarray(values).astype(np.int64).view(np.uint64) + np.uint64(
            (0x9E3779B97F4A7C15 * (int(kind) + 1)) & 0xFFFFFFFFFFFFFFFF
        )
    return _mix64(salted)


def text_hashes(values: Sequence[str]) -> np.ndarray:
    """64-bit ids for text keys (Python's string hash: same value, same id, in this process)."""
    return np.fromiter(map(hash, values), dtype=np.int64, count=len(values)).view(np.uint64)


def handle_key(handle: str) -> str:
    """The handle as compared: lower-case, without '@' or URL parts (cases.handles)."""
    if not handle:
        return ""
    if _SPECIAL.search(handle):  # URL forms, defanged dots: the full normalisation
        return normalize_handle(handle)
    return handle.strip().lstrip("@").lower()  # what normalize_handle does to a plain handle


def handle_shape(handle: str) -> str:
    """The pattern of a handle: each run of letters -> ``a``, each run of n digits -> ``9{n}``,
    any other character kept. ``jordanl61185831`` -> ``a9{8}`` (X's default "name + 8 digits"),
    ``news_atl_24`` -> ``a_a_9{2}``, ``maria`` -> ``a``."""
    handle = handle_key(handle)
    if "\n" not in handle:  # the same result as the loop below, in two C passes
        return _DIGITS.sub(_digit_run, _LETTER_RUN.sub("a", handle))
    parts = []
    for letters, digits, other in _SHAPE_RUN.findall(handle):
        if letters:
            parts.append("a")
        elif digits:
            parts.append(f"9{{{len(digits)}}}")
        else:
            parts.append(other)
    return "".join(parts)


def _digit_run(match: re.Match[str]) -> str:
    return f"9{{{len(match.group())}}}"


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
    return _WORD2.findall(text.lower())


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


# Kinds whose keys are strings (hashed with ``text_hashes``); the others are numbers.
TEXT_KINDS = (
    Kind.HANDLE_GRAM,
    Kind.NAME_TOKEN,
    Kind.BIO_TOKEN,
    Kind.BIO_WHOLE,
    Kind.TEXT,
    Kind.PASSAGE,
    Kind.URL,
    Kind.DOMAIN,
    Kind.HASHTAG,
    Kind.MENTION,
    Kind.BRAND_DOMAIN,
)


@dataclass(slots=True)
class Batch:
    """Features of many accounts, column by column, ready for the index.

    ``keys[kind] = (owner, hashes)``: row ``owner[i]`` (0-based in the batch) holds key
    ``hashes[i]`` of that kind; a row may hold a key twice (two posts in one window), the index
    merges them. ``terms``: the same for content terms (words and hashtags, one entry per use).
    ``labels[kind]``: hash -> the value as written, for the kinds an explanation names.
    """

    ids: np.ndarray
    platforms: list[str]
    reference: np.ndarray
    handles: list[str]
    shapes: list[str]
    names: list[str]
    created: np.ndarray  # nan when unknown
    avatar: np.ndarray  # uint64, 0 when none
    has_avatar: np.ndarray
    time_indptr: np.ndarray
    times: np.ndarray  # sorted within each row
    keys: dict[int, tuple[np.ndarray, np.ndarray]]
    terms: tuple[np.ndarray, np.ndarray]
    labels: dict[int, dict[int, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def _owners(ends: list[int]) -> np.ndarray:
    """Row of every entry of a flat list, from the list's length after each row."""
    counts = np.diff(np.asarray(ends, dtype=np.int64), prepend=0)
    return np.repeat(np.arange(len(counts), dtype=np.int32), counts)


def _terms(terms: list[str], ends: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(owner, hash) of content terms, without one-character words ("a", "I", "5")."""
    owner = _owners(ends)
    longer = np.fromiter(map(len, terms), dtype=np.int32, count=len(terms)) > 1
    if longer.all():
        return owner, text_hashes(terms)
    return owner[longer], text_hashes(list(compress(terms, longer.tolist())))


def extract_batch(
    records: Sequence[AccountRecord],
    config: SimilarityConfig,
    brand_domains: Iterable[str] | frozenset[str] = (),
    url_cache: dict[str, tuple[str, str]] | None = None,
) -> Batch:
    """Turn records into features. ``brand_domains`` are the team's known fake-brand domains:
    a link to one of them also counts as a shared brand domain. ``url_cache`` (link -> its
    ``url_parts``) may be shared between batches: popular links repeat."""
    brand_domains = frozenset(brand_domains)
    urls_seen: dict[str, tuple[str, str]] = {} if url_cache is None else url_cache
    n = len(records)
    strings: dict[int, list[str]] = {int(kind): [] for kind in TEXT_KINDS}
    ends: dict[int, list[int]] = {int(kind): [] for kind in TEXT_KINDS}
    grams, gram_end = strings[Kind.HANDLE_GRAM], ends[Kind.HANDLE_GRAM]
    name_tokens, name_end = strings[Kind.NAME_TOKEN], ends[Kind.NAME_TOKEN]
    bio_tokens, bio_end = strings[Kind.BIO_TOKEN], ends[Kind.BIO_TOKEN]
    bios, bios_end = strings[Kind.BIO_WHOLE], ends[Kind.BIO_WHOLE]
    texts, text_end = strings[Kind.TEXT], ends[Kind.TEXT]
    passages, passage_end = strings[Kind.PASSAGE], ends[Kind.PASSAGE]
    urls, url_end = strings[Kind.URL], ends[Kind.URL]
    domains, domain_end = strings[Kind.DOMAIN], ends[Kind.DOMAIN]
    tags, tag_end = strings[Kind.HASHTAG], ends[Kind.HASHTAG]
    mentions, mention_end = strings[Kind.MENTION], ends[Kind.MENTION]
    brand_doms, brand_dom_end = strings[Kind.BRAND_DOMAIN], ends[Kind.BRAND_DOMAIN]
    times: list[float] = []
    time_end: list[int] = []
    sources: list[int] = []
    source_end: list[int] = []
    brand_ids: list[int] = []
    brand_end: list[int] = []
    terms: list[str] = []
    term_end: list[int] = []
    handles: list[str] = []
    shapes: list[str] = []
    names: list[str] = []
    created = np.full(n, np.nan)
    avatar = np.zeros(n, dtype=np.uint64)
    has_avatar = np.zeros(n, dtype=bool)

    min_words = config.min_copy_words
    find_passages = _passage_pattern(config.shingle_words).findall
    find_urls = _URL_IN_TEXT.findall
    find_tags = _HASHTAG.findall
    find_mentions = _MENTION.findall
    find_words = _WORD.findall
    find_terms = _WORD2.findall  # the \w+ runs of 2+ characters, lower-cased input
    digits_sub = _DIGITS.sub
    pattern_shapes: dict[str, tuple[str, bool]] = {}

    for row, record in enumerate(records):
        handle = handle_key(record.handle)
        handles.append(handle)
        if handle.isascii():
            # letters -> "a", digits -> "9" in one C pass; the shape and the skeleton follow from
            # that pattern (cached: a corpus has a few thousand patterns for a million handles)
            pattern = handle.translate(_ASCII_PATTERN)
            known = pattern_shapes.get(pattern)
            if known is None:
                known = pattern_shapes[pattern] = (handle_shape(handle), "9" in pattern.rstrip("9"))
            shapes.append(known[0])
            if "9" not in pattern:
                skeleton = handle
            elif known[1]:  # digits inside the handle, not only at its end
                skeleton = digits_sub("0", handle)
            else:
                skeleton = handle.rstrip("0123456789") + "0"
        else:
            skeleton = digits_sub("0", handle)
            shapes.append(handle_shape(handle) if handle else "")
        if len(skeleton) >= 5:
            grams.extend([skeleton[i : i + 4] for i in range(len(skeleton) - 3)])
        gram_end.append(len(grams))
        if record.created_at is not None:
            created[row] = float(record.created_at)
        name = find_terms(record.display_name.lower()) if record.display_name else []
        names.append(" ".join(name))
        name_tokens.extend(name)
        name_end.append(len(name_tokens))
        bio = find_terms(record.bio.lower()) if record.bio else []
        bio_tokens.extend(bio)
        bio_end.append(len(bio_tokens))
        if len(bio) >= 3:
            bios.append(" ".join(bio))
        bios_end.append(len(bios))
        if record.brand_ids:
            brand_ids.extend(int(b) for b in record.brand_ids)
        brand_end.append(len(brand_ids))
        for domain in record.brand_domains:
            d = url_parts(domain)[1]
            if d:
                brand_doms.append(d)
        if record.avatar_phash is not None:
            avatar[row] = int(record.avatar_phash) & 0xFFFFFFFFFFFFFFFF
            has_avatar[row] = True

        for post in record.posts:
            text = post.text or ""
            if post.posted_at is not None:
                times.append(post.posted_at)
            if post.copied_from_id is not None:
                sources.append(post.copied_from_id)
            in_text = "http" in text or "www." in text
            if post.links or in_text:
                links = list(post.links) + find_urls(text) if in_text else post.links
                for link in links:
                    parts = urls_seen.get(link)
                    if parts is None:
                        parts = url_parts(link)
                        if len(urls_seen) < 1_000_000:
                            urls_seen[link] = parts
                    url, domain = parts
                    if not domain:
                        continue
                    urls.append(url)
                    domains.append(domain)
                    if domain in brand_domains:
                        brand_doms.append(domain)
            if "#" in text:
                found = [t.lower() for t in find_tags(text)]
                tags.extend(found)
                terms.extend(["#" + t for t in found])
            if "@" in text:
                mentions.extend([m.lower() for m in find_mentions(text)])
            if "#" in text or "@" in text or in_text or "www." in text:
                core = find_words(_HASHTAG.sub(" ", normalize_text(text)))
            else:
                core = find_words(text.lower())
            terms += core  # one-letter words are dropped below, in one pass
            if len(core) >= min_words:
                joined = " ".join(core)
                texts.append(joined)
                passages.extend(find_passages(joined))
        term_end.append(len(terms))
        time_end.append(len(times))
        source_end.append(len(sources))
        text_end.append(len(texts))
        passage_end.append(len(passages))
        url_end.append(len(urls))
        domain_end.append(len(domains))
        tag_end.append(len(tags))
        mention_end.append(len(mentions))
        brand_dom_end.append(len(brand_doms))

    keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    labels: dict[int, dict[int, str]] = {}
    for kind in TEXT_KINDS:
        values = strings[int(kind)]
        if not values:
            continue
        hashes = text_hashes(values)
        keys[int(kind)] = (_owners(ends[int(kind)]), hashes)
        if kind in LABELLED_KINDS:
            labels[int(kind)] = dict(zip(hashes.tolist(), values, strict=True))

    # numeric keys, vectorised over the batch
    time_owner = _owners(time_end)
    flat_times = np.asarray(times, dtype=np.float64)
    if len(flat_times):
        unsorted = (np.diff(flat_times) < 0) & (np.diff(time_owner) == 0)
        if unsorted.any():
            order = np.lexsort((flat_times, time_owner))
            flat_times = flat_times[order]
        window = 2 * config.co_window_seconds
        keys[int(Kind.WINDOW)] = (
            np.concatenate([time_owner, time_owner]),
            number_hashes(
                Kind.WINDOW,
                np.concatenate(
                    [
                        2 * (flat_times // window).astype(np.int64),
                        2 * ((flat_times + window / 2) // window).astype(np.int64) + 1,
                    ]
                ),
            ),
        )
    time_indptr = np.zeros(n + 1, dtype=np.int64)
    time_indptr[1:] = np.asarray(time_end, dtype=np.int64)
    if sources:
        keys[int(Kind.SOURCE)] = (_owners(source_end), number_hashes(Kind.SOURCE, np.asarray(sources)))
    if brand_ids:
        ids = np.asarray(brand_ids, dtype=np.int64)
        keys[int(Kind.BRAND)] = (_owners(brand_end), number_hashes(Kind.BRAND, ids))
        labels[int(Kind.BRAND)] = dict(
            zip(keys[int(Kind.BRAND)][1].tolist(), (str(b) for b in brand_ids), strict=True)
        )
    known = np.flatnonzero(~np.isnan(created))
    if len(known):
        width = 2 * config.creation_window_seconds
        c = created[known]
        keys[int(Kind.CREATED)] = (
            np.concatenate([known, known]).astype(np.int32),
            number_hashes(
                Kind.CREATED,
                np.concatenate(
                    [2 * (c // width).astype(np.int64), 2 * ((c + width / 2) // width).astype(np.int64) + 1]
                ),
            ),
        )
        shaped = known[[bool(shapes[i]) for i in known.tolist()]]
        if len(shaped):
            shape_hash = text_hashes([shapes[i] for i in shaped.tolist()])
            day = (created[shaped] // 86400).astype(np.int64)
            with np.errstate(over="ignore"):
                mixed = _mix64(shape_hash) ^ day.view(np.uint64)
            keys[int(Kind.SHAPE_DAY)] = (
                shaped.astype(np.int32),
                number_hashes(Kind.SHAPE_DAY, mixed.view(np.int64)),
            )
    with_avatar = np.flatnonzero(has_avatar)
    if len(with_avatar):
        bands = np.concatenate(
            [
                np.uint64(band * 65536) + ((avatar[with_avatar] >> np.uint64(16 * band)) & np.uint64(0xFFFF))
                for band in range(4)
            ]
        )
        keys[int(Kind.AVATAR_BAND)] = (
            np.tile(with_avatar, 4).astype(np.int32),
            number_hashes(Kind.AVATAR_BAND, bands.view(np.int64)),
        )

    return Batch(
        ids=np.fromiter((r.id for r in records), dtype=np.int64, count=n),
        platforms=[r.platform for r in records],
        reference=np.fromiter((r.reference for r in records), dtype=bool, count=n),
        handles=handles,
        shapes=shapes,
        names=names,
        created=created,
        avatar=avatar,
        has_avatar=has_avatar,
        time_indptr=time_indptr,
        times=flat_times,
        keys=keys,
        terms=_terms(terms, term_end),
        labels=labels,
    )
