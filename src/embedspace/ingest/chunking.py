"""Split long documents into overlapping token windows under the model's limit.

Windows are computed on the model's own tokenizer offsets, so every chunk fits the model
and a search hit can point at the exact character span that matched.
"""

from __future__ import annotations

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
