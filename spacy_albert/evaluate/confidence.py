"""The confidence part of an evaluation: for a pipeline with `albert_entity_scorer`
and/or `albert_calibrator`, ECE before and after calibration per head, and what the
stored entity min score keeps on the evaluation docs. The measuring itself is
`spacy_albert.confidence` (the same outcomes `calibrate` fits on)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from spacy.language import Language
from spacy.training import Example

from ..confidence.calibration import EntityCalibration, PipelineCalibration
from ..confidence.fit import pipeline_predictions
from ..confidence.metrics import PRCurve, expected_calibration_error, precision_recall_curve
from ..confidence.outcomes import EntityPredictions, HeadOutcomes, head_outcomes
from ..confidence.review import find_calibrator
from ..confidence.thresholds import precision_at
from ..pipeline.confidence import EntityScorer
from .results import ConfidenceScores, EntityThresholdScores, HeadCalibration


@dataclass(frozen=True)
class ConfidenceMeasurement:
    """The confidence scores and the arrays their figures are drawn from.

    scores (ConfidenceScores): What the report and scores.json show.
    outcomes (tuple[HeadOutcomes, ...]): Per head, raw and calibrated confidences with
        outcomes (for reliability diagrams), in the order of `scores.heads`.
    entity_curve (Optional[PRCurve]): Precision-recall of the calibrated entity scores;
        None without entity scores.
    """

    scores: ConfidenceScores
    outcomes: tuple[HeadOutcomes, ...]
    entity_curve: PRCurve | None


def find_entity_scorer(nlp: Language) -> EntityScorer | None:
    """The pipeline's `albert_entity_scorer`, or None."""
    return next((pipe for _, pipe in nlp.pipeline if isinstance(pipe, EntityScorer)), None)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _ece(probs: np.ndarray, correct: np.ndarray, n_bins: int) -> float | None:
    return _finite(expected_calibration_error(probs, correct, n_bins))


def entity_threshold_scores(
    calibration: EntityCalibration | None, entities: EntityPredictions
) -> EntityThresholdScores:
    """What the stored entity min score keeps of these predictions.

    calibration (Optional[EntityCalibration]): The calibrator's entity calibration.
    entities (EntityPredictions): Calibrated entity scores with their outcomes.
    RETURNS (EntityThresholdScores): The threshold and its precision and recall here.
    """
    min_precision = None if calibration is None else calibration.min_precision
    min_score = None if calibration is None else calibration.min_score
    if min_score is None:
        return EntityThresholdScores(None, min_precision, None, None, 0, entities.n_gold)
    precision, recall, kept = precision_at(
        entities.calibrated, entities.correct, entities.n_gold, min_score
    )
    return EntityThresholdScores(
        min_score, min_precision, _finite(precision), recall, kept, entities.n_gold
    )


def measure_confidence(
    nlp: Language, examples: Sequence[Example], n_bins: int = 10
) -> ConfidenceMeasurement | None:
    """Measure calibration on examples the pipeline has predicted.

    A head counts as calibrated when the pipeline's `albert_calibrator` holds a fitted
    calibration for it; for the others only the raw ECE is given. Entities are measured
    only with an `albert_entity_scorer`, and only on docs with NER annotation.

    nlp (Language): The pipeline that predicted the examples.
    examples (Sequence[Example]): Predicted docs (with the pipeline's output) and gold.
    n_bins (int): Equal-width bins of ECE.
    RETURNS (Optional[ConfidenceMeasurement]): None when the pipeline has neither
        `albert_entity_scorer` nor `albert_calibrator`.
    """
    scorer, calibrator = find_entity_scorer(nlp), find_calibrator(nlp)
    if scorer is None and calibrator is None:
        return None
    calibration = PipelineCalibration() if calibrator is None else calibrator.calibration
    ner_name = "ner" if scorer is None else scorer.ner
    calibrated_heads = {head.component for head in calibration.cats}
    if calibration.entities is not None:
        calibrated_heads.add(ner_name)
    predictions = pipeline_predictions(nlp, [(eg.predicted, eg.reference) for eg in examples])
    outcomes = tuple(head_outcomes(predictions, ner_name=ner_name))
    heads = {}
    for outcome in outcomes:
        calibrated = outcome.name in calibrated_heads
        heads[outcome.name] = HeadCalibration(
            kind=outcome.kind,
            n_predictions=len(outcome.raw),
            calibrated=calibrated,
            ece_raw=_ece(outcome.raw, outcome.correct, n_bins),
            ece_calibrated=_ece(outcome.calibrated, outcome.correct, n_bins)
            if calibrated
            else None,
        )
    threshold, curve = None, None
    if predictions.entities is not None:
        ents = predictions.entities
        threshold = entity_threshold_scores(calibration.entities, ents)
        curve = precision_recall_curve(ents.calibrated, ents.correct, ents.n_gold)
    scores = ConfidenceScores(
        entity_scorer=None if scorer is None else scorer.name,
        calibrator=None if calibrator is None else calibrator.name,
        fitted=calibrator is not None and calibrator.is_fitted,
        n_bins=n_bins,
        heads=heads,
        entity_threshold=threshold,
    )
    return ConfidenceMeasurement(scores, outcomes, curve)
