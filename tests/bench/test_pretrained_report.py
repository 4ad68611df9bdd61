"""bench/pretrained_report.py reads the workflow's scores and training logs correctly."""

import json
from pathlib import Path

import pytest

from bench.pretrained_report import collect, split_scores, training_summary
from bench.render_deploy import RESULTS
from bench.render_quality import pretrained_section
from tests.bench.conftest import run_block


def scores(ents_f: float) -> dict:
    return {
        "n_examples": 10,
        "ents": {"ents_p": 0.9, "ents_r": 0.8, "ents_f": ents_f, "n_gold": 5, "n_docs": 10,
                 "ents_per_type": {"PER": {"p": 1.0, "r": 1.0, "f": 1.0}}},
        "ents_seqeval": {"f": ents_f},
        "cats": {"textcat": {"accuracy": 0.75, "macro_f": 0.7, "n_docs": 4, "labels": []}},
    }


def write_run(root: Path, run: str, ents_f: float) -> None:
    for split in ("dev", "test"):
        path = root / "metrics" / run / split / "scores.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(scores(ents_f)))
    log = root / "training" / run / "log.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("\n".join(json.dumps(r) for r in (
        {"step": 0, "words": 0, "seconds": 0, "score": 0.1},
        {"step": 500, "words": 40_000, "seconds": 50, "score": 0.8},
        {"step": 1000, "words": 80_000, "seconds": 100, "score": 0.7},
    )))


def test_collect_reads_scores_and_logs(tmp_path: Path):
    write_run(tmp_path, "albert_document", 0.85)
    systems = collect("document", tmp_path / "metrics", tmp_path / "training")
    assert set(systems) == {"albert"}  # no cnn run yet: left out, not invented
    albert = systems["albert"]
    assert albert["training"] == {"steps": 1000, "words": 80_000, "seconds": 100,
                                  "words_per_s": 800.0, "best_step": 500}
    assert albert["test"]["ents"]["f"] == 0.85
    assert albert["test"]["cats"]["textcat"] == {"accuracy": 0.75, "macro_f": 0.7, "n_docs": 4}


def test_split_scores_without_entities():
    assert "ents" not in split_scores({"n_examples": 3, "ents": None, "cats": {}})


def test_empty_log_and_missing_runs_are_errors(tmp_path: Path):
    empty = tmp_path / "log.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="no evaluation records"):
        training_summary(empty)
    with pytest.raises(SystemExit, match="en-pretrained"):
        collect("sentence", tmp_path / "metrics", tmp_path / "training")


def test_calibration_report_is_collected_and_rendered(tmp_path: Path):
    write_run(tmp_path, "albert_document", 0.85)
    report = {
        "measured_on": "2052 evaluation docs (fitted on 1122 dev docs)",
        "heads": [{"name": "textcat", "kind": "exclusive", "setting": "T=1.3", "n_fit": 872,
                   "n_measured": 1821, "ece_before": 0.08, "ece_after": 0.02}],
        "entity_threshold": {"min_precision": 0.9, "threshold": 0.4, "fit_precision": 0.91,
                             "fit_recall": 0.8, "precision": 0.89, "recall": 0.7, "kept": 9},
        "calibration": {},
    }
    path = tmp_path / "metrics" / "albert_document" / "calibration" / "calibration.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    systems = collect("document", tmp_path / "metrics", tmp_path / "training")
    assert systems["albert"]["calibration"]["heads"][0]["ece_after"] == 0.02
    results = {"context": "document", "systems": systems,
               "run": run_block("python -m bench.pretrained_report")}
    text = "\n".join(pretrained_section(results, RESULTS / "en_pretrained_x.json"))
    assert "| textcat | exclusive | T=1.3 | 1821 | 0.0800 | 0.0200 |" in text
    assert "test precision 89.0, recall 70.0" in text
