"""Fit a pipeline's calibration on dev and measure it on data it was not fitted on.

`calibrate_pipeline` adds `albert_entity_scorer` (after the ner) and `albert_calibrator`
(last) when missing, predicts once with calibration off, fits temperature scaling per
text classifier, per-label F1 thresholds for multi-label heads, a map for entity scores
(identity, Platt or isotonic, chosen by cross-validation) and the entity score that
reaches `min_precision`, then reports ECE before/after and the precision at that
threshold on the held-out docs.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc

from ..pipeline.confidence import CALIBRATOR, ENTITY_SCORER, Calibrator, EntityScorer
from .calibration import (
    CatsCalibration,
    EntityCalibration,
    PipelineCalibration,
    ScoreMap,
    choose_score_map,
    fit_score_map,
    fit_temperature,
)
from .metrics import expected_calibration_error
from .outcomes import (
    HeadKind,
    HeadOutcomes,
    Predictions,
    cats_heads,
    collect_predictions,
    head_outcomes,
    predict_pairs,
)
from .thresholds import (
    label_thresholds,
    precision_at,
    threshold_for_precision,
)

EntityMethod = Literal["auto", "identity", "platt", "isotonic"]


@dataclass(frozen=True)
class CalibrationSettings:
    """How `calibrate_pipeline` fits and measures.

    heldout_fraction (float): Share of dev held out for measuring when there are no
        evaluation docs (0: measure on the fitting docs).
    seed (int): Seed of the held-out split.
    min_precision (Optional[float]): Entity precision to choose a score threshold for
        (None: choose none).
    entity_method (EntityMethod): The entity score map: "platt", "isotonic", "identity",
        or "auto" (the one with the best cross-validated Brier score).
    n_bins (int): ECE bins (and reliability diagram bins).
    batch_size (Optional[int]): Prediction batch size (None: the pipeline's).
    """

    heldout_fraction: float = 0.5
    seed: int = 0
    min_precision: Optional[float] = 0.9
    entity_method: EntityMethod = "auto"
    n_bins: int = 10
    batch_size: Optional[int] = None


@dataclass(frozen=True)
class HeadReport:
    """ECE of one head before and after calibration, on the measured docs.

    name (str): Component name.
    kind (HeadKind): "exclusive", "multilabel" or "entities".
    setting (str): What was fitted, e.g. "T=1.42".
    n_fit (int): Predictions the calibration was fitted on.
    n_measured (int): Predictions ECE was measured on.
    ece_before (float): ECE of the raw confidences.
    ece_after (float): ECE of the calibrated confidences.
    """

    name: str
    kind: HeadKind
    setting: str
    n_fit: int
    n_measured: int
    ece_before: float
    ece_after: float


@dataclass(frozen=True)
class ThresholdReport:
    """The entity score threshold chosen for the asked precision, and what it gives.

    min_precision (float): The precision asked for.
    threshold (Optional[float]): Chosen on the fitting docs; None when no threshold
        reached `min_precision` there.
    fit_precision (float): Precision at the threshold on the fitting docs.
    fit_recall (float): Recall there.
    precision (float): Precision on the measured docs (nan: none kept or no threshold).
    recall (float): Recall on the measured docs.
    kept (int): Entities kept on the measured docs.
    """

    min_precision: float
    threshold: Optional[float]
    fit_precision: float
    fit_recall: float
    precision: float
    recall: float
    kept: int


@dataclass(frozen=True)
class CalibrationResult:
    """What `calibrate_pipeline` fitted and measured.

    calibration (PipelineCalibration): Now set on the pipeline's `albert_calibrator`.
    measured_on (str): Which docs the report numbers come from.
    heads (tuple[HeadReport, ...]): ECE before/after per head.
    entity_threshold (Optional[ThresholdReport]): None without entities or min_precision.
    outcomes (tuple[HeadOutcomes, ...]): The measured confidences, for diagrams.
    """

    calibration: PipelineCalibration
    measured_on: str
    heads: tuple[HeadReport, ...]
    entity_threshold: Optional[ThresholdReport]
    outcomes: tuple[HeadOutcomes, ...]


def add_confidence_components(nlp: Language) -> Calibrator:
    """Add `albert_entity_scorer` after the ner and `albert_calibrator` last, if missing.

    nlp (Language): The pipeline, changed in place.
    RETURNS (Calibrator): The pipeline's calibrator.
    """
    has_scorer = any(isinstance(pipe, EntityScorer) for _, pipe in nlp.pipeline)
    ners = [name for name, pipe in nlp.pipeline if isinstance(pipe, EntityRecognizer)]
    if ners and not has_scorer:
        if len(ners) > 1:
            raise ValueError(
                f"the pipeline has several ner components ({', '.join(ners)}): add "
                f"{ENTITY_SCORER} after the one to score, with its `ner` setting"
            )
        nlp.add_pipe(ENTITY_SCORER, after=ners[0], config={"ner": ners[0]})
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, Calibrator):
            return pipe
    return nlp.add_pipe(CALIBRATOR, last=True)


def pipeline_predictions(nlp: Language, pairs: Sequence[tuple[Doc, Doc]]) -> Predictions:
    """Collect every head of `nlp` from (predicted, gold) pairs (see `collect_predictions`).

    nlp (Language): The pipeline that predicted the docs.
    pairs (Sequence[tuple[Doc, Doc]]): (predicted, gold) docs.
    RETURNS (Predictions): Its text classifiers, and entities when it scores them.
    """
    scored = any(isinstance(pipe, EntityScorer) for _, pipe in nlp.pipeline)
    return collect_predictions(pairs, cats_heads(nlp), entities=scored)


def uncalibrated_predictions(
    nlp: Language, calibrator: Calibrator, gold_docs: Sequence[Doc],
    batch_size: Optional[int] = None,
) -> Predictions:
    """Predict the gold docs' texts once with the calibrator off and collect every head.

    nlp (Language): The pipeline, with its confidence components added.
    calibrator (Calibrator): Its calibrator, disabled while predicting.
    gold_docs (Sequence[Doc]): Gold docs.
    batch_size (Optional[int]): Prediction batch size (None: the pipeline's).
    RETURNS (Predictions): Raw confidences and outcomes of every doc, in order.
    """
    with nlp.select_pipes(disable=[calibrator.name]):
        pairs = predict_pairs(nlp, gold_docs, batch_size)
    return pipeline_predictions(nlp, pairs)


def fit_calibration(
    predictions: Predictions,
    *,
    min_precision: Optional[float] = 0.9,
    entity_method: EntityMethod = "auto",
) -> PipelineCalibration:
    """Fit temperatures, multi-label thresholds, the entity map and entity threshold.

    predictions (Predictions): Uncalibrated predictions on the fitting docs.
    min_precision (Optional[float]): Entity precision to choose `min_score` for (None:
        choose none).
    entity_method (EntityMethod): The entity score map: "platt", "isotonic",
        "identity", or "auto" (the one with the best cross-validated Brier score).
    RETURNS (PipelineCalibration): The fitted calibration.
    """
    cats = []
    for head in predictions.cats:
        if head.head.exclusive:
            temperature = fit_temperature(head.raw, np.nanargmax(head.gold, axis=1), True)
            cats.append(CatsCalibration(head.head.name, head.head.labels, True, temperature))
            continue
        known = ~np.isnan(head.gold)
        temperature = fit_temperature(head.raw[known], head.gold[known], False)
        fitted = CatsCalibration(head.head.name, head.head.labels, False, temperature)
        thresholds = label_thresholds(fitted.apply(head.raw), head.gold, head.head.labels)
        cats.append(
            CatsCalibration(head.head.name, head.head.labels, False, temperature, thresholds)
        )
    entities = None
    if predictions.entities is not None:
        ents = predictions.entities
        if entity_method == "auto":
            score_map = choose_score_map(ents.raw, ents.correct, ents.doc_index)
        else:
            score_map = fit_score_map(ents.raw, ents.correct, entity_method)
        chosen = None
        if min_precision is not None:
            chosen = threshold_for_precision(
                score_map(ents.raw), ents.correct, ents.n_gold, min_precision
            )
        entities = EntityCalibration(
            score_map,
            None if chosen is None else chosen.threshold,
            min_precision,
        )
    return PipelineCalibration(tuple(cats), entities)


def _setting(calibration: PipelineCalibration, outcome: HeadOutcomes) -> str:
    if outcome.kind == "entities":
        assert calibration.entities is not None
        score_map: ScoreMap = calibration.entities.score_map
        if score_map.method == "platt":
            return f"platt slope={score_map.slope:.3g} intercept={score_map.intercept:.3g}"
        if score_map.method == "isotonic":
            return f"isotonic, {len(score_map.knots_x)} knots"
        return score_map.method
    head = next(h for h in calibration.cats if h.component == outcome.name)
    return f"T={head.temperature:.3g}"


def _threshold_report(
    min_score: Optional[float], min_precision: float, fit: Predictions, measured: Predictions
) -> ThresholdReport:
    assert fit.entities is not None and measured.entities is not None
    if min_score is None:
        nan = float("nan")
        return ThresholdReport(min_precision, None, nan, nan, nan, 0.0, 0)
    fit_p, fit_r, _ = precision_at(
        fit.entities.calibrated, fit.entities.correct, fit.entities.n_gold, min_score
    )
    ents = measured.entities
    return ThresholdReport(
        min_precision,
        min_score,
        fit_p,
        fit_r,
        *precision_at(ents.calibrated, ents.correct, ents.n_gold, min_score),
    )


def split_docs(n_docs: int, heldout_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of doc indices into (fit, held-out).

    n_docs (int): Number of docs.
    heldout_fraction (float): Share held out, in (0, 1).
    seed (int): Shuffle seed.
    RETURNS (tuple[np.ndarray, np.ndarray]): Sorted indices of each part.
    """
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    order = np.random.default_rng(seed).permutation(n_docs)
    n_heldout = int(round(n_docs * heldout_fraction))
    if not 0 < n_heldout < n_docs:
        raise ValueError(
            f"{n_docs} dev docs cannot be split {1 - heldout_fraction:.0%} / "
            f"{heldout_fraction:.0%}: pass a separate evaluation file instead"
        )
    return np.sort(order[n_heldout:]), np.sort(order[:n_heldout])


def fit_and_measure(
    predictions: Predictions,
    fit_index: np.ndarray,
    measure_index: np.ndarray,
    measured_on: str,
    settings: CalibrationSettings = CalibrationSettings(),
) -> CalibrationResult:
    """Fit a calibration on some docs' predictions and measure it on others.

    One prediction pass serves many splits (`bench/calibration.py` measures 30).

    predictions (Predictions): Uncalibrated predictions of every doc.
    fit_index (np.ndarray): Indices of the docs to fit on.
    measure_index (np.ndarray): Indices of the docs to measure on.
    measured_on (str): What the measured docs are, for the report.
    settings (CalibrationSettings): Precision target, entity method, bins.
    RETURNS (CalibrationResult): The calibration and its before/after numbers.
    """
    fit_part = predictions.subset(fit_index)
    calibration = fit_calibration(
        fit_part, min_precision=settings.min_precision, entity_method=settings.entity_method
    )
    measured = head_outcomes(predictions.subset(measure_index).calibrated_with(calibration))
    fitted_counts = {o.name: len(o.raw) for o in head_outcomes(fit_part)}
    reports = tuple(
        HeadReport(
            outcome.name,
            outcome.kind,
            _setting(calibration, outcome),
            fitted_counts[outcome.name],
            len(outcome.raw),
            expected_calibration_error(outcome.raw, outcome.correct, settings.n_bins),
            expected_calibration_error(outcome.calibrated, outcome.correct, settings.n_bins),
        )
        for outcome in measured
    )
    threshold = None
    if calibration.entities is not None and settings.min_precision is not None:
        threshold = _threshold_report(
            calibration.entities.min_score,
            settings.min_precision,
            fit_part.calibrated_with(calibration),
            predictions.subset(measure_index).calibrated_with(calibration),
        )
    return CalibrationResult(calibration, measured_on, reports, threshold, tuple(measured))


def calibrate_pipeline(
    nlp: Language,
    dev_docs: Sequence[Doc],
    eval_docs: Optional[Sequence[Doc]] = None,
    settings: CalibrationSettings = CalibrationSettings(),
) -> CalibrationResult:
    """Fit the pipeline's calibration and measure it on docs it was not fitted on.

    Without `eval_docs`, a seeded `heldout_fraction` of dev is held out and the rest
    fitted on; with `eval_docs`, all of dev is fitted on. With `heldout_fraction=0` and no
    `eval_docs`, the numbers are measured on the fitting docs themselves. What is saved is
    exactly what was measured.

    nlp (Language): The trained pipeline; the confidence components are added and the
        calibrator's calibration is replaced.
    dev_docs (Sequence[Doc]): Gold docs to fit on.
    eval_docs (Optional[Sequence[Doc]]): Gold docs to measure on.
    settings (CalibrationSettings): Split, precision target, entity method, bins.
    RETURNS (CalibrationResult): The calibration and its before/after numbers.
    """
    calibrator = add_confidence_components(nlp)
    docs = list(dev_docs) + list(eval_docs or [])
    predictions = uncalibrated_predictions(nlp, calibrator, docs, settings.batch_size)
    n_dev = len(dev_docs)
    if eval_docs is not None:
        fit_index, measure_index = np.arange(n_dev), np.arange(n_dev, len(docs))
        measured_on = f"{len(measure_index)} evaluation docs (fitted on {n_dev} dev docs)"
    elif settings.heldout_fraction > 0.0:
        fit_index, measure_index = split_docs(n_dev, settings.heldout_fraction, settings.seed)
        measured_on = (
            f"{len(measure_index)} held-out dev docs (fitted on the other "
            f"{len(fit_index)}, seed {settings.seed})"
        )
    else:
        fit_index = measure_index = np.arange(n_dev)
        measured_on = f"the {n_dev} dev docs it was fitted on (no held-out split)"
    result = fit_and_measure(predictions, fit_index, measure_index, measured_on, settings)
    calibrator.calibration = result.calibration
    return result
