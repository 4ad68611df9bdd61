"""From piece attributions to token attributions: bare '▁' pieces, shared pieces, no loss."""

import numpy
import pytest
from thinc.types import Ragged

from spacy_albert.explain.pieces import PieceToTokens, content_mask, piece_owners

# One row: [CLS] ▁ ▁New York er [SEP]; "er" belongs to tokens 1 and 2, the bare "▁" to none.
ALIGN = Ragged(numpy.array([2, 3, 4, 4], dtype="i"), numpy.array([1, 2, 1], dtype="i"))
CONTENT = numpy.array([[False, True, True, True, True, False]])


class Tokenizer:
    all_special_ids = [0, 1, 2, 3]  # [PAD], [UNK], [CLS], [SEP]
    unk_token_id = 1


def test_content_mask_keeps_unk_and_drops_specials_and_padding():
    ids = numpy.array([[2, 10, 1, 11, 3, 0]])
    attention = numpy.array([[1, 1, 1, 1, 1, 0]])
    assert content_mask(ids, attention, Tokenizer()).tolist() == [
        [False, True, True, True, False, False]
    ]


def test_bare_piece_goes_to_the_next_aligned_piece():
    owners = piece_owners(numpy.asarray(ALIGN.dataXd), CONTENT)
    assert owners.tolist() == [-1, 2, 2, 3, 4, -1]


def test_trailing_bare_piece_goes_to_the_previous_one():
    content = numpy.array([[False, True, True, False]])
    owners = piece_owners(numpy.array([1]), content)
    assert owners.tolist() == [-1, 1, 1, -1]


def test_token_attributions_add_up_and_shared_pieces_split():
    to_tokens = PieceToTokens(ALIGN, CONTENT)
    tokens = to_tokens(numpy.array([0.0, 1.0, 2.0, 3.0, 4.0, 0.0]))
    assert tokens.tolist() == pytest.approx([3.0, 5.0, 2.0])
    assert tokens.sum() == pytest.approx(10.0)
