"""`spacy_albert.evaluate.plots`: the training curve from spaCy's JSONL log and the
confusion matrices of both kinds of text classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spacy.vocab import Vocab

from spacy_albert.evaluate import plot_confusion, plot_training_curve, read_train_log, score_textcat
from tests.evaluate.conftest import (
    EXCLUSIVE,
    assert_png,
    exclusive_examples,
    multilabel_examples,
)

HAND_LOG = [
    {"epoch": 0, "step": 0, "losses": {"tok2vec": 0.0, "ner": 41.5, "textcat": 1.1},
     "scores": {"ents_f": 0.0, "ents_p": 0.0, "ents_r": 0.0, "cats_score": 40.0, "speed": 812.3},
     "score": 0.2},
    {"epoch": 0, "step": 200, "losses": {"tok2vec": 3.2, "ner": 18.0, "textcat": 0.7},
     "scores": {"ents_f": 55.0, "ents_p": 60.0, "ents_r": 50.8, "cats_score": 71.0, "speed": 950.0},
     "score": 0.63},
    {"epoch": 1, "step": 400, "losses": {"tok2vec": 1.9, "ner": 9.5, "textcat": 0.3},
     "scores": {"ents_f": 72.5, "ents_p": 74.0, "ents_r": 71.1, "cats_score": 84.0, "speed": 961.7},
     "score": 0.7825},
]


def test_training_curve_from_hand_written_log(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    # one truncated trailing line, as an interrupted run leaves it
    log.write_text("\n".join(json.dumps(r) for r in HAND_LOG) + '\n{"epoch": 1, "st', "utf8")
    records = read_train_log(log)
    assert [r["step"] for r in records] == [0, 200, 400]
    out = plot_training_curve(log, tmp_path / "training_curve.png")
    assert out == tmp_path / "training_curve.png"
    assert_png(out)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf8")
    with pytest.raises(ValueError, match="No training log records"):
        read_train_log(empty)


def test_spacy_logger_schema_is_read(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    records = read_train_log(tiny_pipeline["log_path"])
    assert [r["step"] for r in records] == [0, 14, 29]
    assert set(records[0]) == {"epoch", "step", "losses", "scores", "score"}
    assert set(records[0]["losses"]) == {"ner", "textcat"}
    assert {"ents_f", "cats_score"} <= set(records[0]["scores"])
    assert_png(plot_training_curve(tiny_pipeline["log_path"], tmp_path / "curve.png"))


def test_confusion_plots(vocab: Vocab, tmp_path: Path) -> None:
    exclusive = score_textcat(exclusive_examples(vocab), EXCLUSIVE, multi_label=False)
    assert_png(plot_confusion("sentiment", exclusive, tmp_path / "exclusive.png"))
    multilabel = score_textcat(multilabel_examples(vocab), ("A", "B"), multi_label=True)
    assert_png(plot_confusion("topics", multilabel, tmp_path / "multilabel.png"))
