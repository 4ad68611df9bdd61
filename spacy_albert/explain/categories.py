"""Text categories as explained outputs: f = the label's probability, as in `doc.cats`."""

from typing import Any, Optional

import numpy
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from thinc.types import Floats2d

from ._thinc_adapter import has_fused_softmax
from .heads import Backprop, HeadProbe, check_scores
from .targets import Target


class CategoryProbe(HeadProbe):
    """A text classifier (`albert_textcat`, `textcat`, `textcat_multilabel`): one target per
    label, f = the label's column of the model's output (softmax for exclusive classes,
    sigmoid for multilabel)."""

    def __init__(self, name: str, component: Any, doc: Doc, trf_data: TransformerData):
        super().__init__(name, component, doc, trf_data)
        self.columns: list[int] = []

    def plan(self, endpoints: numpy.ndarray, doc: Doc, wanted: Optional[set[str]]) -> None:
        """Choose the targets: every wanted label, scored at the baseline and the input.

        endpoints (numpy.ndarray): Hidden states at the baseline and at the input.
        doc (Doc): The annotated doc (its `cats` are checked against the probe's scores).
        wanted (Optional[Set[str]]): Labels to explain (None: all).
        """
        labels = list(self.component.labels)
        self.columns = [j for j, label in enumerate(labels) if wanted is None or label in wanted]
        if not self.columns:
            return
        probs, _ = self.probabilities(endpoints)
        check_scores(self.name, probs[1], [doc.cats.get(label) for label in labels])
        multi = isinstance(self.component, MultiLabel_TextCategorizer)
        threshold = float(self.component.cfg.get("threshold", 0.5))
        for column in self.columns:
            score = float(probs[1, column])
            predicted = score >= threshold if multi else column == int(numpy.argmax(probs[1]))
            self.targets.append(Target(
                kind="textcat", component=self.name, label=labels[column], score=score,
                baseline_score=float(probs[0, column]), predicted=bool(predicted),
            ))

    def probabilities(self, hidden: numpy.ndarray) -> tuple[Floats2d, Backprop]:
        """All labels' probabilities (n_points, n_labels) and the model's backprop."""
        docs, captured = self.feed(hidden)
        probs, backprop_probs = self.model(docs, is_train=True)
        fused = has_fused_softmax(self.model)

        def backprop(d_probs: numpy.ndarray) -> numpy.ndarray:
            d_probs = self.model.ops.asarray2f(d_probs, dtype="float32")
            if fused:
                d_probs = self.model.ops.backprop_softmax(probs, d_probs, axis=-1)
            backprop_probs(d_probs)
            return self.gradient(captured)

        return probs, backprop

    def __call__(self, hidden: numpy.ndarray) -> tuple[numpy.ndarray, Backprop]:
        probs, backprop_probs = self.probabilities(hidden)

        def backprop(d_scores: numpy.ndarray) -> numpy.ndarray:
            d_probs = numpy.zeros(probs.shape, dtype="float32")
            d_probs[:, self.columns] = d_scores
            return backprop_probs(d_probs)

        scores = self.model.ops.to_numpy(probs)[:, self.columns].astype("float64")
        return scores, backprop
