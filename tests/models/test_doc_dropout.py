"""Dropout on the textcat's pooled doc vector: one mask per doc, the gradient masked alike,
nothing dropped at prediction, and the rate set by spaCy's `[training] dropout`."""

import numpy
import spacy
from spacy.training import Example
from thinc.api import set_dropout_rate

from spacy_albert.models.architectures import TEXTCAT_ARCH_NAME
from spacy_albert.models.doc_dropout import with_doc_dropout
from tests.models.test_neighbours import identity_tok2vec


def test_each_doc_shares_one_mask_and_its_gradient_is_masked_alike():
    rng = numpy.random.default_rng(0)
    vectors = [rng.normal(size=(n, 64)).astype("f") + 3.0 for n in (5, 1, 0)]
    tok2vec = identity_tok2vec(vectors)
    model = with_doc_dropout(tok2vec)
    set_dropout_rate(model, 0.5)
    outputs, backprop = model(["a", "b", "c"], is_train=True)
    d_outputs = [numpy.ones_like(Y) for Y in outputs]
    backprop(d_outputs)
    for X, Y, dX in zip(vectors, outputs, tok2vec.attrs["gradient"]):
        assert Y.shape == X.shape
        if not len(X):
            continue
        ratio = Y / X  # 0 for a dropped unit, 1 / (1 - rate) for a kept one
        numpy.testing.assert_allclose(ratio, numpy.broadcast_to(ratio[:1], ratio.shape),
                                      rtol=1e-6)
        assert set(numpy.round(ratio[0], 5)) == {0.0, 2.0}
        numpy.testing.assert_allclose(dX, ratio, rtol=1e-6)
        # One mask per doc: the pooled vector is the pooled input under that mask.
        numpy.testing.assert_allclose(Y.mean(axis=0), X.mean(axis=0) * ratio[0], rtol=1e-5)
    predicted, _ = model(["a", "b", "c"], is_train=False)
    assert all(Y is X for Y, X in zip(predicted, vectors))


def test_architecture_keeps_the_listener_ref_and_takes_the_training_dropout():
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat", config={"model": {
        "@architectures": TEXTCAT_ARCH_NAME, "exclusive_classes": True,
        "use_reduce_first": False, "use_reduce_last": False, "use_reduce_max": False,
        "use_reduce_mean": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "width": 16, "depth": 1,
                    "embed_size": 100, "window_size": 1, "maxout_pieces": 2,
                    "subword_features": False, "pretrained_vectors": None}}})
    tok2vec = textcat.model.get_ref("tok2vec")
    assert tok2vec.name.startswith("extract_features")  # the tok2vec itself, not the chain
    in_tok2vec = {node.id for node in tok2vec.walk()}
    pooled_dropout = [node for node in textcat.model.walk()
                      if node.name == "dropout" and node.id not in in_tok2vec]
    assert len(pooled_dropout) == 1
    examples = [Example.from_dict(nlp.make_doc(text), {"cats": cats}) for text, cats in (
        ("great fun", {"POS": 1.0, "NEG": 0.0}), ("awful mess", {"POS": 0.0, "NEG": 1.0}))]
    nlp.initialize(lambda: examples)
    nlp.update(examples, drop=0.3)
    assert pooled_dropout[0].attrs["dropout_rate"] == 0.3
    doc = nlp("great fun")
    assert set(doc.cats) == {"POS", "NEG"}
    assert abs(sum(doc.cats.values()) - 1.0) < 1e-5
