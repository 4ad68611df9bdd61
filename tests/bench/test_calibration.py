"""bench/calibration.py's summary: ECE per head over splits, precision at the threshold."""

import pytest

from bench.calibration import summarize


def split(seed: int, before: float, after: float, precision: float) -> dict:
    return {
        "seed": seed,
        "heads": [{"name": "textcat", "kind": "exclusive", "n_measured": 40,
                   "ece_before": before, "ece_after": after}],
        "entity_threshold": {"threshold": 0.5, "precision": precision, "recall": 0.8},
    }


def test_summary_counts_splits_where_calibration_helped():
    summary = summarize(
        [split(0, 0.10, 0.05, 0.91), split(1, 0.10, 0.12, 0.80), split(2, 0.2, 0.1, 0.93)], 0.9
    )
    head = summary["heads"]["textcat"]
    assert head["splits_lower"] == 2 and head["splits"] == 3 and head["splits_unchanged"] == 0
    assert head["ece_before"]["mean"] == pytest.approx(0.4 / 3)
    threshold = summary["entity_threshold"]
    assert threshold["within_3_points"] == 2 and threshold["measured_splits"] == 3
    assert threshold["at_least_ask_minus_3_points"] == 2


def test_splits_without_a_threshold_are_counted_not_averaged():
    no_threshold = split(1, 0.1, 0.1, 0.0)
    no_threshold["entity_threshold"] = {"threshold": None, "precision": None, "recall": 0.0}
    summary = summarize([split(0, 0.1, 0.05, 0.9), no_threshold], 0.9)
    assert summary["entity_threshold"]["precision"]["mean"] == pytest.approx(0.9)
    assert summary["entity_threshold"]["no_threshold_splits"] == 1
