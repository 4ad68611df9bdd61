"""Confidence users can act on: a score on every entity, calibration of `doc.cats` and
entity scores fitted on dev, thresholds chosen on dev, and a review queue.

    python -m spacy_albert calibrate training/model-best dev.spacy training/calibrated \
        --min-precision 0.9 --report-dir metrics/calibration

    nlp = spacy.load("training/calibrated")
    doc = nlp(text)
    [(ent.text, ent._.score) for ent in doc.ents]    # calibrated, in [0, 1]
    doc.cats, doc._.raw_cats                         # calibrated / as the model said
    confident_entities(doc, review.entity_threshold(nlp))  # precision >= 0.9 on dev

Extensions: `span._.score`, `span._.raw_score`, `doc._.raw_cats` (see `entity_scores`).
Components: `albert_entity_scorer`, `albert_calibrator` (`spacy_albert.pipeline.confidence`).
Modules: `metrics` (ECE, reliability diagrams, P-R curves), `calibration` (the maps),
`thresholds`, `outcomes` (predictions vs gold per head), `fit` (fitting and measuring),
`files` (what the CLI reads and writes), `review` (min-score filtering, review queue).
`fit`, `files` and `review` use the pipeline components, so import them by module path
(`from spacy_albert.confidence.review import entity_threshold`); this package's own
imports stay below `spacy_albert.pipeline`.
"""

from .calibration import PipelineCalibration
from .entity_scores import confident_entities, entity_score, entity_scores
from .metrics import expected_calibration_error, precision_recall_curve, reliability_diagram
from .outcomes import HeadOutcomes, cats_heads, collect_predictions, head_outcomes, predict_pairs
from .thresholds import labels_above

__all__ = [
    "HeadOutcomes",
    "PipelineCalibration",
    "cats_heads",
    "collect_predictions",
    "confident_entities",
    "entity_score",
    "entity_scores",
    "expected_calibration_error",
    "head_outcomes",
    "labels_above",
    "precision_recall_curve",
    "predict_pairs",
    "reliability_diagram",
]
