"""Integrated-gradients explanations: exact head path, completeness (ours and captum's),
determinism, label filters, and the pipeline left as it was."""

import pytest
import spacy
from spacy.training import Example

from spacy_albert.explain import explain
from tests.conftest import CONFIGS
from tests.explain.conftest import DEV, TEXT

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def relative_error(target) -> float:
    change = target.score - target.baseline_score
    return abs(target.delta) / abs(change)


def assert_captum_agrees(target) -> None:
    """captum's convergence delta (over pieces) is the token-level completeness error."""
    assert target.convergence_delta is not None
    assert target.convergence_delta == pytest.approx(target.delta, rel=1e-5, abs=1e-5), (
        target.to_dict()
    )


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
        assert_captum_agrees(target)
        if abs(target.score - target.baseline_score) < 0.05:
            continue
        assert relative_error(target) < 0.05, target.to_dict()
        assert abs(target.convergence_delta) < 0.05 * abs(target.score - target.baseline_score)
        checked += 1
    assert checked


def test_more_steps_converge(en_nlp):
    """The head path is differentiated exactly: with enough steps the error vanishes."""
    coarse = explain(en_nlp, TEXT, n_steps=4)
    fine = explain(en_nlp, TEXT, n_steps=128)
    assert max(relative_error(t) for t in coarse.targets) > 1e-3
    assert max(relative_error(t) for t in fine.targets) < 1e-3
    for target in fine.targets:
        assert_captum_agrees(target)


def test_batch_size_does_not_change_the_result(en_nlp):
    """Integration steps split over several encoder passes add up to the same numbers."""
    whole = explain(en_nlp, TEXT, n_steps=16, batch_size=16)
    split = explain(en_nlp, TEXT, n_steps=16, batch_size=5)
    for a, b in zip(whole.targets, split.targets):
        assert a.attributions == pytest.approx(b.attributions, abs=1e-6)


def test_zero_baseline(en_nlp):
    """The zero-vector baseline is equally complete; it differs from the [PAD] baseline
    only where [PAD]'s embedding is not zero (HF ALBERT keeps that row at zero:
    `padding_idx`, so for the tiny model the two agree)."""
    pad = explain(en_nlp, TEXT, labels=["NEGATIVE"], n_steps=64)
    zero = explain(en_nlp, TEXT, labels=["NEGATIVE"], n_steps=64, baseline="zero")
    assert zero.baseline == "zero"
    assert pad.targets[0].score == pytest.approx(zero.targets[0].score)
    assert_captum_agrees(zero.targets[0])
    assert zero.targets[0].is_complete()
    trf = en_nlp.get_pipe("transformer").model
    pad_row = trf.transformer.get_input_embeddings().weight[trf.tokenizer.pad_token_id]
    same = zero.targets[0].attributions == pytest.approx(pad.targets[0].attributions, abs=1e-6)
    assert same == bool((pad_row == 0).all())
    with pytest.raises(ValueError, match="baseline must be one of"):
        explain(en_nlp, TEXT, baseline="mask")


def grads_and_attrs(model) -> list:
    return [
        ({name: node.get_grad(name).copy() for name in node.grad_names}, dict(node.attrs))
        for node in model.walk()
    ]


def test_pipeline_left_unchanged(en_nlp):
    before = en_nlp(TEXT).cats
    heads = [en_nlp.get_pipe(name).model for name in ("textcat", "ner")]
    grads_before = [grads_and_attrs(model) for model in heads]
    encoder = en_nlp.get_pipe("transformer").model.transformer
    training = encoder.training
    explain(en_nlp, TEXT, n_steps=4)
    grads_after = [grads_and_attrs(model) for model in heads]
    assert [[g.keys() for g, _ in m] for m in grads_after] == [
        [g.keys() for g, _ in m] for m in grads_before
    ]
    for model_before, model_after in zip(grads_before, grads_after):
        for (grads, attrs), (grads_now, attrs_now) in zip(model_before, model_after):
            assert attrs_now == attrs
            for name, grad in grads.items():
                assert (grads_now[name] == grad).all()
    assert encoder.training == training
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
        assert_captum_agrees(target)
