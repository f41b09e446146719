"""Side-by-side highlighting of a copied post and its source.

The texts are adversaries' texts, so nothing here produces markup: the result is a list of
plain-text segments, each flagged shared or not, and the template wraps the shared ones in
``<mark>`` with autoescaping on. Matching is on words, ignoring case and the punctuation around
them, which is what a reader compares; the whitespace after each word travels with it so the
text reads as written.
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_WORD = re.compile(r"\S+\s*")
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")
# Above this many words per side the matcher's quadratic worst case is not worth a page render;
# longer texts are shown without highlighting.
MAX_WORDS = 2000


@dataclass(frozen=True)
class Segment:
    text: str
    shared: bool


@dataclass(frozen=True)
class SideBySide:
    copy: list[Segment]
    source: list[Segment]
    # Share of the copy's words found, in order, in the source (0..1).
    shared_words: float


def _tokens(text: str) -> list[str]:
    leading = text[: len(text) - len(text.lstrip())]
    words = _WORD.findall(text)
    if leading and words:
        words[0] = leading + words[0]
    return words


def _key(token: str) -> str:
    """What two words are compared by: case and surrounding punctuation do not count ("June!!" is
    "june."), so an edit that only adds emphasis leaves the words marked as shared."""
    word = token.strip().lower()
    return _EDGE_PUNCTUATION.sub("", word) or word


def _segments(tokens: list[str], shared: list[bool]) -> list[Segment]:
    segments: list[Segment] = []
    for token, flag in zip(tokens, shared, strict=True):
        if segments and segments[-1].shared == flag:
            segments[-1] = Segment(segments[-1].text + token, flag)
        else:
            segments.append(Segment(token, flag))
    return segments


def side_by_side(copy: str, source: str) -> SideBySide:
    copy_tokens, source_tokens = _tokens(copy or ""), _tokens(source or "")
    copy_shared = [False] * len(copy_tokens)
    source_shared = [False] * len(source_tokens)
    if copy_tokens and source_tokens and max(len(copy_tokens), len(source_tokens)) <= MAX_WORDS:
        matcher = SequenceMatcher(
            None, [_key(t) for t in copy_tokens], [_key(t) for t in source_tokens], autojunk=False
        )
        for block in matcher.get_matching_blocks():
            for i in range(block.size):
                copy_shared[block.a + i] = True
                source_shared[block.b + i] = True
    return SideBySide(
        copy=_segments(copy_tokens, copy_shared),
        source=_segments(source_tokens, source_shared),
        shared_words=sum(copy_shared) / len(copy_tokens) if copy_tokens else 0.0,
    )
