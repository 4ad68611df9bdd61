"""The reporting rules (bench/fairness.py): the headline pair, learning-rate selection,
chance detection, and which contenders a CPU runs."""

import pytest

from bench.contenders import HF, SPACY, precision
from bench.fairness import (
    DID_NOT_LEARN,
    FAIRNESS_RULES,
    Candidate,
    accuracy_loss,
    at_chance,
    learned,
    majority_accuracy,
    mean_sd,
    pick_headline,
    pick_learn_rate,
)
from bench.inference import HEADLINE_HF, HEADLINE_OURS, headline


def candidates(**hf_losses) -> list[Candidate]:
    ours = [Candidate("spacy_joint_fp32", "ours", 1000.0, 0.0),
            Candidate("spacy_joint_int8", "ours", 1800.0, 0.2)]
    hf = [Candidate("hf_raw_two", "hf", 500.0, 0.0),
          Candidate("hf_raw_two_bf16", "hf", 700.0, hf_losses.get("bf16")),
          Candidate("hf_raw_two_int8", "hf", 900.0, hf_losses.get("int8"))]
    return ours + hf


def test_headline_takes_the_fastest_hf_configuration_within_the_loss_bound() -> None:
    picked = pick_headline(candidates(bf16=0.1, int8=0.5))
    assert (picked.ours.name, picked.hf.name) == ("spacy_joint_int8", "hf_raw_two_int8")
    assert picked.ratio == pytest.approx(2.0) and picked.unmeasured == ()


def test_headline_skips_an_hf_configuration_that_loses_too_much_accuracy() -> None:
    picked = pick_headline(candidates(bf16=0.1, int8=0.8))
    assert picked.hf.name == "hf_raw_two_bf16"
    assert pick_headline(candidates(bf16=2.0, int8=0.8)).hf.name == "hf_raw_two"


def test_headline_skips_our_configuration_that_loses_too_much_accuracy() -> None:
    rows = [Candidate("spacy_joint_fp32", "ours", 1000.0, 0.0),
            Candidate("spacy_joint_int8", "ours", 1800.0, 0.9),
            Candidate("hf_raw_two", "hf", 500.0, 0.0)]
    assert pick_headline(rows).ours.name == "spacy_joint_fp32"


def test_an_unmeasured_loss_is_eligible_and_flagged() -> None:
    picked = pick_headline(candidates())
    assert picked.hf.name == "hf_raw_two_int8"
    assert picked.unmeasured == ("hf_raw_two_int8",)
    assert picked.to_dict()["accuracy_loss_not_measured"] == ["hf_raw_two_int8"]


def test_no_headline_without_both_sides() -> None:
    assert pick_headline([Candidate("spacy_joint_fp32", "ours", 1.0, 0.0)]) is None


def section(**words_per_s: float) -> dict:
    return {"contenders": {name: {"words_per_s_best": speed, "seconds": [100 / speed] * 3}
                           for name, speed in words_per_s.items()}}


def test_inference_headline_uses_the_accuracy_losses_and_skips_hf_defaults() -> None:
    run = section(spacy_joint_fp32=1000, spacy_joint_int8=1600, hf_pipeline_two_defaults=5000,
                  hf_raw_two=600, hf_raw_two_int8=900)
    picked = headline(run, {"ours": {"int8": 0.2}, "hf": {"int8": 0.7}})
    assert (picked["ours"], picked["hf"]) == ("spacy_joint_int8", "hf_raw_two")
    assert picked["ratio"] == pytest.approx(1600 / 600, abs=1e-3)
    assert picked["ratio_median"] == pytest.approx(1600 / 600, abs=1e-3)
    unmeasured = headline(run, None)
    assert unmeasured["hf"] == "hf_raw_two_int8"
    assert unmeasured["accuracy_loss_not_measured"] == ["spacy_joint_int8", "hf_raw_two_int8"]


def test_headline_candidates_are_known_contenders() -> None:
    assert set(HEADLINE_OURS) <= set(SPACY) and set(HEADLINE_HF) <= set(HF)
    assert "hf_pipeline_two_defaults" not in HEADLINE_HF
    assert [precision(n) for n in HEADLINE_OURS] == ["fp32", "bf16", "int8"]
    assert precision("hf_raw_two_int8") == "int8" and precision("hf_raw_two_w128") == "fp32"
    assert not HF["hf_pipeline_two_defaults"].fused_gelu
    assert all(spec.fused_gelu for name, spec in HF.items() if "defaults" not in name)


def test_accuracy_loss_is_the_worse_task_and_never_negative() -> None:
    fp32 = {"conll_f1": 80.0, "sst2_accuracy": 75.0}
    assert accuracy_loss(fp32, {"conll_f1": 79.7, "sst2_accuracy": 74.0}) == 1.0
    assert accuracy_loss(fp32, {"conll_f1": 81.0, "sst2_accuracy": 75.5}) == 0.0


def test_a_baseline_predicting_one_class_is_at_chance() -> None:
    """SST-2 test: 912 of 1821 sentences are positive; a model that predicts one class for
    all of them scores the majority rate (50.08 %), which is no win."""
    labels = [1] * 912 + [0] * 909
    majority = majority_accuracy(labels)
    assert majority == pytest.approx(50.08, abs=0.01)
    assert at_chance("sst2_accuracy", 50.08, majority)
    assert at_chance("sst2_accuracy", 51.9, majority)
    assert not at_chance("sst2_accuracy", 74.6, majority)
    assert at_chance("conll_f1", 0.0, majority) and not at_chance("conll_f1", 40.0, majority)


def test_learned_means_above_chance_at_some_rate() -> None:
    dev = {1e-4: {"conll_f1": 0.0, "sst2_accuracy": 50.5},
           1e-3: {"conll_f1": 31.0, "sst2_accuracy": 50.9}}
    assert learned(dev, "conll_f1", 50.0)
    assert not learned(dev, "sst2_accuracy", 50.0)
    assert DID_NOT_LEARN in FAIRNESS_RULES


def test_pick_learn_rate_by_the_dev_mean_of_both_tasks() -> None:
    dev = {1e-4: {"conll_f1": 60.0, "sst2_accuracy": 70.0},
           3e-4: {"conll_f1": 70.0, "sst2_accuracy": 62.0},
           1e-3: {"conll_f1": 0.0, "sst2_accuracy": 50.0}}
    assert pick_learn_rate(dev) == 3e-4
    tie = {3e-4: {"conll_f1": 50.0, "sst2_accuracy": 50.0},
           1e-4: {"conll_f1": 40.0, "sst2_accuracy": 60.0}}
    assert pick_learn_rate(tie) == 1e-4


def test_mean_sd() -> None:
    assert mean_sd([70.0, 72.0, 74.0]) == {"mean": 72.0, "sd": 2.0, "n": 3}
    assert mean_sd([70.0]) == {"mean": 70.0, "sd": 0.0, "n": 1}
