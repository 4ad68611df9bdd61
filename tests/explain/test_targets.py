"""The result types: completeness error, rankings, JSON."""

import json

import pytest

from spacy_albert.explain import Explanation, Target, explain, top_tokens
from tests.explain.conftest import TEXT


def make_explanation() -> Explanation:
    tokens = ["Fans", "loved", "it", "."]
    target = Target(kind="textcat", component="textcat", label="POSITIVE", score=0.9,
                    baseline_score=0.4, attributions=[0.1, 0.5, -0.2, 0.05])
    entity = Target(kind="entity", component="ner", label="PER", score=0.8,
                    baseline_score=0.0, attributions=[0.7, 0.0, 0.0, 0.0], start=0, end=1,
                    text="Fans", start_char=0, end_char=4)
    return Explanation("Fans loved it.", tokens, [" ", " ", "", ""], [target, entity],
                       n_steps=8)


def test_delta_and_completeness():
    target, entity = make_explanation().targets
    assert target.delta == pytest.approx(0.45 - 0.5)
    assert not target.is_complete()
    assert target.is_complete(tolerance=0.2)
    assert entity.delta == pytest.approx(-0.1)
    flat = Target(kind="textcat", component="textcat", label="X", score=0.5,
                  baseline_score=0.5, attributions=[0.1])
    assert flat.is_complete(), "a change below min_change is not checked"


def test_rankings_and_titles():
    explanation = make_explanation()
    target, entity = explanation.targets
    assert target.strongest(2) == [1, 2]
    assert top_tokens(target, explanation.tokens, k=2) == [("loved", 0.5), ("Fans", 0.1)]
    assert target.title == "textcat: POSITIVE"
    assert entity.title == "ner: PER 'Fans'"
    assert explanation.get("PER") == [entity]
    assert explanation.get("PER", "textcat") == []
    assert explanation.text_without({1}) == "Fans it."


def test_to_dict_fields():
    data = make_explanation().to_dict()
    assert data["method"] == "integrated_gradients" and data["baseline"] == "pad"
    textcat, entity = data["targets"]
    assert "start" not in textcat
    assert entity["start"] == 0 and entity["end_char"] == 4
    assert textcat["convergence_delta"] is None


@pytest.mark.usefixtures("one_torch_thread")
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
        assert saved["convergence_delta"] == pytest.approx(target.convergence_delta)
