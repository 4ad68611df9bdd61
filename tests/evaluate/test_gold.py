"""`spacy_albert.evaluate.gold`: which docs count for which task, and one rule for gold
cats shared with the `albert_textcat` scorer, so that `spacy evaluate` and
`python -m spacy_albert evaluate` report the same scores on the same data."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.cli.evaluate import evaluate as spacy_evaluate
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import fix_random_seed
from spacy.vocab import Vocab

import spacy_albert.pipeline.textcat
from spacy_albert.evaluate import (
    evaluate_pipeline,
    has_gold_cats,
    has_ner_annotation,
    score_entities,
    with_gold_cats,
    with_ner_annotation,
)
from tests.evaluate.conftest import make_doc


def test_docs_without_ner_annotation_do_not_count(vocab: Vocab) -> None:
    words = "Mary loves Paris".split()
    per = [(0, 1, "PER")]
    annotated = Example(make_doc(vocab, words, per), make_doc(vocab, words, per))
    # textcat-only docs: spurious predictions would be false positives if they counted
    unannotated = [
        Example(make_doc(vocab, words, [(0, 1, "PER"), (2, 3, "LOC")]),
                make_doc(vocab, words, cats={"POS": 1.0}))
        for _ in range(3)
    ]
    assert has_ner_annotation(annotated.reference)
    assert not has_ner_annotation(unannotated[0].reference)
    assert has_ner_annotation(make_doc(vocab, words, []))  # all "O" is annotation
    assert with_ner_annotation([annotated, *unannotated]) == [annotated]
    scores = score_entities([annotated, *unannotated])
    assert (scores.n_docs, scores.n_docs_excluded) == (1, 3)
    assert (scores.ents_p, scores.ents_r, scores.ents_f) == pytest.approx((1.0, 1.0, 1.0))
    assert set(scores.ents_per_type) == {"PER"}
    assert scores.n_pred == 1


def test_gold_cats_rule(vocab: Vocab) -> None:
    doc = make_doc(vocab, ["x"], cats={"A": 0.0, "POS": 1.0})
    assert has_gold_cats(doc, ["A", "B"], multi_label=True)
    assert not has_gold_cats(doc, ["A", "B"], multi_label=False)  # no positive exclusive label
    assert has_gold_cats(doc, ["POS", "NEG"], multi_label=False)
    assert not has_gold_cats(make_doc(vocab, ["x"]), ["POS"], multi_label=True)
    # all-zero cats: no gold class for an exclusive classifier, "no label" for a multi-label one
    zeros = make_doc(vocab, ["x"], cats={"POS": 0.0, "NEG": 0.0})
    assert not has_gold_cats(zeros, ["POS", "NEG"], multi_label=False)
    assert has_gold_cats(zeros, ["POS", "NEG"], multi_label=True)
    egs = [Example(make_doc(vocab, ["x"]), d) for d in (doc, zeros, make_doc(vocab, ["x"]))]
    assert with_gold_cats(egs, ["POS", "NEG"], multi_label=False) == egs[:1]
    assert with_gold_cats(egs, ["POS", "NEG"], multi_label=True) == egs[:2]


def test_one_gold_cats_rule_for_the_component_and_the_evaluation() -> None:
    assert has_gold_cats is spacy_albert.pipeline.textcat.has_gold_cats


SENTIMENT = ("POS", "NEG")
TOPICS = ("SPORTS", "POLITICS")


def _sentiment(label: str) -> dict[str, float]:
    return {name: float(name == label) for name in SENTIMENT}


def _docs(vocab: Vocab, dev: bool) -> list[Doc]:
    docs = [
        make_doc(vocab, "Alice lives in Paris".split(), [(0, 1, "PER"), (3, 4, "LOC")]),
        make_doc(vocab, "Bob visited Berlin".split(), [(0, 1, "PER"), (2, 3, "LOC")]),
        make_doc(vocab, "I love this film".split(), cats=_sentiment("POS")),
        make_doc(vocab, "I hate this film".split(), cats=_sentiment("NEG")),
        make_doc(vocab, "what a great game".split(), cats={"SPORTS": 1.0, "POLITICS": 0.0}),
        make_doc(vocab, "the vote in parliament".split(), cats={"SPORTS": 0.0, "POLITICS": 1.0}),
        make_doc(vocab, "a match and a vote".split(), cats={"SPORTS": 1.0, "POLITICS": 1.0}),
    ]
    if dev:
        ents = [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
        docs += [
            make_doc(vocab, "Carol met Dave in Rome".split(), ents),
            make_doc(vocab, "a great film".split(), cats=_sentiment("POS")),
            make_doc(vocab, "a terrible film".split(), cats=_sentiment("NEG")),
            # all-zero cats: no sentiment class (excluded), but "no topic" is gold
            make_doc(vocab, "the weather today".split(), cats={"POS": 0.0, "NEG": 0.0}),
            make_doc(vocab, "the bakery opened".split(), cats={"SPORTS": 0.0, "POLITICS": 0.0}),
            make_doc(vocab, "it rained".split(), cats=dict.fromkeys(SENTIMENT + TOPICS, 0.0)),
            # no cats and no NER annotation at all
            make_doc(vocab, "nothing annotated".split()),
        ]
    return docs


@pytest.fixture(scope="module")
def joint_pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """CNN ner + albert_textcat (exclusive sentiment) + textcat_multilabel (topics)
    trained on a joint set, saved, with a dev set that has all-zero cats."""
    fix_random_seed(0)
    root = tmp_path_factory.mktemp("joint")
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    nlp.add_pipe("albert_textcat")
    nlp.add_pipe("textcat_multilabel")
    nlp.config["initialize"]["components"] = {
        "albert_textcat": {"labels": list(SENTIMENT)},
        "textcat_multilabel": {"labels": list(TOPICS)},
    }
    train = [Example(nlp.make_doc(d.text), d) for d in _docs(nlp.vocab, dev=False)]
    optimizer = nlp.initialize(lambda: train)
    for _ in range(15):
        nlp.update(train, sgd=optimizer)
    nlp.to_disk(root / "model")
    DocBin(docs=_docs(nlp.vocab, dev=True)).to_disk(root / "dev.spacy")
    return root / "model", root / "dev.spacy"


def test_spacy_evaluate_and_ours_agree(joint_pipeline: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, dev_path = joint_pipeline
    theirs = spacy_evaluate(str(model_dir), dev_path, per_component=True)
    ours = evaluate_pipeline(spacy.load(model_dir), dev_path, tmp_path)
    assert ours.ents is not None
    for key in ("ents_p", "ents_r", "ents_f"):
        assert getattr(ours.ents, key) == pytest.approx(theirs["ner"][key])
    sentiment, topics = ours.cats["albert_textcat"], ours.cats["textcat_multilabel"]
    # the two all-zero sentiment docs have no gold class; all-zero topics are gold "no topic"
    assert (sentiment.n_docs, sentiment.n_docs_excluded) == (4, 10)
    assert (topics.n_docs, topics.n_docs_excluded) == (5, 9)
    for name, cats in (("albert_textcat", sentiment), ("textcat_multilabel", topics)):
        spacy_scores = theirs[name]
        for key in ("macro_p", "macro_r", "macro_f", "micro_p", "micro_r", "micro_f", "score"):
            assert getattr(cats, key) == pytest.approx(spacy_scores[f"cats_{key}"]), (name, key)
        assert cats.macro_auc == pytest.approx(spacy_scores["cats_macro_auc"])
        for label, values in cats.per_label.items():
            expected = spacy_scores["cats_f_per_type"][label]
            assert (values.p, values.r, values.f) == pytest.approx(
                (expected["p"], expected["r"], expected["f"])
            )
            assert values.auc == pytest.approx(spacy_scores["cats_auc_per_type"][label])
