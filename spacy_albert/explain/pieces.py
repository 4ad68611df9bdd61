"""From wordpieces to tokens: which pieces carry the text, and whose tokens get their share."""

from typing import Any

import numpy
from thinc.types import Ragged


def content_mask(
    input_ids: numpy.ndarray, attention: numpy.ndarray, tokenizer: Any
) -> numpy.ndarray:
    """Pieces that carry the text: attended, and not [CLS]/[SEP]/[PAD]/[MASK] ([UNK] is).

    input_ids (numpy.ndarray): Piece ids, (n_rows, n_pieces).
    attention (numpy.ndarray): The attention mask, same shape.
    tokenizer (Any): The encoder's Hugging Face tokenizer.
    RETURNS (numpy.ndarray): A boolean mask, same shape.
    """
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    special.discard(getattr(tokenizer, "unk_token_id", None))
    return (attention > 0) & ~numpy.isin(input_ids, list(special))


def piece_owners(align_flat: numpy.ndarray, content: numpy.ndarray) -> numpy.ndarray:
    """For each flat piece, the flat piece whose tokens receive its attribution.

    Aligned pieces own themselves; an unaligned content piece (a bare "▁") hands its share
    to the next aligned piece of its row, else the previous one; others get -1.

    align_flat (numpy.ndarray): The flat piece index of each (token, piece) alignment pair.
    content (numpy.ndarray): `content_mask`, (n_rows, n_pieces).
    RETURNS (numpy.ndarray): Owner per flat piece, (n_rows * n_pieces,).
    """
    n_rows, n_cols = content.shape
    aligned = numpy.zeros(n_rows * n_cols, dtype=bool)
    aligned[align_flat] = True
    aligned = aligned.reshape(n_rows, n_cols)
    owner = numpy.full((n_rows, n_cols), -1, dtype=numpy.int64)
    for row in range(n_rows):
        cols = numpy.flatnonzero(aligned[row])
        for col in numpy.flatnonzero(content[row] | aligned[row]):
            if aligned[row, col]:
                owner[row, col] = row * n_cols + col
            elif len(cols):
                later = cols[cols > col]
                target = later[0] if len(later) else cols[cols < col][-1]
                owner[row, col] = row * n_cols + target
    return owner.reshape(-1)


class PieceToTokens:
    """Sums piece attributions into token attributions through the doc's alignment.

    A piece aligned to several tokens splits its share evenly; see `piece_owners` for
    pieces aligned to none.

    align (Ragged): The doc's token → flat piece alignment (`doc._.trf_data.align`).
    content (numpy.ndarray): `content_mask` of its pieces, (n_rows, n_pieces).
    """

    def __init__(self, align: Ragged, content: numpy.ndarray):
        self.align_flat = numpy.asarray(align.dataXd, dtype=numpy.int64).reshape(-1)
        lengths = numpy.asarray(align.lengths, dtype=numpy.int64)
        self.n_tokens = len(lengths)
        self.token_of_pair = numpy.repeat(numpy.arange(self.n_tokens), lengths)
        self.owner = piece_owners(self.align_flat, content)
        self.shares = numpy.bincount(self.align_flat, minlength=content.size).astype("float64")

    def __call__(self, piece_attr: numpy.ndarray) -> numpy.ndarray:
        """Token attributions (n_tokens,) from piece attributions (n_rows * n_pieces,)."""
        flat = numpy.zeros(piece_attr.shape, dtype="float64")
        valid = self.owner >= 0
        numpy.add.at(flat, self.owner[valid], piece_attr[valid])
        out = numpy.zeros(self.n_tokens)
        pairs = self.align_flat
        numpy.add.at(out, self.token_of_pair, flat[pairs] / self.shares[pairs])
        return out
