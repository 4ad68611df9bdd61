"""Integrated-gradients explanations: exact head path, completeness, determinism,
faithfulness on the trained demo pipeline, HTML/JSON output and the CLI."""

import html
import json
import os
import subprocess
import sys

import pytest
import spacy
import torch
from spacy.training import Example

from spacy_albert.explain.attribution import deletion_check, explain, render_html
from tests.conftest import CONFIGS, CORPUS, ROOT

TEXT = "The speech by Minister Marcus Thorne in Cork was a complete disaster."
DEV = [json.loads(line) for line in (CORPUS / "en" / "dev.jsonl").open(encoding="utf8")]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread(en_nlp):
    """One PyTorch thread: on a shared 2-core machine that is ~30x faster for a tiny model.

    Depends on `en_nlp` so that the session's training has already run with the default.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def relative_error(target) -> float:
    change = target.score - target.baseline_score
    return abs(target.delta) / abs(change)


def test_scores_and_entities_are_the_pipeline_s(en_nlp):
    doc = en_nlp(TEXT)
    explanation = explain(en_nlp, TEXT, n_steps=4)
    cats = {t.label: t.score for t in explanation.targets if t.kind == "textcat"}
    assert cats.keys() == doc.cats.keys()
    for label, score in doc.cats.items():
        assert cats[label] == pytest.approx(score, abs=1e-4)
    ents = {(t.start, t.end, t.label) for t in explanation.targets if t.kind == "entity"}
    assert ents == {(e.start, e.end, e.label_) for e in doc.ents}
    assert ents, "the demo text should have a predicted entity"
    for target in explanation.targets:
        assert len(target.attributions) == len(doc)
        assert 0.0 <= target.score <= 1.0 and 0.0 <= target.baseline_score <= 1.0


def test_deterministic(en_nlp):
    first = explain(en_nlp, TEXT, n_steps=16).to_dict()
    second = explain(en_nlp, TEXT, n_steps=16).to_dict()
    assert first == second


@pytest.mark.parametrize("index", [1, 5, 12, 40])
def test_completeness(en_nlp, index):
    """Σ attributions ≈ f(input) − f(baseline), for categories and entities alike.

    Entity probabilities (products of move probabilities) can jump from 1e-12 to 1 along
    the path, so they need more steps than categories (see docs/ray_and_explain.md).
    """
    explanation = explain(en_nlp, DEV[index]["text"], n_steps=128)
    checked = 0
    for target in explanation.targets:
        if abs(target.score - target.baseline_score) < 0.05:
            continue
        assert relative_error(target) < 0.05, target.to_dict()
        checked += 1
    assert checked


def test_more_steps_converge(en_nlp):
    """The head path is differentiated exactly: with enough steps the error vanishes."""
    coarse = explain(en_nlp, TEXT, n_steps=4)
    fine = explain(en_nlp, TEXT, n_steps=128)
    assert max(relative_error(t) for t in coarse.targets) > 1e-3
    assert max(relative_error(t) for t in fine.targets) < 1e-3


def test_pipeline_left_unchanged(en_nlp):
    before = en_nlp(TEXT).cats
    heads = [en_nlp.get_pipe(name).model for name in ("textcat", "ner")]
    grads_before = [[dict(n._params._grads) for n in model.walk()] for model in heads]
    explain(en_nlp, TEXT, n_steps=4)
    grads_after = [[dict(n._params._grads) for n in model.walk()] for model in heads]
    assert [[g.keys() for g in m] for m in grads_after] == [
        [g.keys() for g in m] for m in grads_before
    ]
    assert en_nlp(TEXT).cats == before


def test_labels_filter_and_unknown_label(en_nlp):
    only = explain(en_nlp, TEXT, labels=["NEGATIVE"], n_steps=4)
    assert [(t.kind, t.label) for t in only.targets] == [("textcat", "NEGATIVE")]
    ents = explain(en_nlp, TEXT, labels=["PER"], n_steps=4)
    assert ents.targets and all(t.kind == "entity" for t in ents.targets)
    with pytest.raises(ValueError, match="Unknown labels"):
        explain(en_nlp, TEXT, labels=["NOPE"])


def test_empty_text(en_nlp):
    explanation = explain(en_nlp, "", n_steps=4)
    assert explanation.targets == [] and explanation.tokens == []
    assert "Nothing to explain" in explanation.to_html()


def test_faithfulness_deleting_top_tokens(en_nlp):
    """Deleting the 2 most positively attributed tokens lowers the predicted label's
    probability more than deleting 2 random tokens, on average over the dev set."""
    result = deletion_check(en_nlp, [r["text"] for r in DEV], k=2, n_steps=16, seed=0)
    assert result["n"] > 0.9 * len(DEV)
    assert result["drop_top"] > result["drop_random"] + 0.05, result
    assert result["share_top_larger"] > 0.5, result


def test_html_has_every_token_and_label(en_nlp):
    text = 'Fans in Lisbon loved the "excellent" match & coach Daniel Ortiz <praised> it.'
    explanation = explain(en_nlp, text, n_steps=8)
    page = render_html(explanation)
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    for token in explanation.tokens:
        assert f">{html.escape(token)}</span>" in page
    for target in explanation.targets:
        assert f'data-label="{html.escape(target.label)}"' in page
        assert html.escape(target.title) in page
    assert page.count('<section class="target"') == len(explanation.targets)
    assert "raises the score" in page and "lowers the score" in page
    assert "<praised>" not in page
    fragment = explanation.to_html(page=False)
    assert "<html" not in fragment and "<style>" in fragment


def test_json_round_trip(en_nlp, tmp_path):
    explanation = explain(en_nlp, TEXT, n_steps=8)
    path = tmp_path / "out.json"
    explanation.to_json(path)
    data = json.loads(path.read_text(encoding="utf8"))
    assert [t["text"] for t in data["tokens"]] == explanation.tokens
    assert data["method"] == "integrated_gradients" and data["n_steps"] == 8
    for saved, target in zip(data["targets"], explanation.targets):
        assert saved["label"] == target.label
        assert saved["attributions"] == pytest.approx(target.attributions)
        assert saved["delta"] == pytest.approx(target.delta)


def test_multilabel_textcat(en_model_dir):
    """textcat_multilabel (sigmoid outputs) through the same machinery, untrained."""
    config = spacy.util.load_config(
        CONFIGS / "textcat_multilabel.cfg",
        overrides={"paths.transformer": str(en_model_dir)},
        interpolate=True,
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    labels = ("BUSINESS", "POLITICS", "SPORTS")
    examples = [
        Example.from_dict(nlp.make_doc(r["text"]),
                          {"cats": {lb: float(lb in r["topics"]) for lb in labels}})
        for r in DEV[:8]
    ]
    nlp.initialize(lambda: examples)
    doc = nlp(TEXT)
    explanation = explain(nlp, TEXT, n_steps=64)
    assert {t.label for t in explanation.targets} == set(labels)
    for target in explanation.targets:
        assert target.score == pytest.approx(doc.cats[target.label], abs=1e-4)
        change = abs(target.score - target.baseline_score)
        assert abs(target.delta) <= 0.05 * max(change, 1e-3), target.to_dict()


def test_cli_end_to_end(en_pipeline_dir, tmp_path):
    page, data = tmp_path / "page.html", tmp_path / "out.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "spacy_albert", "explain", str(en_pipeline_dir), TEXT,
         "--label", "NEGATIVE", "--label", "PER", "--out", str(page), "--json", str(data),
         "--steps", "8"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "textcat: NEGATIVE" in result.stdout and "PER" in result.stdout
    saved = json.loads(data.read_text(encoding="utf8"))
    assert {t["label"] for t in saved["targets"]} == {"NEGATIVE", "PER"}
    assert "Marcus" in page.read_text(encoding="utf8")


def test_cli_unknown_label(en_pipeline_dir):
    from typer.testing import CliRunner

    from spacy_albert.cli import app

    result = CliRunner().invoke(app, ["explain", str(en_pipeline_dir), TEXT, "--label", "NOPE"])
    assert result.exit_code == 1
    assert "Unknown labels" in result.output
