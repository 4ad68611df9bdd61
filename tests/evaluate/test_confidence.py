"""The Confidence section of `evaluate`: ECE before/after calibration per head, the
reliability diagrams and entity P-R curve, and what the stored entity min score keeps,
checked against numbers counted here; a pipeline without the confidence components
gets a hint instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from typer.testing import CliRunner

from spacy_albert.cli import app
from spacy_albert.confidence.metrics import expected_calibration_error
from spacy_albert.evaluate import (
    ConfidenceScores,
    EntityScores,
    evaluate_pipeline,
    render_markdown,
)
from spacy_albert.evaluate.results import EntityThresholdScores, HeadCalibration
from spacy_albert.pipeline.confidence import ENTITY_SCORER
from tests.evaluate.conftest import assert_png, read_json
from tests.evaluate.test_report import make_result

CONFIDENCE_KEYS = {"entity_scorer", "calibrator", "fitted", "n_bins", "heads", "entity_threshold"}
HEAD_KEYS = {"kind", "n_predictions", "calibrated", "ece_raw", "ece_calibrated"}
THRESHOLD_KEYS = {"min_score", "min_precision", "precision", "recall", "kept", "n_gold"}


def direct_outcomes(nlp: spacy.Language, gold: list[Doc]) -> dict[str, dict[str, list]]:
    """Raw and calibrated confidences with outcomes, read off the pipeline's docs here:
    the textcat's top label per doc with gold cats, every entity of docs with NER gold."""
    heads: dict[str, dict[str, list]] = {
        name: {"raw": [], "calibrated": [], "correct": []} for name in ("textcat", "ner")
    }
    texts = [doc.text for doc in gold]
    for pred, ref in zip(nlp.pipe(texts), gold):
        if ref.cats:
            raw = pred._.raw_cats
            top = max(raw, key=raw.get)
            heads["textcat"]["raw"].append(raw[top])
            heads["textcat"]["calibrated"].append(pred.cats[top])
            heads["textcat"]["correct"].append(ref.cats[top] == 1.0)
        if ref.has_annotation("ENT_IOB"):
            spans = {(e.start_char, e.end_char, e.label_) for e in ref.ents}
            for ent in pred.ents:
                heads["ner"]["raw"].append(ent._.raw_score)
                heads["ner"]["calibrated"].append(ent._.score)
                heads["ner"]["correct"].append((ent.start_char, ent.end_char, ent.label_) in spans)
    return heads


def counted_threshold(nlp: spacy.Language, gold: list[Doc], min_score: float) -> tuple:
    """(precision, recall, kept) of the entities scoring >= min_score, counted here."""
    kept = hits = n_gold = 0
    for pred, ref in zip(nlp.pipe(doc.text for doc in gold), gold):
        if not ref.has_annotation("ENT_IOB"):
            continue
        spans = {(e.start_char, e.end_char, e.label_) for e in ref.ents}
        n_gold += len(spans)
        for ent in pred.ents:
            if ent._.score >= min_score:
                kept += 1
                hits += (ent.start_char, ent.end_char, ent.label_) in spans
    return hits / kept, hits / n_gold, kept


def direct_outcomes_uncalibrated(nlp: spacy.Language, gold: list[Doc]) -> dict[str, list]:
    """Every entity's raw score and outcome on the docs with NER gold."""
    raw, correct = [], []
    for pred, ref in zip(nlp.pipe(doc.text for doc in gold), gold):
        if ref.has_annotation("ENT_IOB"):
            spans = {(e.start_char, e.end_char, e.label_) for e in ref.ents}
            for ent in pred.ents:
                assert ent._.score == ent._.raw_score  # nothing calibrates it
                raw.append(ent._.raw_score)
                correct.append((ent.start_char, ent.end_char, ent.label_) in spans)
    return {"raw": raw, "correct": correct}


@pytest.fixture(scope="module")
def calibrated_on_half(tmp_path_factory, en_pipeline_dir, en_docbins) -> dict[str, Any]:
    """The session's en pipeline calibrated (calibrate CLI) on the first half of dev,
    then evaluated (evaluate CLI) on the second half."""
    root = tmp_path_factory.mktemp("eval-confidence")
    docs = list(DocBin().from_disk(en_docbins["dev"]).get_docs(spacy.blank("en").vocab))
    half = len(docs) // 2
    paths = {"fit": root / "fit.spacy", "eval": root / "eval.spacy"}
    DocBin(docs=docs[:half]).to_disk(paths["fit"])
    DocBin(docs=docs[half:]).to_disk(paths["eval"])
    pipeline, out = root / "calibrated", root / "metrics"
    calibrate = ["calibrate", str(en_pipeline_dir), str(paths["fit"]), str(pipeline)]
    calibrate += ["--heldout", "0", "--min-precision", "0.9"]
    result = CliRunner().invoke(app, calibrate)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        app, ["evaluate", str(pipeline), str(paths["eval"]), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return {"pipeline": pipeline, "out": out, "gold": docs[half:], "output": result.output}


@pytest.mark.slow
def test_confidence_section_files_and_json(calibrated_on_half: dict[str, Any]) -> None:
    out = calibrated_on_half["out"]
    scores = read_json(out / "scores.json")
    confidence = scores["confidence"]
    assert set(confidence) == CONFIDENCE_KEYS
    assert confidence["entity_scorer"] == "albert_entity_scorer"
    assert confidence["calibrator"] == "albert_calibrator" and confidence["fitted"]
    assert list(confidence["heads"]) == ["textcat", "ner"]
    for name, kind in (("textcat", "exclusive"), ("ner", "entities")):
        head = confidence["heads"][name]
        assert set(head) == HEAD_KEYS and head["kind"] == kind and head["calibrated"]
        assert head["n_predictions"] > 0
        assert 0.0 <= head["ece_raw"] <= 1.0 and 0.0 <= head["ece_calibrated"] <= 1.0
    assert set(confidence["entity_threshold"]) == THRESHOLD_KEYS
    assert confidence["entity_threshold"]["min_precision"] == 0.9
    files = scores["files"]
    assert files["reliability"] == {
        "textcat": "reliability_textcat.png",
        "ner": "reliability_ner.png",
    }
    assert files["precision_recall"] == "precision_recall_ner.png"
    for name in (*files["reliability"].values(), files["precision_recall"]):
        assert_png(out / name)
        assert name in calibrated_on_half["output"]  # "Saved to ..." lists it
    report = (out / "report.md").read_text("utf8")
    section = report.split("## Confidence", 1)[1]
    assert "| textcat | exclusive |" in section and "| ner | entities |" in section
    assert "![textcat reliability diagram](reliability_textcat.png)" in section
    assert "![ner reliability diagram](reliability_ner.png)" in section
    assert "![entity precision-recall curve](precision_recall_ner.png)" in section
    assert "chosen on dev for precision >= 0.9" in section
    assert "Calibration per head" in calibrated_on_half["output"]


@pytest.mark.slow
def test_ece_and_threshold_equal_direct_counts(calibrated_on_half: dict[str, Any]) -> None:
    confidence = read_json(calibrated_on_half["out"] / "scores.json")["confidence"]
    nlp = spacy.load(calibrated_on_half["pipeline"])
    gold = calibrated_on_half["gold"]
    for name, direct in direct_outcomes(nlp, gold).items():
        head = confidence["heads"][name]
        assert head["n_predictions"] == len(direct["correct"])
        n_bins = confidence["n_bins"]
        raw = expected_calibration_error(direct["raw"], direct["correct"], n_bins)
        after = expected_calibration_error(direct["calibrated"], direct["correct"], n_bins)
        assert head["ece_raw"] == pytest.approx(raw, abs=1e-9)
        assert head["ece_calibrated"] == pytest.approx(after, abs=1e-9)
    threshold = confidence["entity_threshold"]
    assert threshold["min_score"] == nlp.get_pipe("albert_calibrator").min_score is not None
    precision, recall, kept = counted_threshold(nlp, gold, threshold["min_score"])
    assert threshold["precision"] == pytest.approx(precision, abs=1e-12)
    assert threshold["recall"] == pytest.approx(recall, abs=1e-12)
    assert threshold["kept"] == kept


def test_pipeline_without_confidence_components_gets_the_hint(
    tiny_pipeline: dict[str, Any], tmp_path: Path
) -> None:
    args = ["evaluate", str(tiny_pipeline["model_dir"]), str(tiny_pipeline["dev_path"])]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "python -m spacy_albert calibrate" in " ".join(result.output.split())
    scores = read_json(tmp_path / "scores.json")
    assert scores["confidence"] is None
    assert scores["files"]["reliability"] == {} and scores["files"]["precision_recall"] is None
    section = (tmp_path / "report.md").read_text("utf8").split("## Confidence", 1)[1]
    assert "no `albert_entity_scorer` or `albert_calibrator`" in section
    assert "`python -m spacy_albert calibrate PIPELINE dev.spacy CALIBRATED" in section
    assert not list(tmp_path.glob("reliability_*.png"))


def test_entity_scorer_without_calibrator_reports_raw_ece(
    tiny_pipeline: dict[str, Any], tmp_path: Path
) -> None:
    """Scores but no calibration: raw ECE only, no stored threshold, and the note says
    how to fit one."""
    nlp = spacy.load(tiny_pipeline["model_dir"])
    nlp.add_pipe(ENTITY_SCORER, after="ner")
    gold = list(DocBin().from_disk(tiny_pipeline["dev_path"]).get_docs(nlp.vocab))
    result = evaluate_pipeline(nlp, [Example(nlp.make_doc(d.text), d) for d in gold], tmp_path)
    confidence = result.confidence
    assert confidence is not None and not confidence.fitted and confidence.calibrator is None
    ner = confidence.heads["ner"]
    assert (ner.kind, ner.calibrated, ner.ece_calibrated) == ("entities", False, None)
    direct = direct_outcomes_uncalibrated(nlp, gold)
    assert ner.n_predictions == len(direct["correct"]) > 0
    expected = expected_calibration_error(direct["raw"], direct["correct"], confidence.n_bins)
    assert ner.ece_raw == pytest.approx(expected, abs=1e-12)
    assert confidence.heads["textcat"].calibrated is False
    threshold = confidence.entity_threshold
    assert threshold is not None and threshold.min_score is None and threshold.precision is None
    assert threshold.n_gold == 10
    assert_png(tmp_path / "reliability_ner.png")
    assert_png(tmp_path / "precision_recall_ner.png")
    section = (tmp_path / "report.md").read_text("utf8").split("## Confidence", 1)[1]
    assert "| ner | entities |" in section and "not calibrated" in section
    assert "has no `albert_calibrator`" in section and "No entity min score is stored" in section
    assert (
        read_json(tmp_path / "scores.json")["confidence"]["heads"]["ner"]["ece_calibrated"] is None
    )


def test_report_notes_what_is_missing() -> None:
    """A fitted calibrator without an entity scorer on a pipeline with a ner: the
    entities carry no score, and a stored threshold nobody reached is explained."""
    ents = EntityScores(["ner"], 1, 0, 1, 1, 1.0, 1.0, 1.0, {})
    result = make_result({}, ents=ents)
    result.confidence = ConfidenceScores(
        entity_scorer=None,
        calibrator="albert_calibrator",
        fitted=False,
        n_bins=10,
        heads={"sentiment": HeadCalibration("exclusive", 7, False, 0.25, None)},
        entity_threshold=EntityThresholdScores(None, 0.95, None, None, 0, 3),
    )
    section = render_markdown(result).split("## Confidence", 1)[1]
    assert "| sentiment | exclusive | 7 | 0.2500 | not calibrated |" in section
    assert "has an unfitted `albert_calibrator`" in section
    assert "Entities carry no score" in section
    assert "no score reached precision 0.95" in section
