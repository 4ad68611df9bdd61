"""The ner's neighbour window: each token reads the previous and next token's vectors
within its sentence, and the gradient goes back to the tokens it came from."""

import numpy
import pytest
import spacy
from thinc.api import Model

from spacy_albert.models.neighbours import sentence_ends, with_neighbours


def identity_tok2vec(vectors: list[numpy.ndarray]) -> Model:
    """A tok2vec stand-in returning fixed vectors and recording the gradient it gets."""

    def forward(model, docs, is_train):
        def backprop(d_vectors):
            model.attrs["gradient"] = d_vectors
            return docs
        return vectors, backprop

    return Model("fixed", forward)


def test_sentence_ends_follow_the_segment_rule():
    nlp = spacy.blank("en")
    doc = nlp("Ana left . Bo came \n home !")
    assert sentence_ends(doc).tolist() == [False, False, True, False, False, True, False, True]
    doc = nlp("a b c d")
    doc[2].is_sent_start = True
    for token in (doc[0], doc[1], doc[3]):
        token.is_sent_start = token.i == 0
    assert sentence_ends(doc).tolist() == [False, True, False, True]
    assert sentence_ends(nlp("")).tolist() == []


def test_each_token_reads_its_neighbours_within_the_sentence():
    nlp = spacy.blank("en")
    docs = [nlp("Ana left . Bo"), nlp("x"), nlp("")]
    vectors = [numpy.arange(8, dtype="f").reshape(4, 2) + 1, numpy.ones((1, 2), dtype="f"),
               numpy.zeros((0, 2), dtype="f")]
    tok2vec = identity_tok2vec(vectors)
    model = with_neighbours(tok2vec)
    outputs, backprop = model(docs, is_train=True)
    X = vectors[0]
    zero = numpy.zeros(2, dtype="f")
    expected = [  # [previous | own | next], nothing across the "." sentence end
        [zero, X[0], X[1]], [X[0], X[1], X[2]], [X[1], X[2], zero], [zero, X[3], zero]]
    numpy.testing.assert_array_equal(outputs[0], numpy.array([numpy.concatenate(r)
                                                             for r in expected]))
    numpy.testing.assert_array_equal(outputs[1], numpy.concatenate([zero, [1, 1], zero])[None])
    assert outputs[2].shape == (0, 6)
    # The map is linear, so its backprop is its transpose: <dY, f(X)> == <backprop(dY), X>.
    rng = numpy.random.default_rng(0)
    d_outputs = [rng.normal(size=o.shape).astype("f") for o in outputs]
    backprop(d_outputs)
    d_vectors = tok2vec.attrs["gradient"]
    left = sum(float((dY * Y).sum()) for dY, Y in zip(d_outputs, outputs))
    right = sum(float((dX * V).sum()) for dX, V in zip(d_vectors, vectors))
    assert left == pytest.approx(right, rel=1e-5)


def test_the_ner_reads_neighbours_and_keeps_its_listener(en_nlp):
    ner = en_nlp.get_pipe("ner")
    names = [node.name for node in ner.model.walk()]
    assert "with_neighbours" in names and "transformer-listener" in names
    config = en_nlp.config["components"]["ner"]["model"]
    assert config["@architectures"] == "spacy-albert.TransitionBasedParser.v1"
    assert config["neighbours"] is True
    assert config["tok2vec"]["@architectures"] == "spacy-transformers.TransformerListener.v1"
