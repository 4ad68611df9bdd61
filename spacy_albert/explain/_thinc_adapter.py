"""The conventions of thinc, spaCy and spacy-transformers that explanations rely on.

Everything here goes through public methods (`Model.walk`, `Model.attrs`, `receive`,
`set_dropout_rate`), but some of it depends on how upstream layers behave rather than on
a documented contract; tests/explain/test_thinc_adapter.py pins each of these so that an
upstream change fails loudly instead of making attributions quietly wrong:

- thinc's `Softmax` layer (node name 'softmax', parameter 'W') backpropagates
  d(loss)/d(logits), the cross-entropy shortcut, not d/d(probabilities);
- a spaCy parser model keeps its unseen moves in `attrs["unseen_classes"]`, and its step
  model zeroes their gradient; the step model's own dropout lives in
  `attrs["dropout_rate"]` (0.1 by default, even at prediction time);
- a head reads the encoder through exactly one `TransformerListener`, whose
  pooling layer scales gradients by `attrs["grad_factor"]`.
"""

import copy
from typing import Any, Callable

from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Model, set_dropout_rate


def isolated_copy(model: Model) -> tuple[Model, TransformerListener]:
    """A private copy of a head's model, set up to compute exact gradients.

    The copy shares nothing with the pipeline: its parameter gradients, listener state and
    dropout settings can change without touching the pipeline's model. Dropout is off and
    the listener's `grad_factor` (a training knob) is 1.

    model (Model): The head's model (a textcat or parser model).
    RETURNS (Tuple[Model, TransformerListener]): The copy and the copy's listener.
    """
    head = copy.deepcopy(model)
    set_dropout_rate(head, 0.0)
    for node in head.walk():
        if "grad_factor" in node.attrs:
            node.attrs["grad_factor"] = 1.0
    listeners = [node for node in head.walk() if isinstance(node, TransformerListener)]
    if len(listeners) != 1:
        raise ValueError(
            f"Expected one transformer listener in model '{model.name}', "
            f"found {len(listeners)}."
        )
    return head, listeners[0]


def feed_listener(
    listener: TransformerListener, docs: list[Doc], trf_datas: list[TransformerData]
) -> list[list[TransformerData]]:
    """Hand `trf_datas` to the listener as the transformer component does in training.

    The next `model(docs, is_train=True)` returns them; the gradient the head's backward
    pass sends back is appended to the returned list (one TransformerData per doc).

    listener (TransformerListener): The listener of an isolated head copy.
    docs (List[Doc]): The docs the head will be called with.
    trf_datas (List[TransformerData]): The encoder output to feed, one per doc.
    RETURNS (List[List[TransformerData]]): Filled by the head's backward pass.
    """
    captured: list[list[TransformerData]] = []

    def backprop(d_trf_datas: list[TransformerData]) -> list[Doc]:
        captured.append(d_trf_datas)
        return docs

    listener.receive(listener.get_batch_id(docs), trf_datas, backprop)
    return captured


def has_fused_softmax(model: Model) -> bool:
    """Whether the model ends in thinc's `Softmax` layer (affine + softmax).

    Its backward pass takes d(loss)/d(logits) — the cross-entropy shortcut — rather than
    d/d(probabilities), so the softmax Jacobian has to be applied before calling it.
    (`softmax_activation` and `Logistic` backpropagate the true Jacobian.)
    """
    node = model
    while node.layers:
        node = node.layers[-1]
    return node.name == "softmax" and node.has_param("W")


def unseen_classes(parser_model: Model) -> set[int]:
    """The moves a parser model never saw in training: its step model gives them the
    lowest score and zeroes their gradient, so they are left out of move probabilities."""
    return set(parser_model.attrs["unseen_classes"])


def parser_steps(parser_model: Model, docs: list[Doc]) -> tuple[Model, Callable[[Any], Any]]:
    """Start a differentiable parse: the step model (dropout off) and its `finish_steps`.

    parser_model (Model): An isolated copy of a spaCy `TransitionBasedParser` model.
    docs (List[Doc]): The docs to parse; the copy's listener must have been fed.
    RETURNS (Tuple[Model, Callable]): Step model (states → move scores, with backprop)
        and the callback that sends the accumulated gradient into the listener.
    """
    step_model, finish = parser_model(docs, is_train=True)
    step_model.attrs["dropout_rate"] = 0.0
    return step_model, finish
