"""Split long documents into chunks under the model's token limit.

Chunks are computed on the model's own tokenizer offsets, so every chunk fits the model
and a search hit can point at the exact character span that matched. Documents are cut
where their structure allows (``structured_spans``); other texts, and the long passages
the re-ranker scores, in plain overlapping windows (``chunk_spans``).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from ..errors import InvalidInputError
from .layout import Layout

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


#: How good a cut inside a section is, best last: anywhere, after a sentence, at a line
#: end, at a paragraph end (page and section starts are cut at before any of these).
TOKEN, SENTENCE, LINE, PARAGRAPH = range(4)
_SENTENCE_ENDS = frozenset(".!?;:")


def _cut_strength(text: str, before: tuple[int, int], after: tuple[int, int]) -> int:
    """The strength of a cut between the token spanning ``before`` and the one at ``after``."""
    gap = text[before[1] : after[0]]
    if "\n" in gap:
        return PARAGRAPH if gap.count("\n") > 1 else LINE
    if gap and text[before[1] - 1] in _SENTENCE_ENDS:
        return SENTENCE
    return TOKEN


def _segments(token_spans: list[tuple[int, int]], layout: Layout) -> list[tuple[int, int, bool]]:
    """Token ranges [a, b) between the layout's breaks, each with whether it begins at a
    heading (else at a page start, or at the text's start)."""
    starts = [token[0] for token in token_spans]

    def tokens_at(offsets: Any) -> set[int]:
        return {bisect_left(starts, offset) for offset in offsets} - {0, len(starts)}

    headed = tokens_at(h.start for h in layout.headings)
    edges = [0, *sorted(tokens_at(layout.breaks)), len(starts)]
    return [(a, b, a in headed) for a, b in zip(edges, edges[1:], strict=False)]


def structured_spans(
    token_spans: list[tuple[int, int]],
    text: str,
    window: int,
    overlap: int,
    layout: Layout,
) -> list[tuple[int, int]]:
    """Character spans of chunks of at most ``window`` tokens that follow a document's
    structure.

    The text is first cut wherever its layout says a page or section begins, so a chunk
    never runs from one section into the next, except for pieces smaller than an eighth
    of the window: one that begins at a heading (a heading alone) joins the piece after
    it, one that does not (a page's running header) joins the chunk before it. A piece
    longer than the window is cut into near-equal chunks, each ending at the best
    boundary near its target length: a paragraph end, else a line end, else a sentence
    end, else any token. Cuts at paragraphs need no overlap; weaker cuts overlap by
    ``overlap`` tokens, as plain windows do.

    Why: a chunk about one section is what its vector then says, and the page and
    section a hit reports (where its chunk starts) hold for the whole chunk.
    """
    if window <= 0 or not 0 <= overlap < window:
        raise InvalidInputError(
            f"need window > 0 and 0 <= overlap < window, got {window}, {overlap}"
        )
    if len(token_spans) <= window:
        return [(0, len(text))]
    segments = _segments(token_spans, layout)
    minimum = max(window // 8, 1)
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(segments):
        first, end, headed = segments[i]
        i += 1
        if end - first < minimum and not headed and ranges and end - ranges[-1][0] <= window:
            ranges[-1] = (ranges[-1][0], end)  # a running header stays with its page's top
            continue
        while end - first < minimum and i < len(segments):  # a heading alone
            end = segments[i][1]
            i += 1
        ranges.extend(_split(token_spans, text, first, end, window, overlap))
    return [(token_spans[a][0], token_spans[b - 1][1]) for a, b in ranges]


def _split(
    token_spans: list[tuple[int, int]], text: str, first: int, end: int, window: int, overlap: int
) -> list[tuple[int, int]]:
    """Tokens [first, end) in near-equal ranges of at most ``window``, cut at the best
    boundary near each one's target length."""
    out = []
    while end - first > window:
        pieces = -(-(end - first) // window)
        ideal = (end - first) / pieces
        target = first + round(ideal) - 1
        best, strength = target, TOKEN
        for last in range(first + max(int(ideal // 2), 1) - 1, first + window):
            found = _cut_strength(text, token_spans[last], token_spans[last + 1])
            if (found, -abs(last - target)) > (strength, -abs(best - target)):
                best, strength = last, found
        out.append((first, best + 1))
        first = best + 1 if strength >= PARAGRAPH else max(best + 1 - overlap, first + 1)
    out.append((first, end))
    return out
