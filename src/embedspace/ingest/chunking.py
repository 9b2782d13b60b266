"""Split long documents into chunks under the model's token limit.

Chunks are computed on the model's own tokenizer offsets, so every chunk fits the model
and a search hit can point at the exact character span that matched. Documents are cut
where their structure allows (``structured_spans``); ``chunk_spans`` gives the plain
overlapping windows the re-ranker scores a long passage with.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ..errors import InvalidInputError

#: Room left for [CLS]/[SEP] and for re-tokenisation differences at chunk edges.
SPECIAL_TOKEN_MARGIN = 4


def chunk_spans(
    token_spans: list[tuple[int, int]], text_length: int, window: int, overlap: int
) -> list[tuple[int, int]]:
    """Character spans of windows of at most ``window`` tokens, overlapping by ``overlap``."""
    if window <= 0 or not 0 <= overlap < window:
        raise InvalidInputError(
            f"need window > 0 and 0 <= overlap < window, got {window}, {overlap}"
        )
    if len(token_spans) <= window:
        return [(0, text_length)]
    spans, step = [], window - overlap
    for first in range(0, len(token_spans), step):
        last = min(first + window, len(token_spans)) - 1
        spans.append((token_spans[first][0], token_spans[last][1]))
        if last == len(token_spans) - 1:
            break
    return spans


#: How good a cut between two tokens is, best last: anywhere, after a sentence, at a line
#: end, at a paragraph end, where a page or section begins.
TOKEN, SENTENCE, LINE, PARAGRAPH, SECTION = range(5)
_SENTENCE_ENDS = frozenset(".!?;:")


def _cut_strength(text: str, before: tuple[int, int], after: tuple[int, int], breaks) -> int:
    """The strength of a cut between the token spanning ``before`` and the one at ``after``."""
    at = bisect_left(breaks, before[1])
    if at < len(breaks) and breaks[at] <= after[0]:
        return SECTION
    gap = text[before[1] : after[0]]
    if "\n" in gap:
        return PARAGRAPH if gap.count("\n") > 1 else LINE
    if gap and text[before[1] - 1] in _SENTENCE_ENDS:
        return SENTENCE
    return TOKEN


def structured_spans(
    token_spans: list[tuple[int, int]],
    text: str,
    window: int,
    overlap: int,
    breaks: Sequence[int] = (),
) -> list[tuple[int, int]]:
    """Character spans of chunks of at most ``window`` tokens that end, by preference,
    where a page or section begins (``breaks``: sorted offsets; the chunk is then at
    least a quarter full), else at a paragraph end, a line end or a sentence end (then
    at least half full), else after ``window`` tokens.

    Why: a chunk that stops where its section stops is about one thing, which is what
    its vector then says, and its hit's section is the whole chunk's. A cut at a
    paragraph or a section needs no overlap; weaker cuts overlap by ``overlap`` tokens
    as plain windows do, so no sentence is only ever seen halved.
    """
    if window <= 0 or not 0 <= overlap < window:
        raise InvalidInputError(
            f"need window > 0 and 0 <= overlap < window, got {window}, {overlap}"
        )
    n = len(token_spans)
    if n <= window:
        return [(0, len(text))]
    spans, first = [], 0
    while n - first > window:
        best, strength = first + window - 1, TOKEN
        for last in range(first + window - 1, first + max(window // 4, 1) - 2, -1):
            found = _cut_strength(text, token_spans[last], token_spans[last + 1], breaks)
            if found == SECTION or (found > strength and last - first + 1 >= window // 2):
                best, strength = last, found
                if found == SECTION:
                    break
        spans.append((token_spans[first][0], token_spans[best][1]))
        first = best + 1 if strength >= PARAGRAPH else max(best + 1 - overlap, first + 1)
    spans.append((token_spans[first][0], token_spans[n - 1][1]))
    return spans
