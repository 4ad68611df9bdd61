"""Each token's vector joined with its neighbours' within the sentence.

`with_neighbours(tok2vec)` maps a doc's (n, width) token vectors to (n, 3 × width): the
previous token's, its own and the next token's, zeros where the neighbour lies across a
sentence end. Stopping at sentence ends is what keeps a long doc's segmented parse
(`pipeline/segments.py`, cut at sentence ends by the same rule) equal to its whole-doc
parse: no token ever reads a vector from another segment.
"""

from typing import Callable

import numpy
from spacy.attrs import IS_SPACE, ORTH, SENT_START
from spacy.strings import get_string_id
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

SENTENCE_FINAL = frozenset(".!?;…。！？；")
# Their ORTH ids (string hashes do not depend on the vocab), as a column to compare with.
_SENTENCE_FINAL_IDS = numpy.array([get_string_id(text) for text in sorted(SENTENCE_FINAL)],
                                  dtype=numpy.uint64)


def sentence_ends(doc: Doc) -> numpy.ndarray:
    """Whether a sentence ends after each token (where `segments` may cut a long doc): at
    the doc's sentence boundaries if set, else after a whitespace token or sentence-final
    punctuation."""
    if not len(doc):
        return numpy.zeros(0, dtype=bool)
    if doc.has_annotation("SENT_START"):
        starts = doc.to_array([SENT_START]).reshape(-1)
        return numpy.append(starts[1:] == 1, True)
    columns = doc.to_array([IS_SPACE, ORTH])
    # A comparison with each of the few ids: ~7x faster than numpy.isin on a short doc.
    final = (columns[:, 1, None] == _SENTENCE_FINAL_IDS.astype(columns.dtype)).any(axis=1)
    return (columns[:, 0] != 0) | final


def with_neighbours(tok2vec: Model[list[Doc], list[Floats2d]]
                    ) -> Model[list[Doc], list[Floats2d]]:
    """tok2vec's output with the previous and next token's vectors within the sentence."""
    return Model("with_neighbours", _forward, layers=[tok2vec], refs={"tok2vec": tok2vec})


def _forward(model: Model, docs: list[Doc], is_train: bool
             ) -> tuple[list[Floats2d], Callable]:
    tok2vec = model.layers[0]
    vectors, backprop_tok2vec = tok2vec(docs, is_train)
    ops = model.ops
    # keep_next[i]: token i reads token i+1 (no sentence end after i, and i+1 exists).
    keep_next = [ops.asarray2f(~sentence_ends(doc)[:-1, None]) if len(doc) else None
                 for doc in docs]
    outputs = []
    for X, keep in zip(vectors, keep_next):
        Y = ops.alloc2f(X.shape[0], 3 * X.shape[1])
        width = X.shape[1]
        Y[:, width:2 * width] = X
        if keep is not None and X.shape[0] > 1:
            Y[1:, :width] = X[:-1] * keep  # the previous token, if in the same sentence
            Y[:-1, 2 * width:] = X[1:] * keep
        outputs.append(Y)

    def backprop(dYs: list[Floats2d]) -> list[Doc]:
        dXs = []
        for dY, keep in zip(dYs, keep_next):
            width = dY.shape[1] // 3
            dX = ops.xp.ascontiguousarray(dY[:, width:2 * width])
            if keep is not None and dY.shape[0] > 1:
                dX[:-1] += dY[1:, :width] * keep
                dX[1:] += dY[:-1, 2 * width:] * keep
            dXs.append(dX)
        return backprop_tok2vec(dXs)

    return outputs, backprop
