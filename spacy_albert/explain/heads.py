"""The heads that can be explained, and the probe that runs one as a function of the encoder.

A probe turns hidden states of the shared encoder into the explained scores, with the
head's own thinc model (an isolated copy of it) doing the work, and carries the gradient
of those scores back to the hidden states through the head's listener.
"""

import warnings
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy
from spacy.language import Language
from spacy.pipeline import EntityRecognizer, TextCategorizer
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers.listener import TransformerListener
from spacy_transformers.pipeline_component import Transformer
from transformers.utils import ModelOutput

from ._thinc_adapter import feed_listener, isolated_copy
from .targets import Target

# d scores (n_points, n_targets) → d hidden states (n_points, n_rows, n_pieces, width)
Backprop = Callable[[numpy.ndarray], numpy.ndarray]
# Pipeline scores recomputed through the explanation path must match within this.
SCORE_TOLERANCE = 1e-4


class HeadProbe:
    """One head of the pipeline as a function of the encoder's last hidden states.

    Subclasses choose their `targets` in `plan` and compute them in `__call__`.

    name (str): The component's name.
    component (Any): The pipeline component (a textcat or an NER).
    doc (Doc): The doc as the component received it.
    trf_data (TransformerData): The explained doc's encoder output (pieces, alignment).
    """

    def __init__(self, name: str, component: Any, doc: Doc, trf_data: TransformerData):
        self.name = name
        self.component = component
        self.doc = doc
        self.trf_data = trf_data
        self.model, self.listener = isolated_copy(component.model)
        self.targets: list[Target] = []

    def plan(self, endpoints: numpy.ndarray, doc: Doc, wanted: Optional[set[str]]) -> None:
        """Choose `targets` and score them at the baseline and at the input.

        endpoints (numpy.ndarray): Hidden states at the baseline and at the input,
            (2, n_rows, n_pieces, width).
        doc (Doc): The annotated doc.
        wanted (Optional[Set[str]]): Labels to explain (None: all).
        """
        raise NotImplementedError

    def __call__(self, hidden: numpy.ndarray) -> tuple[numpy.ndarray, Backprop]:
        """Scores of the targets (n_points, n_targets), float64, and their backprop.

        hidden (numpy.ndarray): Last hidden states, (n_points, n_rows, n_pieces, width):
            one explained doc per point.
        """
        raise NotImplementedError

    def feed(self, hidden: numpy.ndarray) -> tuple[list[Doc], list[list[TransformerData]]]:
        """The doc once per point, and the listener fed with `hidden`.

        The heads only read the docs (the NER keeps its parse in its own states), so one
        doc object serves every point; copies would also copy `doc._.trf_data`.

        RETURNS (Tuple[List[Doc], list]): The docs to call the head with, and the list its
            backward pass fills (read it with `gradient`).
        """
        docs = [self.doc] * len(hidden)
        trf_datas = [
            TransformerData(
                wordpieces=self.trf_data.wordpieces,
                model_output=ModelOutput(last_hidden_state=point),
                align=self.trf_data.align,
            )
            for point in hidden
        ]
        return docs, feed_listener(self.listener, docs, trf_datas)

    def gradient(self, captured: list[list[TransformerData]]) -> numpy.ndarray:
        """The gradient the head's backward pass gave its listener, as one array."""
        if not captured:
            raise RuntimeError(f"The backward pass of '{self.name}' did not reach its listener.")
        grads = [d.model_output["last_hidden_state"] for d in captured.pop()]
        return numpy.stack([self.model.ops.to_numpy(g) for g in grads])


def find_transformer(nlp: Language) -> tuple[str, Transformer]:
    """The pipeline's transformer component (`albert_transformer` or `transformer`).

    nlp (Language): The pipeline.
    RETURNS (Tuple[str, Transformer]): Its name and the component.
    """
    for name, pipe in nlp.pipeline:
        if isinstance(pipe, Transformer):
            return name, pipe
    raise ValueError(
        "explain needs a pipeline with an `albert_transformer` (or spacy-transformers "
        f"`transformer`) component; this one has {nlp.pipe_names}."
    )


def find_heads(nlp: Language, trf_name: str) -> list[tuple[str, Any]]:
    """The text classifiers and greedy NERs that listen to the transformer, in order.

    Others are skipped with a warning: heads with their own encoder copy and beam NER.

    nlp (Language): The pipeline.
    trf_name (str): The transformer component's name.
    RETURNS (List[Tuple[str, Any]]): (name, component) pairs.
    """
    heads = []
    for name, pipe in nlp.pipeline:
        if not isinstance(pipe, (TextCategorizer, EntityRecognizer)):
            continue
        listeners = [n for n in pipe.model.walk() if isinstance(n, TransformerListener)]
        if not any(n.upstream_name in (trf_name, "*") for n in listeners):
            warnings.warn(
                f"Component '{name}' does not listen to '{trf_name}' (its own encoder copy "
                "or another tok2vec): it is not explained.",
                stacklevel=3,
            )
            continue
        if isinstance(pipe, EntityRecognizer) and pipe.cfg.get("beam_width", 1) != 1:
            warnings.warn(f"Beam NER '{name}' is not explained (greedy NER only).",
                          stacklevel=3)
            continue
        heads.append((name, pipe))
    return heads


def check_labels(wanted: Optional[set[str]], heads: Sequence[tuple[str, Any]]) -> None:
    """Raise if a wanted label is no category or entity label of the heads."""
    if wanted is None:
        return
    known = {label for _, pipe in heads for label in pipe.labels}
    unknown = wanted - known
    if unknown:
        raise ValueError(f"Unknown labels {sorted(unknown)}; this pipeline has {sorted(known)}.")


def check_scores(name: str, ours: numpy.ndarray, pipeline: Sequence[Optional[float]]) -> None:
    """Warn when scores recomputed by a probe differ from the pipeline's."""
    for value, expected in zip(ours, pipeline):
        if expected is not None and abs(float(value) - float(expected)) > SCORE_TOLERANCE:
            warnings.warn(
                f"'{name}' scores recomputed in float32 ({float(value):.6f}) differ from the "
                f"pipeline's ({float(expected):.6f}): a bf16 `inference_dtype`, or a doc "
                "changed between the encoder and the head.",
                stacklevel=5,
            )
            return
