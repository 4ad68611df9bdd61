"""Decision thresholds chosen on dev: per-label F1 for multi-label cats, and the entity
score that reaches a precision the user asks for.

A threshold sits halfway between the lowest kept score and the next lower score seen on
dev, so scores on new data that fall between the two are decided the same way from
either side. Keep a prediction when its score is >= the threshold.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from .metrics import PRCurve, precision_recall_curve

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class PrecisionThreshold:
    """The lowest score threshold whose kept predictions reach a precision.

    min_precision (float): The precision asked for.
    threshold (Optional[float]): Keep predictions scoring >= this; None when no
        threshold reaches `min_precision`.
    precision (float): Precision of the kept predictions (at the best threshold
        when none reaches the target).
    recall (float): Kept correct predictions over gold items.
    kept (int): How many predictions are kept.
    """

    min_precision: float
    threshold: Optional[float]
    precision: float
    recall: float
    kept: int


def _between(curve: PRCurve, index: int) -> float:
    """Halfway from the index-th distinct score to the next lower one (or to 0)."""
    lower = curve.thresholds[index + 1] if index + 1 < len(curve.thresholds) else 0.0
    return float((curve.thresholds[index] + lower) / 2.0)


def threshold_for_precision(
    scores: ArrayLike, correct: ArrayLike, n_gold: int, min_precision: float
) -> PrecisionThreshold:
    """Choose the threshold with the highest recall whose precision is >= min_precision.

    scores (ArrayLike): One score per prediction (e.g. calibrated entity scores).
    correct (ArrayLike): Whether each prediction matches a gold item.
    n_gold (int): Number of gold items (recall denominator).
    min_precision (float): The precision to reach, in (0, 1].
    RETURNS (PrecisionThreshold): The threshold and what it gives on these predictions.
    """
    if not 0.0 < min_precision <= 1.0:
        raise ValueError(f"min_precision must be in (0, 1], got {min_precision}")
    curve = precision_recall_curve(scores, correct, n_gold)
    reaching = np.flatnonzero(curve.precision >= min_precision)
    if not reaching.size:
        best = int(np.argmax(curve.precision)) if curve.precision.size else None
        if best is None:
            return PrecisionThreshold(min_precision, None, 0.0, 0.0, 0)
        return PrecisionThreshold(
            min_precision,
            None,
            float(curve.precision[best]),
            float(curve.recall[best]),
            int(curve.kept[best]),
        )
    index = int(reaching[-1])
    return PrecisionThreshold(
        min_precision,
        _between(curve, index),
        float(curve.precision[index]),
        float(curve.recall[index]),
        int(curve.kept[index]),
    )


def precision_at(
    scores: ArrayLike, correct: ArrayLike, n_gold: int, threshold: float
) -> tuple[float, float, int]:
    """Precision, recall and count of the predictions scoring >= threshold.

    scores (ArrayLike): One score per prediction.
    correct (ArrayLike): Whether each prediction matches a gold item.
    n_gold (int): Number of gold items.
    threshold (float): Keep predictions scoring >= this.
    RETURNS (tuple[float, float, int]): (precision, recall, kept); precision is nan
        when nothing is kept.
    """
    s = np.asarray(scores, dtype="float64").reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    keep = s >= threshold
    kept = int(keep.sum())
    hits = int(c[keep].sum())
    precision = hits / kept if kept else float("nan")
    return precision, (hits / n_gold if n_gold else 0.0), kept


def best_f1_threshold(scores: ArrayLike, gold: ArrayLike) -> float:
    """The threshold that maximises F1 of "score >= threshold" against 0/1 gold.

    scores (ArrayLike): One label's scores over docs.
    gold (ArrayLike): Whether the label is gold for each doc.
    RETURNS (float): The threshold; DEFAULT_THRESHOLD when there is no positive.
    """
    y = np.asarray(gold, dtype=bool).reshape(-1)
    n_pos = int(y.sum())
    if not n_pos:
        return DEFAULT_THRESHOLD
    curve = precision_recall_curve(scores, y, n_pos)
    hits = curve.precision * curve.kept
    f1 = 2.0 * hits / (curve.kept + n_pos)
    # The first maximum is the highest threshold: with separable scores, the margin midpoint.
    return _between(curve, int(np.argmax(f1)))


def label_thresholds(
    probs: ArrayLike, gold: ArrayLike, labels: Sequence[str]
) -> dict[str, float]:
    """Per-label F1-maximising thresholds for a multi-label head.

    probs (ArrayLike): (n, k) scores.
    gold (ArrayLike): (n, k) 0/1 gold values, nan where a label is not annotated.
    labels (Sequence[str]): The k label names.
    RETURNS (dict[str, float]): Label -> threshold.
    """
    p = np.asarray(probs, dtype="float64")
    g = np.asarray(gold, dtype="float64")
    thresholds = {}
    for j, label in enumerate(labels):
        known = ~np.isnan(g[:, j]) if g.size else np.zeros(0, dtype=bool)
        thresholds[label] = best_f1_threshold(p[known, j], g[known, j] == 1.0)
    return thresholds


def labels_above(
    cats: Mapping[str, float], thresholds: Mapping[str, float], default: float = DEFAULT_THRESHOLD
) -> list[str]:
    """The labels whose score reaches their threshold, in `cats` order.

    cats (Mapping[str, float]): Label -> score, e.g. `doc.cats`.
    thresholds (Mapping[str, float]): Label -> threshold (e.g. the calibrator's).
    default (float): Threshold for labels without one.
    RETURNS (list[str]): The predicted labels.
    """
    return [label for label, score in cats.items() if score >= thresholds.get(label, default)]
