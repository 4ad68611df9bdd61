"""Predictions paired with gold, per head: the raw and calibrated confidences and whether
each prediction was right. Fitting (`fit.py`) and evaluation reports read these.

Heads: each text classifier (exclusive or multi-label) and, when the pipeline has an
`albert_entity_scorer`, the entities. Missing annotation is skipped, never counted as
wrong: a doc without gold cats for a head's labels is not in that head, a label absent
from a doc's gold cats is nan, and a doc without NER annotation contributes no entities.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Optional

import numpy as np
from spacy.language import Language
from spacy.pipeline import TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.tokens import Doc

from .calibration import PipelineCalibration
from .entity_scores import RAW_CATS, RAW_SCORE, SCORE

HeadKind = Literal["exclusive", "multilabel", "entities"]


@dataclass(frozen=True)
class CatsHead:
    """A text classifier in the pipeline.

    name (str): Component name.
    labels (tuple[str, ...]): Its labels.
    exclusive (bool): Softmax over the labels (`textcat`) or not (`textcat_multilabel`).
    """

    name: str
    labels: tuple[str, ...]
    exclusive: bool


@dataclass(frozen=True)
class CatsPredictions:
    """One head's scores on the docs that have gold cats for it.

    head (CatsHead): The text classifier.
    raw (np.ndarray): (n, k) scores before calibration (`doc._.raw_cats` or `doc.cats`).
    calibrated (np.ndarray): (n, k) scores after calibration (`doc.cats`).
    gold (np.ndarray): (n, k) gold 0/1, nan where a label is not annotated.
    doc_index (np.ndarray): (n,) index of each row's doc.
    """

    head: CatsHead
    raw: np.ndarray
    calibrated: np.ndarray
    gold: np.ndarray
    doc_index: np.ndarray


@dataclass(frozen=True)
class EntityPredictions:
    """Predicted entities of the docs with NER annotation, and whether each is gold.

    raw (np.ndarray): (m,) beam scores (`span._.raw_score`).
    calibrated (np.ndarray): (m,) confidences (`span._.score`).
    correct (np.ndarray): (m,) whether the exact span and label are gold.
    doc_index (np.ndarray): (m,) index of each entity's doc.
    gold_counts (np.ndarray): (n_docs,) gold entities per doc (0 without annotation).
    """

    raw: np.ndarray
    calibrated: np.ndarray
    correct: np.ndarray
    doc_index: np.ndarray
    gold_counts: np.ndarray

    @property
    def n_gold(self) -> int:
        """Gold entities in the docs with NER annotation (the recall denominator)."""
        return int(self.gold_counts.sum())


@dataclass(frozen=True)
class Predictions:
    """All heads' predictions over a list of docs.

    n_docs (int): Number of docs.
    cats (tuple[CatsPredictions, ...]): One per text classifier.
    entities (Optional[EntityPredictions]): None when entities are not scored.
    """

    n_docs: int
    cats: tuple[CatsPredictions, ...]
    entities: Optional[EntityPredictions]

    def subset(self, doc_indices: Sequence[int]) -> "Predictions":
        """The predictions of some docs only, renumbered 0..len(doc_indices) - 1."""
        order = np.asarray(doc_indices, dtype=int)
        new_index = np.full(self.n_docs, -1)
        new_index[order] = np.arange(len(order))

        def rows(doc_index: np.ndarray) -> np.ndarray:
            return np.flatnonzero(new_index[doc_index] >= 0)

        cats = tuple(
            CatsPredictions(
                head.head,
                head.raw[keep],
                head.calibrated[keep],
                head.gold[keep],
                new_index[head.doc_index[keep]],
            )
            for head in self.cats
            for keep in [rows(head.doc_index)]
        )
        entities = None
        if self.entities is not None:
            ents = self.entities
            keep = rows(ents.doc_index)
            entities = EntityPredictions(
                ents.raw[keep],
                ents.calibrated[keep],
                ents.correct[keep],
                new_index[ents.doc_index[keep]],
                ents.gold_counts[order],
            )
        return Predictions(len(order), cats, entities)

    def calibrated_with(self, calibration: PipelineCalibration) -> "Predictions":
        """These predictions with `calibrated` recomputed from `raw` by `calibration`."""
        by_name = {head.component: head for head in calibration.cats}
        cats = tuple(
            replace(head, calibrated=by_name[head.head.name].apply(head.raw))
            if head.head.name in by_name
            else head
            for head in self.cats
        )
        entities = self.entities
        if entities is not None and calibration.entities is not None:
            entities = replace(entities, calibrated=calibration.entities.score_map(entities.raw))
        return Predictions(self.n_docs, cats, entities)


@dataclass(frozen=True)
class HeadOutcomes:
    """One head's confidences and outcomes, ready for ECE and reliability diagrams.

    name (str): The component ("ner" entities are named after the entity scorer's ner).
    kind (HeadKind): "exclusive" (top label's probability, right when it is gold),
        "multilabel" (every annotated label's probability, right when the label is
        gold) or "entities" (each predicted entity's score, right when it is gold).
    raw (np.ndarray): Confidences before calibration.
    calibrated (np.ndarray): The same predictions' confidences after calibration.
    correct (np.ndarray): Outcomes (bool).
    """

    name: str
    kind: HeadKind
    raw: np.ndarray
    calibrated: np.ndarray
    correct: np.ndarray


def cats_heads(nlp: Language) -> list[CatsHead]:
    """The text classifiers of a pipeline, in pipeline order."""
    return [
        CatsHead(name, tuple(pipe.labels), not isinstance(pipe, MultiLabel_TextCategorizer))
        for name, pipe in nlp.pipeline
        if isinstance(pipe, TextCategorizer)
    ]


def predict_pairs(
    nlp: Language, gold_docs: Iterable[Doc], batch_size: Optional[int] = None
) -> list[tuple[Doc, Doc]]:
    """Run the pipeline on unannotated copies of gold docs (spaCy's `nlp.evaluate` way).

    nlp (Language): The pipeline (disable components with `nlp.select_pipes`).
    gold_docs (Iterable[Doc]): Reference docs, e.g. from a DocBin.
    batch_size (Optional[int]): `nlp.pipe` batch size (None: the pipeline's).
    RETURNS (list[tuple[Doc, Doc]]): (predicted, gold) pairs, in input order.
    """
    gold = list(gold_docs)
    predicted = nlp.pipe((nlp.make_doc(doc.text) for doc in gold), batch_size=batch_size)
    return list(zip(predicted, gold))


def collect_predictions(
    pairs: Sequence[tuple[Doc, Doc]], heads: Sequence[CatsHead], entities: bool
) -> Predictions:
    """Gather each head's raw and calibrated scores with their gold values.

    pairs (Sequence[tuple[Doc, Doc]]): (predicted, gold) docs, e.g. from `predict_pairs`.
    heads (Sequence[CatsHead]): The text classifiers, e.g. `cats_heads(nlp)`.
    entities (bool): Collect entity scores (the pipeline has `albert_entity_scorer`).
    RETURNS (Predictions): Everything `fit_calibration` and `head_outcomes` need.
    """
    cats = []
    for head in heads:
        raw, calibrated, gold, doc_index = [], [], [], []
        for i, (pred, ref) in enumerate(pairs):
            values = [ref.cats.get(label, np.nan) for label in head.labels]
            known = [v for v in values if not np.isnan(v)]
            if not known or (head.exclusive and sum(v == 1.0 for v in known) != 1):
                continue
            pred_raw = pred._.get(RAW_CATS) or pred.cats
            raw.append([pred_raw.get(label, 0.0) for label in head.labels])
            calibrated.append([pred.cats.get(label, 0.0) for label in head.labels])
            gold.append(values)
            doc_index.append(i)
        k = len(head.labels)
        cats.append(
            CatsPredictions(
                head,
                np.asarray(raw, dtype="float64").reshape(-1, k),
                np.asarray(calibrated, dtype="float64").reshape(-1, k),
                np.asarray(gold, dtype="float64").reshape(-1, k),
                np.asarray(doc_index, dtype=int),
            )
        )
    return Predictions(len(pairs), tuple(cats), _collect_entities(pairs) if entities else None)


def _collect_entities(pairs: Sequence[tuple[Doc, Doc]]) -> EntityPredictions:
    raw, calibrated, correct, doc_index = [], [], [], []
    gold_counts = np.zeros(len(pairs), dtype=int)
    for i, (pred, ref) in enumerate(pairs):
        if not ref.has_annotation("ENT_IOB"):
            continue
        gold = {(ent.start_char, ent.end_char, ent.label_) for ent in ref.ents}
        gold_counts[i] = len(gold)
        for ent in pred.ents:
            raw_score = ent._.get(RAW_SCORE)
            if raw_score is None:
                raise ValueError(
                    f"entity {ent.text!r} in {pred.text[:60]!r} has no score: the pipeline "
                    "needs albert_entity_scorer after its ner"
                )
            raw.append(raw_score)
            calibrated.append(ent._.get(SCORE))
            correct.append((ent.start_char, ent.end_char, ent.label_) in gold)
            doc_index.append(i)
    return EntityPredictions(
        np.asarray(raw, dtype="float64"),
        np.asarray(calibrated, dtype="float64"),
        np.asarray(correct, dtype=bool),
        np.asarray(doc_index, dtype=int),
        gold_counts,
    )


def head_outcomes(predictions: Predictions, ner_name: str = "ner") -> list[HeadOutcomes]:
    """Per head, flat confidences (raw and calibrated) and outcomes for ECE and plots.

    predictions (Predictions): From `collect_predictions` (or `calibrated_with`).
    ner_name (str): The name to give the entity head.
    RETURNS (list[HeadOutcomes]): Text classifiers in pipeline order, then entities.
    """
    outcomes = []
    for head in predictions.cats:
        if head.head.exclusive:
            rows = np.arange(len(head.raw))
            top = head.raw.argmax(axis=1) if len(head.raw) else np.zeros(0, dtype=int)
            outcomes.append(
                HeadOutcomes(
                    head.head.name,
                    "exclusive",
                    head.raw[rows, top],
                    head.calibrated[rows, top],
                    head.gold[rows, top] == 1.0,
                )
            )
        else:
            known = ~np.isnan(head.gold)
            outcomes.append(
                HeadOutcomes(
                    head.head.name,
                    "multilabel",
                    head.raw[known],
                    head.calibrated[known],
                    head.gold[known] == 1.0,
                )
            )
    if predictions.entities is not None:
        ents = predictions.entities
        outcomes.append(
            HeadOutcomes(ner_name, "entities", ents.raw, ents.calibrated, ents.correct)
        )
    return outcomes
