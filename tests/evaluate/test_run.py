"""`spacy_albert.evaluate.run.evaluate_pipeline` and `python -m spacy_albert evaluate`,
end to end on tiny CNN pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import fix_random_seed
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_albert.cli import app
from spacy_albert.evaluate import (
    EvaluationResult,
    evaluate_pipeline,
    find_ner_components,
    find_textcat_components,
)
from tests.evaluate.conftest import assert_png, make_doc, read_json


def test_component_detection(tiny_pipeline: dict[str, Any]) -> None:
    nlp: Language = tiny_pipeline["nlp"]
    assert find_ner_components(nlp) == ["ner"]
    (info,) = find_textcat_components(nlp)
    assert (info.name, info.factory, info.multi_label) == ("textcat", "textcat", False)
    assert set(info.labels) == {"POS", "NEG"}
    nlp2 = spacy.blank("en")
    nlp2.add_pipe("textcat_multilabel", config={"threshold": 0.3})
    (info2,) = find_textcat_components(nlp2)
    assert info2.multi_label and info2.threshold == pytest.approx(0.3)
    assert find_ner_components(nlp2) == []


def independent_scores(nlp: Language, dev_path: Path) -> dict[str, Any]:
    """The scores spaCy itself gives on each task's own subset of the dev set,
    plus an accuracy counted here."""
    docs = list(DocBin().from_disk(dev_path).get_docs(nlp.vocab))
    ner_egs = [Example(nlp.make_doc(d.text), d) for d in docs if d.has_annotation("ENT_IOB")]
    cat_egs = [Example(nlp.make_doc(d.text), d) for d in docs if d.cats]
    ner = nlp.evaluate(ner_egs)
    cats = nlp.evaluate(cat_egs)
    right = 0
    for eg in cat_egs:
        pred = nlp(eg.reference.text).cats
        gold = eg.reference.cats
        right += max(pred, key=pred.__getitem__) == max(gold, key=gold.__getitem__)
    polluted = nlp.evaluate([Example(nlp.make_doc(d.text), d) for d in docs])
    return {"ner": ner, "cats": cats, "accuracy": right / len(cat_egs), "polluted": polluted}


def check_scores(scores: dict[str, Any], expected: dict[str, Any]) -> None:
    """Check scores.json content against spaCy's own scores on each task's subset."""
    ents = scores["ents"]
    assert (ents["n_docs"], ents["n_docs_excluded"]) == (5, 5)
    assert ents["n_gold"] == 10
    assert ents["ents_per_type"]["PER"]["support"] == 5
    assert ents["ents_per_type"]["LOC"]["support"] == 5
    for key in ("ents_p", "ents_r", "ents_f"):
        assert ents[key] == pytest.approx(expected["ner"][key])
    assert scores["ents_seqeval"]["f"] == pytest.approx(ents["ents_f"], abs=1e-6)
    cats = scores["cats"]["textcat"]
    assert (cats["n_docs"], cats["n_docs_excluded"]) == (5, 5)
    assert cats["accuracy"] == pytest.approx(expected["accuracy"])
    for key in ("macro_p", "macro_r", "macro_f", "micro_f", "macro_auc"):
        assert cats[key] == pytest.approx(expected["cats"][f"cats_{key}"])
    assert cats["per_label"]["POS"]["support"] == 3
    assert cats["per_label"]["NEG"]["support"] == 2
    assert sum(map(sum, cats["confusion_matrix"]["matrix"])) == 5
    # a working classifier is not flagged
    assert cats["chance_level"] == []
    # scoring the mixed set as a whole lets the NER-only docs pollute the cats scores
    assert expected["polluted"]["cats_macro_p"] < cats["macro_p"]
    assert scores["speed"]["n_docs"] == 10
    assert scores["speed"]["n_words"] == 42
    assert scores["speed"]["words_per_second"] > 0


def test_evaluate_pipeline_writes_files(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    nlp: Language = tiny_pipeline["nlp"]
    out = tmp_path / "metrics"
    result = evaluate_pipeline(
        nlp, tiny_pipeline["dev_path"], out, train_log=tiny_pipeline["log_path"], displacy_limit=3
    )
    assert isinstance(result, EvaluationResult)
    expected = independent_scores(nlp, tiny_pipeline["dev_path"])
    on_disk = read_json(out / "scores.json")
    check_scores(on_disk, expected)
    # the memorised training docs must come out right
    assert expected["ner"]["ents_f"] > 0.5 and expected["accuracy"] >= 0.8
    assert on_disk == result.to_dict()
    assert result.heads_at_chance == {}
    assert on_disk["files"] == {
        "scores": "scores.json",
        "report": "report.md",
        "confusion": {"textcat": "confusion_textcat.png"},
        "entities_html": "entities.html",
        "training_curve": "training_curve.png",
    }
    assert_png(out / "confusion_textcat.png")
    assert_png(out / "training_curve.png")
    page = (out / "entities.html").read_text("utf8")
    assert page.startswith("<!DOCTYPE html>")
    assert "PER" in page and "LOC" in page and "Alice" in page
    assert "#2 predicted" in page and "#2 gold" in page
    assert "#3 predicted" not in page  # displacy_limit=3
    report = (out / "report.md").read_text("utf8")
    assert "## Entities" in report and "## Categories: `textcat`" in report
    assert "| PER |" in report and "| POS |" in report
    assert "![training curve](training_curve.png)" in report
    assert "chance" not in report


def test_scores_json_layout(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    """`EvaluationResult.to_dict()` keeps the scores.json layout of 0.1.0, plus the
    chance-level findings per classifier."""
    data = evaluate_pipeline(tiny_pipeline["nlp"], tiny_pipeline["dev_path"], tmp_path).to_dict()
    assert set(data) == {
        "pipeline", "data", "n_examples", "speed", "ents", "ents_seqeval", "cats", "files"
    }
    assert set(data["pipeline"]) == {"lang", "name", "version", "components"}
    assert set(data["speed"]) == {"words_per_second", "n_words", "n_docs", "seconds"}
    assert set(data["ents"]) == {
        "components", "n_docs", "n_docs_excluded", "n_gold", "n_pred",
        "ents_p", "ents_r", "ents_f", "ents_per_type",
    }
    assert set(data["ents"]["ents_per_type"]["PER"]) == {"p", "r", "f", "support"}
    assert set(data["ents_seqeval"]) == {
        "p", "r", "f", "per_type", "n_docs", "n_docs_retokenized", "mode"
    }
    cats = data["cats"]["textcat"]
    assert set(cats) == {
        "type", "labels", "threshold", "n_docs", "n_docs_excluded", "accuracy",
        "macro_p", "macro_r", "macro_f", "micro_p", "micro_r", "micro_f", "macro_auc",
        "score", "score_desc", "per_label", "confusion_matrix", "factory", "chance_level",
    }
    assert set(cats["per_label"]["POS"]) == {"p", "r", "f", "auc", "support"}
    assert set(cats["confusion_matrix"]) == {"rows", "columns", "labels", "matrix"}
    assert (cats["type"], cats["factory"]) == ("exclusive", "textcat")
    assert set(data["files"]) == {
        "scores", "report", "confusion", "entities_html", "training_curve"
    }


def test_evaluate_pipeline_examples_input_and_multilabel(vocab: Vocab, tmp_path: Path) -> None:
    """A pipeline with only a multi-label classifier: examples given as a list,
    no NER (no ents section, no HTML), 2x2 confusion per label."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("textcat_multilabel")
    docs = [
        make_doc(nlp.vocab, ["good", "fast"], cats={"GOOD": 1.0, "FAST": 1.0}),
        make_doc(nlp.vocab, ["bad", "slow"], cats={"GOOD": 0.0, "FAST": 0.0}),
        make_doc(nlp.vocab, ["good", "slow"], cats={"GOOD": 1.0, "FAST": 0.0}),
        make_doc(nlp.vocab, ["no", "cats"]),
    ]
    examples = [Example(nlp.make_doc(d.text), d) for d in docs]
    optimizer = nlp.initialize(lambda: examples[:3])
    for _ in range(20):
        nlp.update(examples[:3], sgd=optimizer)
    result = evaluate_pipeline(nlp, examples, tmp_path)
    assert result.ents is None and result.ents_seqeval is None
    cats = result.cats["textcat_multilabel"]
    assert (cats.n_docs, cats.n_docs_excluded) == (3, 1)
    blocks = cats.confusion_matrix.per_label
    assert sum(map(sum, blocks["GOOD"])) == 3 and sum(map(sum, blocks["FAST"])) == 3
    assert cats.per_label["GOOD"].support == 2 and cats.per_label["FAST"].support == 1
    assert cats.accuracy == pytest.approx(1.0)  # three memorised docs
    assert cats.chance_level == []
    on_disk = read_json(tmp_path / "scores.json")["cats"]["textcat_multilabel"]
    assert on_disk["hamming_accuracy"] == pytest.approx(1.0)
    assert set(on_disk["confusion_matrix"]) == {"layout", "per_label"}
    assert result.files.entities_html is None
    assert not (tmp_path / "entities.html").exists()
    assert_png(tmp_path / "confusion_textcat_multilabel.png")
    assert docs[0].cats == {"GOOD": 1.0, "FAST": 1.0}  # the gold docs are untouched


def test_cli_end_to_end(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "metrics"
    result = CliRunner().invoke(
        app,
        [
            "evaluate", str(tiny_pipeline["model_dir"]), str(tiny_pipeline["dev_path"]),
            "--output-dir", str(out), "--gpu-id", "-1", "--displacy-limit", "2",
            "--train-log", str(tiny_pipeline["log_path"]),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in ("Results", "NER (per type)", "textcat (exclusive, per label)",
                 "textcat confusion matrix", "PER", "LOC", "POS", "NEG", "Saved to"):
        assert text in result.output
    assert "chance" not in result.output
    for name in ("scores.json", "report.md", "confusion_textcat.png", "entities.html",
                 "training_curve.png"):
        assert name in result.output
    scores = read_json(out / "scores.json")
    expected = independent_scores(spacy.load(tiny_pipeline["model_dir"]), tiny_pipeline["dev_path"])
    check_scores(scores, expected)
    assert scores["data"] == str(tiny_pipeline["dev_path"])
    for name in ("confusion_textcat.png", "training_curve.png"):
        assert_png(out / name)
    page = (out / "entities.html").read_text("utf8")
    assert "#1 predicted" in page and "#2 predicted" not in page
    assert (out / "report.md").read_text("utf8").startswith("# Evaluation report")


@pytest.fixture(scope="module")
def collapsed_pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A textcat that only ever saw NEG docs: it predicts NEG for every doc, as a head
    stuck at chance does. The dev set has both classes."""
    fix_random_seed(0)
    root = tmp_path_factory.mktemp("collapsed")
    nlp = spacy.blank("en")
    nlp.add_pipe("textcat")
    nlp.config["initialize"]["components"] = {"textcat": {"labels": ["POS", "NEG"]}}
    neg = {"POS": 0.0, "NEG": 1.0}
    train = [
        Example(nlp.make_doc(text), make_doc(nlp.vocab, text.split(), cats=neg))
        for text in ("I hate this film", "What a terrible movie", "boring and slow")
    ]
    optimizer = nlp.initialize(lambda: train)
    for _ in range(10):
        nlp.update(train, sgd=optimizer)
    nlp.to_disk(root / "model")
    dev = [
        make_doc(nlp.vocab, text.split(), cats={"POS": float(pos), "NEG": float(not pos)})
        for text, pos in (("I love this film", True), ("a great movie", True),
                          ("I hate this film", False), ("a dull movie", False))
    ]
    DocBin(docs=dev).to_disk(root / "dev.spacy")
    return root / "model", root / "dev.spacy"


def test_cli_flags_a_head_at_chance(collapsed_pipeline: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, dev_path = collapsed_pipeline
    args = ["evaluate", str(model_dir), str(dev_path), "-o", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "textcat is at chance level" in output
    assert "predicts one class for every doc (NEG)" in output
    report = (tmp_path / "report.md").read_text("utf8")
    warning = "> **Warning:** `textcat` is at chance level: predicts one class for every doc (NEG)"
    assert warning in report
    findings = read_json(tmp_path / "scores.json")["cats"]["textcat"]["chance_level"]
    assert findings[0] == {"check": "one_class", "value": None, "chance": None, "answer": "NEG"}
    assert {finding["check"] for finding in findings} >= {"one_class", "macro_f"}
