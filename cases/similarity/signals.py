"""Score pairs of accounts on every signal at once (numpy over arrays of pairs), combine the
signals by family, and explain each result in one line per signal.

Every signal is 0..1. Key-based signals sum the *rarity* of the keys two accounts share (see
``Index.rarity``): a key held by two accounts is worth 1, one held by 5 % of the corpus 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process
from scipy.special import gammainc

from cases.similarity.config import FAMILIES, FAMILY_NAMES, SIGNALS, SimilarityConfig
from cases.similarity.features import KIND_COUNT, Kind, describe_shape

if TYPE_CHECKING:
    from cases.similarity.index import Index


class K:
    """The kinds as plain ints: an ``IntEnum`` member costs a descriptor lookup at every use,
    and scoring uses them a few hundred times per call."""


for _kind in Kind:
    setattr(K, _kind.name, int(_kind))

# A signal is listed in a match's reasons from this score on.
MIN_SHOWN = 0.05


@dataclass(frozen=True, slots=True)
class Signal:
    signal: str
    score: float
    detail: str

    def as_dict(self) -> dict:
        return {"signal": self.signal, "score": self.score, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Match:
    """A pair of accounts (``a_id < b_id``), their combined score and the signals behind it."""

    a_id: int
    b_id: int
    score: float
    signals: tuple[Signal, ...]
    strong: bool = False
    families: tuple[str, ...] = ()

    def other(self, account_id: int) -> int:
        return self.b_id if account_id == self.a_id else self.a_id

    def signals_json(self) -> list[dict]:
        """The ``SimilaritySuggestion.signals`` value."""
        return [s.as_dict() for s in self.signals]


@dataclass
class PairScores:
    """Signal scores of pairs ``(a[i], b[i])`` plus what the explanations need."""

    a: np.ndarray
    b: np.ndarray
    scores: dict[str, np.ndarray]
    counts: np.ndarray  # pairs x Kind: shared keys of each kind
    shared_pair: np.ndarray  # for every shared key: its pair ...
    shared_col: np.ndarray  # ... and its column
    aux: dict[str, np.ndarray] = field(default_factory=dict)


def _saturate(evidence: np.ndarray, scale: float) -> np.ndarray:
    return 1.0 - np.exp(-np.asarray(evidence, dtype=np.float64) / scale)


def _ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


def _per_row_sum(owner: np.ndarray, values: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(owner[mask], weights=values[mask], minlength=size)


def _match_sorted(code_a: np.ndarray, code_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (ia, ib) where two sorted arrays of distinct codes hold the same value. Codes are
    pair * width + column, already sorted because rows are gathered in pair order with sorted
    columns, so this is one binary search and no sort."""
    if not len(code_a) or not len(code_b):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    ib = np.searchsorted(code_b, code_a)
    ib[ib == len(code_b)] = 0
    hit = code_b[ib] == code_a
    return np.flatnonzero(hit), ib[hit]


def _rowwise_dot(store, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum over shared columns of data_a * data_b, for each pair (a[i], b[i])."""
    pa, ca, da = store.gather(a)
    pb, cb, db = store.gather(b)
    width = int(max(ca.max(initial=0), cb.max(initial=0))) + 1
    ia, ib = _match_sorted(pa * width + ca, pb * width + cb)
    return np.bincount(pa[ia], weights=da[ia].astype(np.float64) * db[ib], minlength=len(a))


def _co_timed(ta: np.ndarray, tb: np.ndarray, window: float) -> int:
    """How many of a's posts have one of b's within ``window`` seconds."""
    if not len(ta) or not len(tb):
        return 0
    pos = np.searchsorted(tb, ta)
    before = np.abs(ta - tb[np.clip(pos - 1, 0, len(tb) - 1)])
    after = np.abs(tb[np.clip(pos, 0, len(tb) - 1)] - ta)
    return int(np.count_nonzero(np.minimum(before, after) <= window))


def _co_timed_pairs(index: Index, a: np.ndarray, b: np.ndarray, window: float) -> np.ndarray:
    """``_co_timed`` for many pairs at once: each pair's post times are laid out on one axis
    (pair * span + time), so one binary search finds every post's nearest post of the other."""
    pa, ta, _ = index.times.gather(a)
    pb, tb, _ = index.times.gather(b)
    if not len(ta) or not len(tb):
        return np.zeros(len(a))
    base = min(ta.min(), tb.min())
    span = max(ta.max(), tb.max()) - base + 4.0 * window + 1.0
    code_b = pb * span + (tb - base)  # ascending: pairs in order, each row's times sorted
    pos = np.searchsorted(code_b, pa * span + (ta - base))
    hit = np.zeros(len(ta), dtype=bool)
    for at in (pos - 1, pos):  # the nearest of b's posts before and after, in the same pair
        inside = (at >= 0) & (at < len(tb))
        at = np.clip(at, 0, len(tb) - 1)
        hit |= inside & (pb[at] == pa) & (np.abs(ta - tb[at]) <= window)
    return np.bincount(pa[hit], minlength=len(a)).astype(np.float64)


def score_pairs(index: Index, a: np.ndarray, b: np.ndarray) -> PairScores:
    """Every signal for every pair (a[i], b[i]) of index rows, vectorised."""
    config = index.config
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    n = len(a)
    n_cols = max(index.n_cols, 1)

    # -- keys both accounts hold
    pa, ca, _ = index.keys.gather(a)
    pb, cb, _ = index.keys.gather(b)
    ia, _ = _match_sorted(pa * n_cols + ca, pb * n_cols + cb)
    sp, sc = pa[ia], ca[ia].astype(np.int64)
    kind = index.col_kind[sc].astype(np.int64)
    df = index.df[sc]
    rarity = index.rarity(df)
    slot = sp * KIND_COUNT + kind
    evidence = np.bincount(slot, weights=rarity, minlength=n * KIND_COUNT).reshape(n, KIND_COUNT)
    counts = np.bincount(slot, minlength=n * KIND_COUNT).reshape(n, KIND_COUNT)

    scores: dict[str, np.ndarray] = {}
    aux: dict[str, np.ndarray] = {}

    # -- copy-paste: the same rare text, an edited copy (shared passages), the same source post.
    # One copied post shows up as up to three keys (text, passages, source); evidence counts
    # posts, so the kinds are not added up: the strongest kind counts, the others a quarter.
    per_kind = np.stack([evidence[:, K.TEXT], evidence[:, K.SOURCE], 0.35 * evidence[:, K.PASSAGE]], axis=1)
    strongest = per_kind.max(axis=1)
    copy = strongest + 0.25 * (per_kind.sum(axis=1) - strongest)
    scores["copy_paste"] = _saturate(copy, 2.8)

    # -- links, domains, hashtags, mentions
    links = evidence[:, K.URL] + 0.5 * (
        evidence[:, K.DOMAIN] + evidence[:, K.HASHTAG] + evidence[:, K.MENTION]
    )
    scores["links"] = _saturate(links, 2.0)

    # -- brand: investigators' brands count in full; brand domains lose weight only when a large
    # share of the corpus links to them (a typosquat is never "common")
    brand_share = df / max(index.n_alive, 1)
    brand_value = np.clip(1.0 - brand_share / 0.25, 0.0, 1.0)
    is_brand = (kind == K.BRAND) | (kind == K.BRAND_DOMAIN)
    brand = np.bincount(sp[is_brand], weights=brand_value[is_brand], minlength=n)
    scores["brand"] = _saturate(brand, 0.5)

    # -- name and bio: weighted Jaccard of their words, weighted by rarity
    ka = index.col_kind[ca]
    kb = index.col_kind[cb]
    need_a = (ka == K.NAME_TOKEN) | (ka == K.BIO_TOKEN) | (ka == K.AVATAR_BAND)
    need_b = (kb == K.NAME_TOKEN) | (kb == K.BIO_TOKEN) | (kb == K.AVATAR_BAND)
    pa_n, ka_n, dfa = pa[need_a], ka[need_a], index.df[ca[need_a]]
    pb_n, kb_n, dfb = pb[need_b], kb[need_b], index.df[cb[need_b]]
    ra, rb = index.rarity(dfa), index.rarity(dfb)

    def weighted_jaccard(k: int) -> tuple[np.ndarray, np.ndarray]:
        both = evidence[:, k]
        total = _per_row_sum(pa_n, ra, ka_n == k, n) + _per_row_sum(pb_n, rb, kb_n == k, n) - both
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, both / total, 0.0), both

    # A name is worth what its words are worth: "Karen" or "John Smith" match thousands of
    # accounts, so even an exact match needs rare words (about 1.5 words' worth) to count fully.
    name_jaccard, name_shared = weighted_jaccard(K.NAME_TOKEN)
    one_a = n > 1 and a[0] == a[-1] and bool((a == a[0]).all())  # top-k: one account against many
    names_a = [index.names[int(a[0])]] * n if one_a else index.names.take(a)
    names_b = index.names.take(b)
    name_ratio = process.cpdist(names_a, names_b, scorer=fuzz.ratio, workers=1) / 100.0
    name_worth = (
        _per_row_sum(pa_n, ra, ka_n == K.NAME_TOKEN, n) + _per_row_sum(pb_n, rb, kb_n == K.NAME_TOKEN, n)
    ) / 2.0
    scores["name"] = np.maximum(
        name_jaccard * np.clip(name_shared / 1.5, 0.0, 1.0),
        _ramp(name_ratio, 0.85, 1.0) * np.clip(name_worth / 1.5, 0.0, 1.0),
    )
    aux["name_ratio"] = name_ratio

    bio_jaccard, bio_shared = weighted_jaccard(K.BIO_TOKEN)
    # a one- or two-word bio is not much of a fingerprint even when it is rare
    scores["bio"] = bio_jaccard * np.clip(bio_shared / 3.0, 0.0, 1.0)
    aux["bio_jaccard"] = bio_jaccard

    # -- handles: string similarity, and a shared shape worth its rarity
    handles_a = [index.handles[int(a[0])]] * n if one_a else index.handles.take(a)
    handles_b = index.handles.take(b)
    ratio = process.cpdist(handles_a, handles_b, scorer=fuzz.ratio, workers=1) / 100.0
    shortest = np.minimum(
        np.fromiter(map(len, handles_a), dtype=np.float64, count=n),
        np.fromiter(map(len, handles_b), dtype=np.float64, count=n),
    )
    scores["handle"] = _ramp(ratio, 0.75, 0.95) * np.clip(shortest / 8.0, 0.0, 1.0)
    aux["handle_ratio"] = ratio
    same_shape = index.shapes[a] == index.shapes[b]
    shape_df = index.shape_df[index.shapes[a]]
    scores["handle_shape"] = np.where(same_shape & (shortest > 0), index.rarity(shape_df), 0.0)
    aux["shape_df"] = shape_df

    # -- avatar: Hamming distance of perceptual hashes, worth the photo's rarity
    both_avatar = index.has_avatar[a] & index.has_avatar[b]
    distance = np.bitwise_count(index.avatar[a] ^ index.avatar[b]).astype(np.float64)
    closeness = _ramp(config.avatar_max_distance - distance, 0.0, config.avatar_max_distance)
    # how many accounts use (nearly) this photo: the least common of its four hash quarters
    band_a = ka_n == K.AVATAR_BAND
    band_b = kb_n == K.AVATAR_BAND
    min_a = np.full(n, np.inf)
    min_b = np.full(n, np.inf)
    np.minimum.at(min_a, pa_n[band_a], dfa[band_a].astype(np.float64))
    np.minimum.at(min_b, pb_n[band_b], dfb[band_b].astype(np.float64))
    users = np.maximum(np.where(np.isinf(min_a), 1, min_a), np.where(np.isinf(min_b), 1, min_b))
    scores["avatar"] = np.where(both_avatar, closeness * index.rarity(users), 0.0)
    aux["avatar_distance"] = distance
    aux["avatar_users"] = users

    # -- content: cosine of TF-IDF vectors
    cosine = _rowwise_dot(index.content, a, b) if n else np.zeros(0)
    scores["content"] = _ramp(cosine, 0.15, 0.65)
    aux["content_cosine"] = cosine

    # -- co-timing: posts within the window, more often than chance
    co_count = np.zeros(n)
    expected = (
        index.n_posts[a].astype(np.float64)
        * index.n_posts[b]
        * (2.0 * config.co_window_seconds)
        / max(index.post_span, 1.0)
    )
    timed = np.flatnonzero(counts[:, K.WINDOW] >= 2)
    if len(timed):
        co_count[timed] = _co_timed_pairs(index, a[timed], b[timed], config.co_window_seconds)
    scores["co_timing"] = _saturate(np.maximum(co_count - 1.0 - 3.0 * expected, 0.0), 2.0)
    aux["co_count"] = co_count
    aux["co_expected"] = expected

    # -- creation: created in the same window, and that window is a burst: the chance of that
    # many sign-ups in one window at the corpus's rate (Poisson) is tiny
    is_created = kind == K.CREATED
    expected_signups = max(index.created_rate * 2.0 * config.creation_window_seconds, 1e-6)
    # the Poisson tail P(X >= df) = P(df, mu), the regularised lower incomplete gamma function
    with np.errstate(divide="ignore"):
        surprise = -np.log10(gammainc(np.maximum(df[is_created], 1).astype(np.float64), expected_signups))
    creation = np.zeros(n)
    np.maximum.at(creation, sp[is_created], np.clip((surprise - 3.0) / 5.0, 0.0, 1.0))
    burst_size = np.zeros(n)
    np.maximum.at(burst_size, sp[is_created], df[is_created].astype(np.float64))
    scores["creation"] = creation
    aux["burst_size"] = burst_size

    return PairScores(a=a, b=b, scores=scores, counts=counts, shared_pair=sp, shared_col=sc, aux=aux)


def combine(
    scores: dict[str, np.ndarray], config: SimilarityConfig
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(combined score, per-family scores, how many families agree) for each pair.

    Noisy-OR inside a family and across families; a pair that only one family supports keeps
    ``single_family_factor`` of its score, so it never crosses the default threshold alone.
    """
    n = len(next(iter(scores.values())))
    remaining = {family: np.ones(n) for family in FAMILY_NAMES}
    for signal in SIGNALS:
        weight = config.weights.get(signal, 0.0)
        if weight:
            remaining[FAMILIES[signal]] *= 1.0 - weight * scores[signal]
    families = {family: 1.0 - left for family, left in remaining.items()}
    agree = sum((families[f] >= config.family_agree).astype(np.int64) for f in FAMILY_NAMES)
    combined = 1.0 - np.prod([remaining[f] for f in FAMILY_NAMES], axis=0)
    combined = np.where(agree >= 2, combined, combined * config.single_family_factor)
    return combined, families, agree


# ---------------------------------------------------------------------- explanations
def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def explain(index: Index, pairs: PairScores, i: int, signal: str) -> str:
    """One line, in an investigator's words, for signal ``signal`` of pair ``i``."""
    a, b = int(pairs.a[i]), int(pairs.b[i])
    counts = pairs.counts[i]
    aux = pairs.aux

    def labels(kind: int, limit: int = 3) -> str:
        lo, hi = np.searchsorted(pairs.shared_pair, [i, i + 1])
        cols = pairs.shared_col[lo:hi]
        chosen = cols[index.col_kind[cols] == kind]
        # rarest first, then alphabetically: the same order in every process
        named = sorted(zip(index.df[chosen].tolist(), map(index.col_label, chosen.tolist()), strict=True))
        names = [label for _, label in named if label][:limit]
        more = len(chosen) - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 and names else "")

    if signal == "handle":
        return f"handles `{index.handles[a]}` and `{index.handles[b]}` are {aux['handle_ratio'][i]:.0%} alike"
    if signal == "handle_shape":
        shape = index.shape_names[index.shapes[a]]
        return (
            f"handle shape `{shape}` ({describe_shape(shape)}), shared by {int(aux['shape_df'][i])} accounts"
        )
    if signal == "name":
        if index.names[a] == index.names[b]:
            return f"same display name '{index.names[a]}'"
        return f"display names '{index.names[a]}' and '{index.names[b]}' are {aux['name_ratio'][i]:.0%} alike"
    if signal == "bio":
        if counts[K.BIO_WHOLE]:
            return f"identical bio ({_plural(int(counts[K.BIO_TOKEN]), 'word')})"
        return f"bios share {_plural(int(counts[K.BIO_TOKEN]), 'uncommon word')}"
    if signal == "avatar":
        users = int(aux["avatar_users"][i])
        dist = int(aux["avatar_distance"][i])
        same = "same avatar" if dist == 0 else f"near-identical avatars ({_plural(dist, 'bit')} apart)"
        return same + (f", used by {users} accounts" if users > 2 else "")
    if signal == "copy_paste":
        parts = []
        if counts[K.TEXT]:
            parts.append(_plural(int(counts[K.TEXT]), "near-identical post"))
        if counts[K.SOURCE]:
            parts.append(_plural(int(counts[K.SOURCE]), "post") + " copied from the same source")
        if counts[K.PASSAGE] and not counts[K.TEXT]:
            parts.append(_plural(int(counts[K.PASSAGE]), "shared passage"))
        return ", ".join(parts) or "copied text"
    if signal == "content":
        return f"posts {aux['content_cosine'][i]:.0%} alike in wording (TF-IDF cosine)"
    if signal == "links":
        parts = []
        if counts[K.URL]:
            parts.append(_plural(int(counts[K.URL]), "same link"))
        for kind, word in ((K.DOMAIN, "domain"), (K.HASHTAG, "hashtag"), (K.MENTION, "mention")):
            if counts[kind]:
                parts.append(f"{_plural(int(counts[kind]), word)} ({labels(kind)})")
        return "; ".join(parts)
    if signal == "co_timing":
        window = index.config.co_window_seconds
        return (
            f"{_plural(int(aux['co_count'][i]), 'post')} within {window} s of each other "
            f"({aux['co_expected'][i]:.1f} expected by chance)"
        )
    if signal == "creation":
        hours = 2 * index.config.creation_window_seconds / 3600
        return f"created in the same burst ({int(aux['burst_size'][i])} accounts within {hours:g} h)"
    if signal == "brand":
        domains = labels(K.BRAND_DOMAIN)
        brands = labels(K.BRAND)
        if domains:
            return f"same brand domain {domains}" + (f" ({brands})" if brands else "")
        return f"both run or amplify {brands}"
    raise ValueError(signal)


def matches_for_pairs(
    index: Index,
    a: np.ndarray,
    b: np.ndarray,
    *,
    limit: int | None = None,
    threshold: float | None = None,
) -> list[Match]:
    """Score pairs of rows and turn the best (``limit``) or those at/above ``threshold`` into
    matches, highest score first (ties: lower account ids first)."""
    if not len(a):
        return []
    pairs = score_pairs(index, a, b)
    combined, families, agree = combine(pairs.scores, index.config)
    combined = np.round(combined, 4)
    id_a, id_b = index.ids[pairs.a], index.ids[pairs.b]
    low, high = np.minimum(id_a, id_b), np.maximum(id_a, id_b)
    order = np.lexsort((high, low, -combined))
    # without a threshold (top-k), anything the signals saw at all
    order = order[combined[order] >= threshold] if threshold is not None else order[combined[order] > 0]
    if limit is not None:
        order = order[:limit]
    weights = index.config.weights
    live = [(k, s) for k, s in enumerate(SIGNALS) if weights.get(s, 0.0) > 0]
    # the chosen pairs' numbers as Python floats, read once (not one numpy scalar at a time)
    table = np.stack([pairs.scores[s][order] for _, s in live], axis=1).tolist() if live else []
    agreeing_table = np.stack(
        [families[f][order] >= index.config.family_agree for f in FAMILY_NAMES], axis=1
    ).tolist()
    lows, highs = low[order].tolist(), high[order].tolist()
    scores, strong = combined[order].tolist(), (agree[order] >= 2).tolist()
    matches = []
    for j, i in enumerate(order.tolist()):
        row = table[j] if live else []
        shown = [
            (-weights[s] * value, k, s, value)
            for (k, s), value in zip(live, row, strict=True)
            if value >= MIN_SHOWN
        ]
        shown.sort()
        signals = tuple(
            Signal(signal=s, score=round(value, 4), detail=explain(index, pairs, i, s))
            for _, _, s, value in shown
        )
        matches.append(
            Match(
                a_id=lows[j],
                b_id=highs[j],
                score=scores[j],
                signals=signals,
                strong=strong[j],
                families=tuple(f for f, ok in zip(FAMILY_NAMES, agreeing_table[j], strict=True) if ok),
            )
        )
    return matches
