import numpy as np
import pytest

from spacy_albert.confidence.metrics import (
    expected_calibration_error,
    precision_recall_curve,
    reliability_bins,
    reliability_diagram,
)


def test_ece_of_known_bins():
    # Bin [0.9, 1.0]: confidence 0.9, accuracy 0.5 -> gap 0.4 on 2 of 4 predictions.
    # Bin [0.2, 0.3): confidence 0.2, accuracy 0.5 -> gap 0.3 on the other 2.
    probs = [0.9, 0.9, 0.2, 0.2]
    correct = [True, False, True, False]
    assert expected_calibration_error(probs, correct, n_bins=10) == pytest.approx(0.35)


def test_ece_is_zero_when_accuracy_matches_confidence():
    probs = [0.75] * 4 + [1.0] * 3
    correct = [True, True, True, False, True, True, True]
    assert expected_calibration_error(probs, correct) == pytest.approx(0.0)


def test_reliability_bins_put_one_in_the_last_bin_and_leave_empty_bins_nan():
    bins = reliability_bins([0.0, 1.0, 0.55], [False, True, True], n_bins=4)
    assert bins.counts.tolist() == [1, 0, 1, 1]
    assert np.isnan(bins.accuracy[1])
    assert bins.accuracy[3] == 1.0


def test_bad_confidences_are_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.2], [True])
    with pytest.raises(ValueError, match="differ in length"):
        expected_calibration_error([0.5, 0.5], [True])


def test_ece_of_nothing_is_nan():
    assert np.isnan(expected_calibration_error([], []))


def test_precision_recall_curve_groups_equal_scores():
    curve = precision_recall_curve([0.9, 0.9, 0.5, 0.1], [True, False, True, False], n_gold=4)
    assert curve.thresholds.tolist() == [0.9, 0.5, 0.1]
    assert curve.kept.tolist() == [2, 3, 4]
    assert curve.precision.tolist() == pytest.approx([0.5, 2 / 3, 0.5])
    assert curve.recall.tolist() == pytest.approx([0.25, 0.5, 0.5])


def test_reliability_diagram_draws_before_and_after():
    pytest.importorskip("matplotlib")
    fig = reliability_diagram([0.9, 0.2], [True, False], calibrated=[0.8, 0.3], title="textcat")
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "perfect"
    assert labels[1].startswith("before (ECE") and labels[2].startswith("after (ECE")
    assert ax.get_title() == "textcat"
