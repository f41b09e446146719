"""Text normalisation shared by the engine and by evidence: what counts as 'the same post'."""

import re

from rapidfuzz import fuzz

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, without URLs, @mentions or runs of white space."""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return _SPACE.sub(" ", text).strip().lower()


def copy_similarity(copy: str, source: str) -> float:
    """0..1: how much of the copy is the source, after normalisation (Indel ratio)."""
    a, b = normalize_text(copy), normalize_text(source)
    if not a or not b:
        return 0.0
    return round(fuzz.ratio(a, b) / 100.0, 4)
