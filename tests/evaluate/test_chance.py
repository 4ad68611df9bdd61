"""`spacy_albert.evaluate.chance`: a classifier at chance level is flagged (issue 13,
item 4), a working one is not."""

from __future__ import annotations

import pytest
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_albert.evaluate import ChanceFinding, chance_level, score_textcat
from spacy_albert.evaluate.chance import CHANCE_AUC_MARGIN
from spacy_albert.evaluate.report import describe_chance
from tests.evaluate.conftest import (
    EXCLUSIVE,
    exclusive_examples,
    make_doc,
    multilabel_examples,
)


def examples(vocab: Vocab, rows: list[tuple[dict[str, float], dict[str, float]]]) -> list[Example]:
    """One example per (gold cats, predicted cats)."""
    return [
        Example(make_doc(vocab, ["some", "text"], cats=pred), make_doc(vocab, ["t"], cats=gold))
        for gold, pred in rows
    ]


def one_hot(label: str, labels: tuple[str, ...] = EXCLUSIVE) -> dict[str, float]:
    return {name: float(name == label) for name in labels}


def test_exclusive_head_predicting_one_class_for_every_doc_is_flagged(vocab: Vocab) -> None:
    # what a collapsed head does: the same class wins everywhere, with near-uniform scores
    collapsed = {"POS": 0.32, "NEG": 0.36, "NEU": 0.32}
    gold = ["POS", "POS", "NEG", "NEU", "NEU", "POS"]
    scores = score_textcat(
        examples(vocab, [(one_hot(label), collapsed) for label in gold]),
        EXCLUSIVE,
        multi_label=False,
    )
    checks = {finding.check: finding for finding in scores.chance_level}
    assert checks["one_class"] == ChanceFinding(check="one_class", answer="NEG")
    # macro F: NEG P 1/6, R 1 -> F 2/7, others 0; random guessing at the gold rates
    # (3/6, 1/6, 2/6) has P = R = F = the rate of each label: 1/3 on average
    assert checks["macro_f"].value == pytest.approx((2 / 7) / 3)
    assert checks["macro_f"].chance == pytest.approx(1 / 3)
    # identical scores on every doc rank nothing: AUC 0.5 for each label
    assert checks["auc"].value == pytest.approx(0.5)
    assert checks["auc"].chance == pytest.approx(0.5 + CHANCE_AUC_MARGIN)
    assert chance_level(scores) == scores.chance_level


def test_coin_flip_ranking_is_flagged(vocab: Vocab) -> None:
    """Two classes predicted, but the scores rank positives and negatives no better
    than a coin."""
    labels = ("POS", "NEG")
    rows = [("POS", 0.9), ("NEG", 0.8), ("POS", 0.2), ("NEG", 0.3)]
    scores = score_textcat(
        examples(vocab, [(one_hot(g, labels), {"POS": p, "NEG": 1 - p}) for g, p in rows]),
        labels,
        multi_label=False,
    )
    assert scores.macro_f == pytest.approx(0.5)  # as random guessing at 50/50: at chance too
    assert [finding.check for finding in scores.chance_level] == ["macro_f", "auc"]
    assert scores.chance_level[1].value == pytest.approx(0.5)


def test_multilabel_head_giving_every_doc_the_same_labels_is_flagged(vocab: Vocab) -> None:
    labels = ("A", "B")
    gold = [{"A": 1.0, "B": 0.0}, {"A": 0.0, "B": 1.0}, {"A": 1.0, "B": 1.0}, {"A": 0.0, "B": 0.0}]
    scores = score_textcat(
        examples(vocab, [(cats, {"A": 0.7, "B": 0.1}) for cats in gold]),
        labels,
        multi_label=True,
    )
    checks = {finding.check: finding for finding in scores.chance_level}
    assert checks["same_labels"].answer == "A"
    assert describe_chance(checks["same_labels"]) == "predicts the same labels for every doc (A)"
    # A always yes (F 2/3), B always no (F 0); both labels are yes in half the docs
    assert checks["macro_f"].value == pytest.approx(1 / 3)
    assert checks["macro_f"].chance == pytest.approx(1 / 2)
    nothing = score_textcat(
        examples(vocab, [(cats, {"A": 0.1, "B": 0.1}) for cats in gold]), labels, multi_label=True
    )
    assert nothing.chance_level[0] == ChanceFinding(check="same_labels", answer="no label")


def test_working_heads_are_not_flagged(vocab: Vocab) -> None:
    assert score_textcat(exclusive_examples(vocab), EXCLUSIVE, multi_label=False).chance_level == []
    multilabel = score_textcat(multilabel_examples(vocab), ("A", "B"), multi_label=True)
    assert multilabel.chance_level == []


def test_one_class_gold_or_one_doc_cannot_show_chance(vocab: Vocab) -> None:
    """A constant answer is right when the gold has one answer: nothing to judge."""
    right = {"POS": 0.9, "NEG": 0.05, "NEU": 0.05}
    one_class = examples(vocab, [(one_hot("POS"), right)] * 3)
    assert score_textcat(one_class, EXCLUSIVE, multi_label=False).chance_level == []
    one_doc = examples(vocab, [(one_hot("NEG"), right)])
    assert score_textcat(one_doc, EXCLUSIVE, multi_label=False).chance_level == []
