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
    next_non_space = numpy.minimum.accumulate(candidates[::-1])[::-1]
    next_non_space = numpy.append(next_non_space, n_chars)
    starts = numpy.clip(offsets[:, 0], 0, n_chars)
    ends = numpy.clip(offsets[:, 1], 0, n_chars)
    trimmed = numpy.minimum(next_non_space[starts], ends)
    return numpy.stack([trimmed, ends], axis=1)


def _span_pairs(span: Span, offsets: Ints2d) -> tuple:
    """(token index in doc, piece index in row) pairs for one span."""
    trimmed = trim_leading_whitespace(span.text, offsets)
    base = span.start_char
    tok_starts = numpy.fromiter((t.idx - base for t in span), dtype=numpy.int64, count=len(span))
    tok_ends = tok_starts + numpy.fromiter(
        (len(t) for t in span), dtype=numpy.int64, count=len(span)
    )
    wp_starts, wp_ends = trimmed[:, 0], trimmed[:, 1]
    nonempty = wp_ends > wp_starts
    # Tokens are sorted and disjoint: piece [s, e) overlaps tokens lo..hi-1.
    lo = numpy.searchsorted(tok_ends, wp_starts, side="right")
    hi = numpy.searchsorted(tok_starts, wp_ends, side="left")
    counts = numpy.where(nonempty, numpy.maximum(hi - lo, 0), 0)
    wp_idx = numpy.repeat(numpy.arange(len(trimmed)), counts)
    # For each piece, token indices lo, lo+1, ..., hi-1.
    first = numpy.repeat(lo, counts)
    run_starts = numpy.repeat(numpy.cumsum(counts) - counts, counts)
    tok_idx = first + (numpy.arange(counts.sum()) - run_starts)
    return tok_idx + span.start, wp_idx


def get_exact_alignment(spans: Sequence[Span], offset_mapping: Sequence[Ints2d]) -> Ragged:
    """Align each token of the spans' docs to the flattened wordpiece rows.

    Same contract as `spacy_transformers.align.get_alignment_via_offset_mapping`: one
    ragged row per unique token (docs in order of first appearance, tokens in doc
    order), holding indices into the (n_spans * padded_length) flattened wordpieces.

    spans (Sequence[Span]): The spans that were tokenized, one per offset row.
    offset_mapping (Sequence[Ints2d]): Per span, (padded_length, 2) char offsets.
    RETURNS (Ragged): Sorted wordpiece indices per token.
    """
    if len(spans) != len(offset_mapping):
        raise ValueError(
            f"Cannot align {len(spans)} spans against {len(offset_mapping)} offset rows."
        )
    doc_offsets: dict[int, int] = {}
    docs: list[Doc] = []
    for span in spans:
        if id(span.doc) not in doc_offsets:
            doc_offsets[id(span.doc)] = sum(len(d) for d in docs)
            docs.append(span.doc)
    n_tokens = sum(len(d) for d in docs)
    positions, pieces = [], []
    row_start = 0
    for span, offsets in zip(spans, offset_mapping):
        offsets = numpy.asarray(offsets)
        if len(span):
            tok_idx, wp_idx = _span_pairs(span, offsets)
            positions.append(tok_idx + doc_offsets[id(span.doc)])
            pieces.append(wp_idx + row_start)
        row_start += offsets.shape[0]
    if not positions:
        return Ragged(
            numpy.zeros((0,), dtype="i"), numpy.zeros((n_tokens,), dtype="i")
        )
    all_positions = numpy.concatenate(positions)
    all_pieces = numpy.concatenate(pieces)
    order = numpy.lexsort((all_pieces, all_positions))
    flat: Ints1d = all_pieces[order].astype("i")
    lengths: Ints1d = numpy.bincount(all_positions, minlength=n_tokens).astype("i")
    return Ragged(flat, lengths)
