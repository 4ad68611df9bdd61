"""`spacy_albert.evaluate.scoring`: entity scores (spaCy vs. seqeval vs. hand counts)
and text classifier scores on hand-made predictions with hand-computed answers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from spacy.scorer import get_ner_prf
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_albert.evaluate import (
    EntityTypeScores,
    doc_to_iob2,
    examples_to_iob2,
    score_entities,
    score_seqeval,
    score_textcat,
)
from tests.evaluate.conftest import (
    EXCLUSIVE,
    exclusive_examples,
    make_doc,
    multilabel_examples,
    ner_examples,
)

# ---------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------


def test_iob2_conversion(vocab: Vocab) -> None:
    examples = ner_examples(vocab)
    assert doc_to_iob2(examples[0].reference) == [
        "B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "I-LOC", "O",
    ]
    assert doc_to_iob2(examples[4].reference) == ["B-PER", "B-PER", "O", "O"]
    y_true, y_pred = examples_to_iob2(examples)
    assert len(y_true) == len(y_pred) == 8  # the doc without NER annotation is skipped
    assert all(len(t) == len(p) for t, p in zip(y_true, y_pred))
    assert y_pred[4] == ["B-PER", "I-PER", "O", "O"]
    # predicted "San Francisco." projected onto the gold tokens San / Francisco / .
    assert y_true[7] == ["O", "O", "B-LOC", "I-LOC", "O"]
    assert y_pred[7] == ["O", "O", "B-LOC", "I-LOC", "I-LOC"]
    # same tokenization: the predicted tags are the predicted doc's own
    for eg, tags in zip(examples[:7], y_pred[:7]):
        assert tags == doc_to_iob2(eg.predicted)


def test_iob2_of_missing_annotation_is_outside(vocab: Vocab) -> None:
    doc = make_doc(vocab, ["a", "b"])
    assert doc_to_iob2(doc) == ["O", "O"]


@pytest.mark.parametrize("strict", [False, True], ids=["conlleval", "strict-IOB2"])
def test_entity_scores_agree_with_seqeval(vocab: Vocab, strict: bool) -> None:
    examples = ner_examples(vocab)
    spacy_scores = get_ner_prf(examples)
    y_true, y_pred = examples_to_iob2(examples)
    kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2} if strict else {}
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
    labels = {label for label in report if not label.endswith(" avg")}
    assert labels == set(spacy_scores["ents_per_type"]) == {"PER", "LOC", "ORG", "MISC"}
    for label in labels:
        ours = spacy_scores["ents_per_type"][label]
        assert ours["p"] == pytest.approx(report[label]["precision"], abs=1e-6)
        assert ours["r"] == pytest.approx(report[label]["recall"], abs=1e-6)
        assert ours["f"] == pytest.approx(report[label]["f1-score"], abs=1e-6)
    assert spacy_scores["ents_p"] == pytest.approx(
        precision_score(y_true, y_pred, zero_division=0, **kwargs), abs=1e-6
    )
    assert spacy_scores["ents_r"] == pytest.approx(
        recall_score(y_true, y_pred, zero_division=0, **kwargs), abs=1e-6
    )
    assert spacy_scores["ents_f"] == pytest.approx(
        f1_score(y_true, y_pred, zero_division=0, **kwargs), abs=1e-6
    )
    micro = report["micro avg"]
    assert spacy_scores["ents_f"] == pytest.approx(micro["f1-score"], abs=1e-6)


def test_score_entities_by_hand(vocab: Vocab) -> None:
    examples = ner_examples(vocab)
    scores = score_entities(examples, components=["ner"])
    assert scores.components == ["ner"]
    assert scores.n_docs == 8
    assert scores.n_docs_excluded == 1
    assert scores.n_gold == 11
    assert scores.n_pred == 10
    assert scores.ents_p == pytest.approx(4 / 10)
    assert scores.ents_r == pytest.approx(4 / 11)
    assert scores.ents_f == pytest.approx(8 / 21)
    per_type = scores.ents_per_type
    assert list(per_type) == sorted(per_type)
    assert all(isinstance(v, EntityTypeScores) for v in per_type.values())
    assert asdict(per_type["PER"]) == pytest.approx({"p": 0.25, "r": 0.25, "f": 0.25, "support": 4})
    assert asdict(per_type["LOC"]) == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5, "support": 4})
    assert asdict(per_type["ORG"]) == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5, "support": 2})
    assert asdict(per_type["MISC"]) == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0, "support": 1})
    seq = score_seqeval(examples)
    assert seq is not None
    assert seq.n_docs == 8
    assert seq.n_docs_retokenized == 1
    assert seq.f == pytest.approx(scores.ents_f, abs=1e-6)
    for label, values in per_type.items():
        assert seq.per_type[label].f == pytest.approx(values.f, abs=1e-6)
        assert seq.per_type[label].support == values.support


def test_seqeval_keeps_one_of_two_predictions_projected_onto_one_gold_token(
    vocab: Vocab,
) -> None:
    """Where the pipeline splits a gold token (CoNLL's "Chester-le-Street" -> five spaCy
    tokens), two predicted entities can land on the same gold token: spaCy's scorer counts
    both, seqeval's IOB2 sequence can hold only the first. The report names such docs."""
    gold = make_doc(vocab, ["Chester-le-Street", "won"], [(0, 1, "LOC")])
    pred = make_doc(vocab, ["Chester", "-", "le", "-", "Street", "won"],
                    [(0, 1, "LOC"), (4, 5, "PER")], spaces=[False] * 4 + [True, False])
    examples = [Example(pred, gold)]
    spacy_scores = score_entities(examples)
    assert (spacy_scores.n_pred, spacy_scores.ents_p) == (2, pytest.approx(0.5))
    seq = score_seqeval(examples)
    assert seq is not None
    assert seq.p == pytest.approx(1.0)
    assert seq.n_docs_retokenized == 1


def test_nothing_to_score_gives_none(vocab: Vocab) -> None:
    words = ["a", "b"]
    examples = [Example(make_doc(vocab, words, []), make_doc(vocab, words, []))]
    scores = score_entities(examples)
    assert (scores.ents_p, scores.ents_r, scores.ents_f) == (None, None, None)
    assert scores.ents_per_type == {}
    assert score_seqeval(examples) is None


# ---------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------


def test_exclusive_textcat_by_hand(vocab: Vocab) -> None:
    scores = score_textcat(exclusive_examples(vocab), EXCLUSIVE, multi_label=False)
    assert scores.type == "exclusive" and not scores.multi_label
    assert (scores.n_docs, scores.n_docs_excluded) == (7, 3)
    assert scores.accuracy == pytest.approx(4 / 7)
    assert scores.hamming_accuracy is None
    assert scores.confusion_matrix.labels == list(EXCLUSIVE)
    # rows gold POS/NEG/NEU, columns predicted POS/NEG/NEU
    assert scores.confusion_matrix.matrix == [[2, 1, 0], [1, 1, 0], [0, 1, 1]]
    per_label = scores.per_label
    assert per_label["POS"].p == pytest.approx(2 / 3)
    assert per_label["POS"].r == pytest.approx(2 / 3)
    assert per_label["NEG"].p == pytest.approx(1 / 3)
    assert per_label["NEG"].r == pytest.approx(1 / 2)
    assert per_label["NEG"].f == pytest.approx(0.4)
    assert per_label["NEU"].p == pytest.approx(1.0)
    assert per_label["NEU"].f == pytest.approx(2 / 3)
    assert [per_label[label].support for label in EXCLUSIVE] == [3, 2, 2]
    assert scores.macro_p == pytest.approx(2 / 3)
    assert scores.macro_r == pytest.approx(5 / 9)
    assert scores.macro_f == pytest.approx((2 / 3 + 0.4 + 2 / 3) / 3)
    # exclusive: every error is one FP and one FN, so micro P = R = F = accuracy
    for value in (scores.micro_p, scores.micro_r, scores.micro_f):
        assert value == pytest.approx(4 / 7)
    # POS scores: positives .8 .7 .3 vs negatives .1 .6 .2 .1 -> 11 of 12 pairs ordered
    assert per_label["POS"].auc == pytest.approx(11 / 12)
    assert scores.score_desc == "macro F"
    assert scores.score == pytest.approx(scores.macro_f)


def test_multilabel_textcat_by_hand(vocab: Vocab) -> None:
    examples = multilabel_examples(vocab)
    scores = score_textcat(examples, ("A", "B"), multi_label=True, threshold=0.5)
    assert scores.type == "multilabel" and scores.multi_label
    assert (scores.n_docs, scores.n_docs_excluded) == (5, 2)
    blocks = scores.confusion_matrix.per_label
    assert blocks["A"] == [[1, 1], [1, 2]]  # [[TN, FP], [FN, TP]]
    assert blocks["B"] == [[2, 0], [1, 1]]
    assert scores.accuracy == pytest.approx(2 / 5)
    assert scores.hamming_accuracy == pytest.approx(6 / 9)
    assert scores.per_label["A"].p == pytest.approx(2 / 3)
    assert scores.per_label["A"].r == pytest.approx(2 / 3)
    assert scores.per_label["B"].p == pytest.approx(1.0)
    assert scores.per_label["B"].r == pytest.approx(0.5)
    assert scores.per_label["A"].support == 3
    assert scores.per_label["B"].support == 2
    assert scores.macro_f == pytest.approx(2 / 3)
    assert scores.micro_p == pytest.approx(3 / 4)
    assert scores.micro_r == pytest.approx(3 / 5)
    assert scores.micro_f == pytest.approx(2 / 3)
    # the component's threshold is used: at 0.35 doc 2's B (0.4) becomes a TP
    lower = score_textcat(examples, ("A", "B"), multi_label=True, threshold=0.35)
    assert lower.confusion_matrix.per_label["B"] == [[2, 0], [0, 2]]
    assert lower.accuracy == pytest.approx(3 / 5)


def test_no_gold_cats_and_missing_predictions(vocab: Vocab) -> None:
    doc = make_doc(vocab, ["x"], cats={"A": 0.0, "POS": 1.0})
    empty = score_textcat([Example(doc, make_doc(vocab, ["x"]))], ["POS"], multi_label=False)
    assert (empty.n_docs, empty.n_docs_excluded) == (0, 1)
    assert empty.accuracy is None and empty.macro_f is None
    assert empty.chance_level == []
    unpredicted = Example(make_doc(vocab, ["x"]), make_doc(vocab, ["x"], cats={"POS": 1.0}))
    with pytest.raises(ValueError, match="no scores"):
        score_textcat([unpredicted], ["POS", "NEG"], multi_label=False)
