"""Pins the upstream conventions explanations rely on (see explain/_thinc_adapter.py).

If one of these fails after a thinc / spaCy / spacy-transformers upgrade, attributions
would be silently wrong: fix the adapter, not the test.
"""

import numpy
import pytest
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Linear, Logistic, Softmax, chain

from spacy_albert.explain._thinc_adapter import (
    feed_listener,
    has_fused_softmax,
    isolated_copy,
    parser_steps,
    unseen_classes,
)
from tests.explain.conftest import TEXT

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_isolated_copy_shares_nothing(en_nlp):
    for name in ("textcat", "ner"):
        model = en_nlp.get_pipe(name).model
        head, listener = isolated_copy(model)
        originals = [n for n in model.walk() if isinstance(n, TransformerListener)]
        assert isinstance(listener, TransformerListener) and listener is not originals[0]
        assert listener.upstream_name == originals[0].upstream_name
        for node, copied in zip(model.walk(), head.walk()):
            assert copied is not node
            for param in node.param_names:
                if node.has_param(param):
                    assert copied.get_param(param) is not node.get_param(param)
                    assert (copied.get_param(param) == node.get_param(param)).all()
            assert copied.attrs.get("dropout_rate", 0.0) == 0.0
            assert copied.attrs.get("grad_factor", 1.0) == 1.0


def test_isolated_copy_needs_exactly_one_listener():
    with pytest.raises(ValueError, match="Expected one transformer listener"):
        isolated_copy(chain(Linear(2, 3), Softmax(2, 2)))


def test_feed_listener_gives_the_head_our_data_and_takes_its_gradient(en_nlp):
    doc = en_nlp(TEXT)
    trf_data = doc._.trf_data
    grads_before = {
        (node.id, name) for node in en_nlp.get_pipe("textcat").model.walk()
        for name in node.grad_names
    }
    head, listener = isolated_copy(en_nlp.get_pipe("textcat").model)
    captured = feed_listener(listener, [doc], [trf_data])
    probs, backprop = head([doc], is_train=True)
    assert probs[0].tolist() == pytest.approx([doc.cats[label] for label in
                                               en_nlp.get_pipe("textcat").labels], abs=1e-5)
    backprop(numpy.ones_like(probs))
    (d_trf_datas,) = captured
    hidden = trf_data.model_output["last_hidden_state"]
    assert d_trf_datas[0].model_output["last_hidden_state"].shape == hidden.shape
    assert {
        (node.id, name) for node in en_nlp.get_pipe("textcat").model.walk()
        for name in node.grad_names
    } == grads_before, "the pipeline's own model took gradients"


def test_thinc_softmax_backprop_is_the_cross_entropy_shortcut(en_nlp):
    """thinc's Softmax takes d loss / d logits: the explanation applies the Jacobian."""
    layer = Softmax(3, 4)
    X = numpy.random.default_rng(0).normal(size=(2, 4)).astype("f")
    layer.initialize(X=X)
    Y, backprop = layer(X, is_train=True)
    dY = numpy.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype="f")
    assert backprop(dY) == pytest.approx(dY @ layer.get_param("W"))
    assert has_fused_softmax(chain(Linear(4, 4), layer))
    assert not has_fused_softmax(chain(Linear(4, 4), Logistic()))
    assert has_fused_softmax(en_nlp.get_pipe("textcat").model)


def test_parser_step_model_masks_unseen_classes_and_has_dropout(en_nlp):
    doc = en_nlp(TEXT)
    ner = en_nlp.get_pipe("ner")
    assert unseen_classes(ner.model) == set(ner.model.attrs["unseen_classes"])

    def gradient_of_move(move: int, unseen: set[int]) -> numpy.ndarray:
        head, listener = isolated_copy(ner.model)
        head.attrs["unseen_classes"] = unseen
        captured = feed_listener(listener, [doc], [doc._.trf_data])
        step_model, finish = parser_steps(head, [doc])
        assert step_model.attrs["dropout_rate"] == 0.0
        states = ner.moves.init_batch([doc])
        scores, backprop = step_model(states, is_train=True)
        d_scores = numpy.zeros_like(scores)
        d_scores[:, move] = 1.0
        backprop(d_scores)
        finish(None)
        return captured[0][0].model_output["last_hidden_state"]

    assert numpy.abs(gradient_of_move(1, set())).max() > 0
    assert numpy.abs(gradient_of_move(1, {1})).max() == 0.0

    head, listener = isolated_copy(ner.model)
    feed_listener(listener, [doc], [doc._.trf_data])
    step_model, _ = head([doc], is_train=True)
    assert step_model.attrs["dropout_rate"] > 0, "the step model's own dropout moved"
