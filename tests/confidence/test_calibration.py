import numpy as np
import pytest

from spacy_albert.confidence.calibration import (
    CatsCalibration,
    EntityCalibration,
    PipelineCalibration,
    ScoreMap,
    choose_score_map,
    fit_isotonic,
    fit_platt,
    fit_temperature,
    temperature_sigmoid,
    temperature_softmax,
)
from spacy_albert.confidence.metrics import expected_calibration_error


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_temperature_recovers_the_overconfidence_of_sampled_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    gold = np.array([rng.choice(3, p=p) for p in softmax(logits)])
    overconfident = softmax(logits * 2.5)  # what a model at T = 1/2.5 would report
    temperature = fit_temperature(overconfident, gold, exclusive=True)
    assert temperature == pytest.approx(2.5, rel=0.1)
    before = expected_calibration_error(overconfident.max(1), overconfident.argmax(1) == gold)
    calibrated = temperature_softmax(overconfident, temperature)
    after = expected_calibration_error(calibrated.max(1), calibrated.argmax(1) == gold)
    assert after < before / 2


def test_multilabel_temperature_recovers_scale():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(3000, 4))
    gold = rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))
    overconfident = 1.0 / (1.0 + np.exp(-2.0 * logits))
    assert fit_temperature(overconfident, gold, exclusive=False) == pytest.approx(2.0, rel=0.1)


def test_temperature_keeps_argmax_and_the_half_point():
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.35, 0.45], [0.5, 0.5, 0.0]])
    for t in (0.1, 0.7, 3.0, 50.0):
        calibrated = temperature_softmax(probs, t)
        assert (calibrated.argmax(1) == probs.argmax(1)).all()
        assert np.allclose(calibrated.sum(1), 1.0)
    assert temperature_sigmoid([0.5], 7.0)[0] == pytest.approx(0.5)
    assert (np.diff(temperature_sigmoid([0.1, 0.4, 0.6, 0.99], 3.0)) > 0).all()


def test_nothing_to_fit_gives_temperature_one():
    assert fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=int), exclusive=True) == 1.0


def test_platt_is_monotone_and_fixes_a_shifted_score():
    rng = np.random.default_rng(2)
    true_p = rng.uniform(0.05, 0.95, 5000)
    correct = rng.random(5000) < true_p
    reported = true_p**0.3  # systematically too high
    score_map = fit_platt(reported, correct)
    assert score_map.method == "platt" and score_map.slope > 0
    grid = np.linspace(0, 1, 50)
    assert (np.diff(score_map(grid)) >= 0).all()
    assert expected_calibration_error(score_map(reported), correct) < 0.5 * (
        expected_calibration_error(reported, correct)
    )


def test_platt_without_both_outcomes_is_identity():
    assert fit_platt([0.2, 0.9], [True, True]) == ScoreMap()


def test_isotonic_pools_violators():
    score_map = fit_isotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    assert score_map(np.array([0.1, 0.2, 0.3, 0.4])).tolist() == pytest.approx([0, 0.5, 0.5, 1])
    assert (np.diff(score_map(np.linspace(0, 1, 101))) >= 0).all()


def test_auto_keeps_calibrated_scores_and_fixes_miscalibrated_ones():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 3000)
    correct = rng.random(3000) < p
    groups = np.arange(3000) // 3
    assert choose_score_map(p, correct, groups).method == "identity"
    assert choose_score_map(p**4, correct, groups).method != "identity"


def test_pipeline_calibration_round_trips_through_a_dict():
    calibration = PipelineCalibration(
        cats=(
            CatsCalibration("textcat", ("NEG", "POS"), True, 1.7),
            CatsCalibration("topics", ("A", "B"), False, 0.8, {"A": 0.3, "B": 0.6}),
        ),
        entities=EntityCalibration(
            ScoreMap("isotonic", knots_x=(0.0, 1.0), knots_y=(0.2, 0.9)), 0.42, 0.9
        ),
    )
    assert PipelineCalibration.from_dict(calibration.to_dict()) == calibration


def test_auto_keeps_calibrated_scores_on_small_dev_sets():
    """With ~80 entities a map often wins cross-validation by chance; it must win by more
    than one standard error to replace the raw scores (demo dev: 18 of 30 halves)."""
    chosen = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        p = rng.beta(8, 1, 80)  # few, mostly confident entities, as on a small dev set
        correct = rng.random(80) < p
        chosen.append(choose_score_map(p, correct, np.arange(80) // 2).method)
    assert chosen.count("identity") >= 18, chosen  # 14 without the rule
