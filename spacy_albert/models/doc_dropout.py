"""Dropout on a text classifier's pooled doc vector, as HF's sequence classifiers have.

spaCy's `TextCatReduce.v1` pools a doc's token vectors and feeds the result straight to its
output layer, so `[training] dropout` reaches nothing in that head, while the seed's
`AlbertForSequenceClassification` drops `classifier_dropout_prob` (0.1) of its pooled
vector. `with_doc_dropout(tok2vec)` drops the same units of every token vector in a doc
(one mask per doc): for the first, last, max and mean reductions (the mask is non-negative
and the same on each row) that is exactly dropout on each pooled vector.
"""

from typing import Callable, Optional

from spacy.tokens import Doc
from thinc.api import Model, chain
from thinc.types import Floats2d


def with_doc_dropout(tok2vec: Model[list[Doc], list[Floats2d]]
                     ) -> Model[list[Doc], list[Floats2d]]:
    """tok2vec's output, each doc's vectors under one dropout mask while training.

    The rate is the "dropout" node's `dropout_rate`, which spaCy's `nlp.update` sets from
    `[training] dropout` (`thinc.api.set_dropout_rate`).
    """
    # The width passes through, so a head built on this knows its input width as early as
    # it would on tok2vec itself.
    width = tok2vec.maybe_get_dim("nO")
    return chain(tok2vec, Model("dropout", _forward, init=_init, dims={"nI": width, "nO": width},
                                attrs={"dropout_rate": 0.0}))


def _init(model: Model, X: Optional[list[Floats2d]] = None,
          Y: Optional[list[Floats2d]] = None) -> None:
    if X:
        model.set_dim("nI", X[0].shape[1])
        model.set_dim("nO", X[0].shape[1])


def _forward(model: Model, vectors: list[Floats2d], is_train: bool
             ) -> tuple[list[Floats2d], Callable]:
    rate = model.attrs["dropout_rate"]
    if not is_train or not rate:
        return vectors, lambda d_vectors: d_vectors
    masks = [model.ops.get_dropout_mask((1, X.shape[1]), rate) for X in vectors]
    outputs = [X * mask for X, mask in zip(vectors, masks)]

    def backprop(d_outputs: list[Floats2d]) -> list[Floats2d]:
        return [dY * mask for dY, mask in zip(d_outputs, masks)]

    return outputs, backprop
