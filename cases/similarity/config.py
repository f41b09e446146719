"""Every knob of the similarity engine in one place: signal weights, families and base rates.

A team overrides any of them by passing a dict (``SimilarityConfig.from_overrides({...})``); the
defaults are what ``bench/similarity_quality.py`` was tuned with (see docs/similarity.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

# The signals the engine scores, each in one family. A suggestion is "strong" only when at least
# two *families* agree: four signals that all read the profile (handle, shape, name, bio, avatar)
# are one piece of evidence about identity, not four independent ones.
FAMILIES: dict[str, str] = {
    "handle": "identity",
    "handle_shape": "identity",
    "name": "identity",
    "bio": "identity",
    "avatar": "identity",
    "copy_paste": "content",
    "content": "content",
    "links": "behaviour",
    "co_timing": "behaviour",
    "creation": "behaviour",
    "brand": "infrastructure",
}
SIGNALS: tuple[str, ...] = tuple(FAMILIES)
FAMILY_NAMES: tuple[str, ...] = ("identity", "content", "behaviour", "infrastructure")

# How much one signal at full score is worth (0..1). Within a family and across families the
# scores combine as a noisy-OR: combined = 1 - prod(1 - w * score). Why each value:
# docs/similarity.md, "Signals".
DEFAULT_WEIGHTS: dict[str, float] = {
    "handle": 0.55,  # near-identical handles are rare by chance, but people pick similar names
    "handle_shape": 0.3,  # a shared *rare* shape; the platform's default shape scores ~0 anyway
    "name": 0.45,  # display names repeat (common first/last names), weighted by token rarity
    "bio": 0.6,  # identical multi-word bios are a classic copy-paste persona trait
    "avatar": 0.7,  # the same photo on two accounts, unless it is a stock picture
    "copy_paste": 0.95,  # the same rare text posted by both: the strongest coordination trace
    "content": 0.5,  # overall topical similarity: supportive, never decisive
    "links": 0.7,  # the same rare URLs / domains / hashtags / mentions
    "co_timing": 0.75,  # posting within the same minute again and again
    "creation": 0.5,  # created in the same burst of sign-ups
    "brand": 0.9,  # investigators linked both to the same fake media brand
}


@dataclass(frozen=True)
class SimilarityConfig:
    """Weights and thresholds. Frozen: an index and its sweeps use one config for their life."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # A family "agrees" when its combined score reaches this.
    family_agree: float = 0.3
    # The combined score of a pair that only one family supports is multiplied by this, so it
    # stays below the default sweep threshold (0.5) however high that one family scores.
    single_family_factor: float = 0.45
    # Base rates. A key (a link, a hashtag, a text, a bio word) held by `df` accounts is worth
    # rarity(df) = log(cap / df) / log(cap / 2): 1 when two accounts hold it, 0 from `cap` on,
    # where cap = max(rarity_min, rarity_fraction * accounts).
    rarity_min: int = 100
    rarity_fraction: float = 0.05
    # Blocking skips a key held by more than max(block_min, block_fraction * accounts).
    block_min: int = 50
    block_fraction: float = 0.005
    # Top-k reads at most this many postings of the query's rarest keys (the eight rarest always),
    # and scores at most query_candidates of the accounts they reach, those whose shared keys are
    # worth most. At 1M accounts 5,000 postings find every result at 0.5 or above that 20,000
    # found, in half the time (bench/similarity_speed.py).
    query_postings: int = 5_000
    query_candidates: int = 500
    # Co-timing: posts within this many seconds count as co-timed.
    co_window_seconds: int = 60
    # Creation bursts: accounts created within the same window of this many seconds.
    creation_window_seconds: int = 3600
    # Posts shorter than this many words (after normalisation) are not copy-paste evidence:
    # "good morning", "so true" are typed by everyone.
    min_copy_words: int = 4
    # Edited copies: passages of this many words, starting at content-defined anchor words,
    # are near-duplicate keys (features._passage_pattern).
    shingle_words: int = 5
    # Content (TF-IDF over words) keeps this many strongest terms per account.
    content_terms: int = 64
    # Avatars: perceptual-hash Hamming distance at which two avatars stop counting as the same.
    avatar_max_distance: int = 10
    default_threshold: float = 0.5

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> SimilarityConfig:
        """Defaults, with a team's overrides: ``{"weights": {"content": 0.3}, "family_agree": 0.4}``."""
        if not overrides:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown similarity settings: {sorted(unknown)}")
        values = dict(overrides)
        if "weights" in values:
            bad = set(values["weights"]) - set(SIGNALS)
            if bad:
                raise ValueError(f"unknown signals: {sorted(bad)}")
            values["weights"] = {**DEFAULT_WEIGHTS, **values["weights"]}
        return replace(cls(), **values)

    def rarity_cap(self, accounts: int) -> float:
        return max(float(self.rarity_min), self.rarity_fraction * accounts)

    def block_cap(self, accounts: int) -> int:
        return max(self.block_min, math.floor(self.block_fraction * accounts))
