"""Exact wordpiece ↔ token alignment from a fast tokenizer's offset mapping.

spacy-transformers aligns a piece to every token its offsets touch. A SentencePiece
fast tokenizer (ALBERT's) reports a `▁`-initial piece's offsets *including* the space
before it, so upstream also aligns "▁world" to the token before "world" (spaCy#13730,
spacy-transformers PR#425). Here each piece's offsets are first trimmed of leading
whitespace, then a piece is aligned to exactly the tokens whose characters it covers.

The computation is vectorised with NumPy (no Python loop per piece or per token), so it
costs less than upstream's set-based loop on long documents.
"""

from collections.abc import Sequence

import numpy
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc, Span
from thinc.types import Ints1d, Ints2d, Ragged

# Every code point for which `str.isspace()` is true (Unicode White_Space + separators).
_WHITESPACE = numpy.array(
    sorted({cp for cp in range(0x3001) if chr(cp).isspace()}), dtype=numpy.uint32
)


def _code_points(text: str) -> numpy.ndarray:
    return numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32)


def trim_leading_whitespace(text: str, offsets: Ints2d) -> Ints2d:
    """Move each piece's start past whitespace it covers at its left edge.

    text (str): The text the offsets index into.
    offsets (Ints2d): (n_pieces, 2) character offsets [start, end).
    RETURNS (Ints2d): Trimmed offsets; a piece of only whitespace becomes empty.
    """
    offsets = numpy.asarray(offsets, dtype=numpy.int64)
    if offsets.size == 0 or not text:
        return offsets
    is_space = numpy.isin(_code_points(text), _WHITESPACE)
    n_chars = is_space.shape[0]
    # next_non_space[c] = first index >= c that is not whitespace (n_chars if none).
    candidates = numpy.where(is_space, n_chars, numpy.arange(n_chars))
    next_non_space = numpy.append(numpy.minimum.accumulate(candidates[::-1])[::-1], n_chars)
    starts = numpy.clip(offsets[:, 0], 0, n_chars)
    ends = numpy.clip(offsets[:, 1], 0, n_chars)
    return numpy.stack([numpy.minimum(next_non_space[starts], ends), ends], axis=1)


def get_exact_alignment(spans: Sequence[Span], offset_mapping: Sequence[Ints2d]) -> Ragged:
    """Align each token of the spans' docs to the flattened wordpiece rows.

    Same contract as `spacy_transformers.align.get_alignment_via_offset_mapping`: one
    ragged row per unique token (docs in order of first appearance, tokens in doc
    order), holding indices into the (n_spans * padded_length) flattened wordpieces.

    The whole batch is aligned at once: the docs' texts are laid end to end, so every
    piece and every token gets a character range in one coordinate system, and a
    piece overlaps tokens lo..hi-1 found by two `searchsorted` calls. A piece never
    reaches past its span, and a span's characters belong to its own tokens only.

    spans (Sequence[Span]): The spans that were tokenized, one per offset row.
    offset_mapping (Sequence[Ints2d]): Per span, (padded_length, 2) char offsets.
    RETURNS (Ragged): Sorted wordpiece indices per token.
    """
    if len(spans) != len(offset_mapping):
        raise ValueError(
            f"Cannot align {len(spans)} spans against {len(offset_mapping)} offset rows."
        )
    doc_index: dict[int, int] = {}
    docs: list[Doc] = []
    for span in spans:
        if id(span.doc) not in doc_index:
            doc_index[id(span.doc)] = len(docs)
            docs.append(span.doc)
    n_tokens = sum(len(doc) for doc in docs)
    texts = [doc.text for doc in docs]
    char_base = numpy.cumsum([0] + [len(text) for text in texts])
    tok_starts, tok_ends = _token_bounds(docs, char_base)
    rows = [numpy.asarray(offsets, dtype=numpy.int64).reshape(-1, 2) for offsets in offset_mapping]
    if not rows or sum(row.shape[0] for row in rows) == 0 or n_tokens == 0:
        return Ragged(numpy.zeros((0,), dtype="i"), numpy.zeros((n_tokens,), dtype="i"))
    widths = [row.shape[0] for row in rows]
    doc_base = numpy.array([char_base[doc_index[id(span.doc)]] for span in spans])
    span_first = doc_base + numpy.array([span.start_char for span in spans], dtype=numpy.int64)
    # An empty span covers no characters (its end_char is not defined by a token).
    span_end = doc_base + numpy.array([span.end_char if len(span) else span.start_char
                                       for span in spans], dtype=numpy.int64)
    first = numpy.repeat(span_first, widths)
    last = numpy.repeat(span_end, widths)
    pieces = numpy.concatenate(rows)
    # Each piece kept inside its span, in the docs' end-to-end coordinates, then trimmed.
    within_span = numpy.clip(pieces + first[:, None], first[:, None], last[:, None])
    trimmed = trim_leading_whitespace("".join(texts), within_span)
    starts, ends = trimmed[:, 0], trimmed[:, 1]
    # Tokens are sorted and disjoint: piece [s, e) overlaps tokens lo..hi-1.
    lo = numpy.searchsorted(tok_ends, starts, side="right")
    hi = numpy.searchsorted(tok_starts, ends, side="left")
    counts = numpy.where(ends > starts, numpy.maximum(hi - lo, 0), 0)
    piece_idx = numpy.repeat(numpy.arange(pieces.shape[0]), counts)
    run_starts = numpy.repeat(numpy.cumsum(counts) - counts, counts)
    token_idx = numpy.repeat(lo, counts) + (numpy.arange(counts.sum()) - run_starts)
    order = numpy.lexsort((piece_idx, token_idx))
    flat: Ints1d = piece_idx[order].astype("i")
    lengths: Ints1d = numpy.bincount(token_idx, minlength=n_tokens).astype("i")
    return Ragged(flat, lengths)


def _token_bounds(docs: list[Doc], char_base: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """Every token's [start, end) characters in the docs' end-to-end coordinates."""
    if not docs:
        return numpy.zeros((0,), dtype=numpy.int64), numpy.zeros((0,), dtype=numpy.int64)
    bounds = [doc.to_array([IDX, LENGTH]).astype(numpy.int64) for doc in docs]
    starts = numpy.concatenate([b[:, 0] + base for b, base in zip(bounds, char_base)])
    return starts, starts + numpy.concatenate([b[:, 1] for b in bounds])
