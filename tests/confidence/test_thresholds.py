import numpy as np
import pytest

from spacy_albert.confidence.thresholds import (
    best_f1_threshold,
    label_thresholds,
    labels_above,
    precision_at,
    threshold_for_precision,
)


def test_threshold_for_precision_keeps_the_most_that_reach_it():
    scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, True, False, True, False]
    chosen = threshold_for_precision(scores, correct, n_gold=5, min_precision=0.8)
    # Keeping down to 0.6 gives 4/5 = 0.8; keeping 0.5 as well gives 4/6.
    assert chosen.threshold == pytest.approx(0.55)
    assert chosen.precision == pytest.approx(0.8)
    assert chosen.recall == pytest.approx(0.8)
    assert chosen.kept == 5
    assert precision_at(scores, correct, 5, chosen.threshold) == pytest.approx((0.8, 0.8, 5))


def test_unreachable_precision_gives_no_threshold():
    chosen = threshold_for_precision([0.9, 0.8], [False, True], n_gold=1, min_precision=0.9)
    assert chosen.threshold is None
    assert chosen.precision == pytest.approx(0.5)


def test_min_precision_is_validated():
    with pytest.raises(ValueError, match="min_precision"):
        threshold_for_precision([0.5], [True], 1, 1.5)


def test_f1_threshold_is_the_margin_midpoint_on_separable_scores():
    assert best_f1_threshold([0.9, 0.7, 0.3, 0.1], [1, 1, 0, 0]) == pytest.approx(0.5)
    assert best_f1_threshold([0.2, 0.1], [0, 0]) == 0.5


def test_label_thresholds_skip_unannotated_values():
    probs = np.array([[0.9, 0.2], [0.6, 0.8], [0.1, 0.7]])
    gold = np.array([[1, 0], [np.nan, 1], [0, np.nan]])
    thresholds = label_thresholds(probs, gold, ["A", "B"])
    assert thresholds == pytest.approx({"A": 0.5, "B": 0.5})


def test_labels_above_uses_per_label_thresholds():
    cats = {"A": 0.3, "B": 0.3, "C": 0.7}
    assert labels_above(cats, {"A": 0.25}) == ["A", "C"]
