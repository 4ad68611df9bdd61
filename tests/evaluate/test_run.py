"""Tests for `spacy_albert.evaluate.run` and `python -m spacy_albert evaluate`.

No ALBERT model is involved: entity and category scores are checked on
hand-made gold/predicted docs with hand-computed answers, and the end-to-end
tests train a tiny pipeline of spaCy's own CNN `ner` + `textcat` in about a
second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import spacy
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.loggers import console_logger_v3
from spacy.util import fix_random_seed
from spacy.vocab import Vocab

from spacy_albert.evaluate.run import (
    doc_to_iob2,
    evaluate_pipeline,
    examples_to_iob2,
    find_ner_components,
    find_textcat_components,
    has_gold_cats,
    has_ner_annotation,
    plot_training_curve,
    read_train_log,
    score_entities,
    score_seqeval,
    score_textcat,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Ents = Sequence[tuple[int, int, str]]


def make_doc(
    vocab: Vocab,
    words: Sequence[str],
    ents: Ents | None = None,
    cats: dict[str, float] | None = None,
    spaces: Sequence[bool] | None = None,
) -> Doc:
    """A doc with entities given as (start, end, label) token spans; with
    `ents=None` the doc has *no* NER annotation (every `ent_iob_` is "")."""
    iob = None
    if ents is not None:
        iob = ["O"] * len(words)
        for start, end, label in ents:
            iob[start] = f"B-{label}"
            for i in range(start + 1, end):
                iob[i] = f"I-{label}"
    doc = Doc(vocab, words=list(words), spaces=None if spaces is None else list(spaces), ents=iob)
    if cats is not None:
        doc.cats = dict(cats)
    return doc


# ---------------------------------------------------------------------------
# Entities: hand-made predictions, spaCy vs. seqeval vs. hand counts
# ---------------------------------------------------------------------------


def ner_examples(vocab: Vocab) -> list[Example]:
    """Eight NER-annotated examples (partial overlap, wrong label, boundary
    errors, merged adjacent entities, multi-token entities, a tokenization
    mismatch) and one doc without NER annotation that must be ignored.

    By hand (tp/fp/fn): PER 1/3/3, LOC 2/2/2, ORG 1/1/1, MISC 0/0/1;
    overall tp=4, fp=6, fn=7 -> P=4/10, R=4/11, F=8/21.
    """
    cases: list[tuple[list[str], Ents, Ents]] = [
        # correct PER; LOC boundary error (New York City -> York City)
        ("John Smith lives in New York City .".split(), [(0, 2, "PER"), (4, 7, "LOC")],
         [(0, 2, "PER"), (5, 7, "LOC")]),
        # ORG predicted as PER (wrong label), PER partial overlap, LOC correct
        ("Apple hired Tim Cook in California .".split(),
         [(0, 1, "ORG"), (2, 4, "PER"), (5, 6, "LOC")],
         [(0, 1, "PER"), (3, 4, "PER"), (5, 6, "LOC")]),
        # spurious ORG where gold has none (gold is all "O", still annotated)
        ("The weather was nice .".split(), [], [(1, 2, "ORG")]),
        # multi-token MISC missed
        ("She read The Lord of the Rings yesterday .".split(), [(2, 7, "MISC")], []),
        # two adjacent PER merged into one
        ("Ann Bob met .".split(), [(0, 1, "PER"), (1, 2, "PER")], [(0, 2, "PER")]),
        # multi-token ORG and LOC both right
        ("The United Nations met in Geneva .".split(), [(1, 3, "ORG"), (5, 6, "LOC")],
         [(1, 3, "ORG"), (5, 6, "LOC")]),
        # annotated, nothing to find, nothing found
        ("Nothing here .".split(), [], []),
    ]
    examples = [
        Example(make_doc(vocab, words, pred), make_doc(vocab, words, gold))
        for words, gold, pred in cases
    ]
    # tokenization mismatch: the predicted "Francisco." covers gold "Francisco" + "."
    gold = make_doc(vocab, ["I", "love", "San", "Francisco", "."], [(2, 4, "LOC")],
                    spaces=[True, True, True, False, False])
    pred = make_doc(vocab, ["I", "love", "San", "Francisco."], [(2, 4, "LOC")],
                    spaces=[True, True, True, False])
    examples.append(Example(pred, gold))
    # a textcat-only doc: no NER annotation on the reference, predictions ignored
    words = "Mary loves this film".split()
    examples.append(
        Example(make_doc(vocab, words, [(0, 1, "PER")]), make_doc(vocab, words, cats={"POS": 1.0}))
    )
    return examples


@pytest.fixture(scope="module")
def vocab() -> Vocab:
    return spacy.blank("en").vocab


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
    scores = score_entities(examples)
    assert scores["n_docs"] == 8
    assert scores["n_docs_excluded"] == 1
    assert scores["n_gold"] == 11
    assert scores["n_pred"] == 10
    assert scores["ents_p"] == pytest.approx(4 / 10)
    assert scores["ents_r"] == pytest.approx(4 / 11)
    assert scores["ents_f"] == pytest.approx(8 / 21)
    per_type = scores["ents_per_type"]
    assert per_type["PER"] == pytest.approx({"p": 0.25, "r": 0.25, "f": 0.25, "support": 4})
    assert per_type["LOC"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5, "support": 4})
    assert per_type["ORG"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5, "support": 2})
    assert per_type["MISC"] == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0, "support": 1})
    seq = score_seqeval(examples)
    assert seq is not None
    assert seq["n_docs"] == 8
    assert seq["n_docs_retokenized"] == 1
    assert seq["f"] == pytest.approx(scores["ents_f"], abs=1e-6)
    for label, values in per_type.items():
        assert seq["per_type"][label]["f"] == pytest.approx(values["f"], abs=1e-6)
        assert seq["per_type"][label]["support"] == values["support"]


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
    scores = score_entities([annotated, *unannotated])
    assert (scores["n_docs"], scores["n_docs_excluded"]) == (1, 3)
    assert (scores["ents_p"], scores["ents_r"], scores["ents_f"]) == pytest.approx((1.0, 1.0, 1.0))
    assert set(scores["ents_per_type"]) == {"PER"}
    assert scores["n_pred"] == 1


# ---------------------------------------------------------------------------
# Categories: hand-made predictions with hand-computed answers
# ---------------------------------------------------------------------------

EXCLUSIVE = ("POS", "NEG", "NEU")


def exclusive_examples(vocab: Vocab) -> list[Example]:
    """Seven scored docs (gold -> argmax prediction): POS->POS, POS->POS,
    POS->NEG, NEG->NEG, NEG->POS, NEU->NEU, NEU->NEG; then three that must be
    excluded: no cats, cats of another classifier only, all-zero cats."""
    rows = [
        ("POS", {"POS": 0.8, "NEG": 0.1, "NEU": 0.1}),
        ("POS", {"POS": 0.7, "NEG": 0.2, "NEU": 0.1}),
        ("POS", {"POS": 0.3, "NEG": 0.6, "NEU": 0.1}),
        ("NEG", {"POS": 0.1, "NEG": 0.8, "NEU": 0.1}),
        ("NEG", {"POS": 0.6, "NEG": 0.3, "NEU": 0.1}),
        ("NEU", {"POS": 0.2, "NEG": 0.1, "NEU": 0.7}),
        ("NEU", {"POS": 0.1, "NEG": 0.5, "NEU": 0.4}),
    ]
    words = ["some", "text"]
    examples = [
        Example(
            make_doc(vocab, words, cats=pred),
            make_doc(vocab, words, cats={label: float(label == gold) for label in EXCLUSIVE}),
        )
        for gold, pred in rows
    ]
    pred = {"POS": 0.9, "NEG": 0.05, "NEU": 0.05}
    for gold_cats in ({}, {"SPORTS": 1.0}, {"POS": 0.0, "NEG": 0.0, "NEU": 0.0}):
        examples.append(
            Example(make_doc(vocab, words, cats=pred), make_doc(vocab, words, cats=gold_cats))
        )
    return examples


def test_exclusive_textcat_by_hand(vocab: Vocab) -> None:
    scores = score_textcat(exclusive_examples(vocab), EXCLUSIVE, multi_label=False)
    assert scores["type"] == "exclusive"
    assert (scores["n_docs"], scores["n_docs_excluded"]) == (7, 3)
    assert scores["accuracy"] == pytest.approx(4 / 7)
    assert scores["confusion_matrix"]["labels"] == list(EXCLUSIVE)
    # rows gold POS/NEG/NEU, columns predicted POS/NEG/NEU
    assert scores["confusion_matrix"]["matrix"] == [[2, 1, 0], [1, 1, 0], [0, 1, 1]]
    per_label = scores["per_label"]
    assert per_label["POS"]["p"] == pytest.approx(2 / 3)
    assert per_label["POS"]["r"] == pytest.approx(2 / 3)
    assert per_label["NEG"]["p"] == pytest.approx(1 / 3)
    assert per_label["NEG"]["r"] == pytest.approx(1 / 2)
    assert per_label["NEG"]["f"] == pytest.approx(0.4)
    assert per_label["NEU"]["p"] == pytest.approx(1.0)
    assert per_label["NEU"]["f"] == pytest.approx(2 / 3)
    assert [per_label[label]["support"] for label in EXCLUSIVE] == [3, 2, 2]
    assert scores["macro_p"] == pytest.approx(2 / 3)
    assert scores["macro_r"] == pytest.approx(5 / 9)
    assert scores["macro_f"] == pytest.approx((2 / 3 + 0.4 + 2 / 3) / 3)
    # exclusive: every error is one FP and one FN, so micro P = R = F = accuracy
    for key in ("micro_p", "micro_r", "micro_f"):
        assert scores[key] == pytest.approx(4 / 7)
    # POS scores: positives .8 .7 .3 vs negatives .1 .6 .2 .1 -> 11 of 12 pairs ordered
    assert per_label["POS"]["auc"] == pytest.approx(11 / 12)
    assert scores["score_desc"] == "macro F"
    assert scores["score"] == pytest.approx(scores["macro_f"])


def multilabel_examples(vocab: Vocab) -> list[Example]:
    """Five scored docs for labels A, B at threshold 0.5 and two excluded."""
    rows = [
        ({"A": 1.0, "B": 0.0}, {"A": 0.9, "B": 0.2}),  # A TP, B TN: exact match
        ({"A": 1.0, "B": 1.0}, {"A": 0.6, "B": 0.4}),  # A TP, B FN
        ({"A": 0.0, "B": 1.0}, {"A": 0.7, "B": 0.8}),  # A FP, B TP
        ({"A": 0.0, "B": 0.0}, {"A": 0.1, "B": 0.3}),  # A TN, B TN: exact match
        ({"A": 1.0}, {"A": 0.2, "B": 0.9}),  # A FN, B missing in gold: not counted
        ({}, {"A": 0.9, "B": 0.9}),  # no gold cats: excluded
        ({"POS": 1.0}, {"A": 0.9, "B": 0.9}),  # another classifier's cats: excluded
    ]
    words = ["a", "b", "c"]
    return [
        Example(make_doc(vocab, words, cats=pred), make_doc(vocab, words, cats=gold))
        for gold, pred in rows
    ]


def test_multilabel_textcat_by_hand(vocab: Vocab) -> None:
    examples = multilabel_examples(vocab)
    scores = score_textcat(examples, ("A", "B"), multi_label=True, threshold=0.5)
    assert scores["type"] == "multilabel"
    assert (scores["n_docs"], scores["n_docs_excluded"]) == (5, 2)
    blocks = scores["confusion_matrix"]["per_label"]
    assert blocks["A"] == [[1, 1], [1, 2]]  # [[TN, FP], [FN, TP]]
    assert blocks["B"] == [[2, 0], [1, 1]]
    assert scores["accuracy"] == pytest.approx(2 / 5)
    assert scores["hamming_accuracy"] == pytest.approx(6 / 9)
    assert scores["per_label"]["A"]["p"] == pytest.approx(2 / 3)
    assert scores["per_label"]["A"]["r"] == pytest.approx(2 / 3)
    assert scores["per_label"]["B"]["p"] == pytest.approx(1.0)
    assert scores["per_label"]["B"]["r"] == pytest.approx(0.5)
    assert scores["per_label"]["A"]["support"] == 3
    assert scores["per_label"]["B"]["support"] == 2
    assert scores["macro_f"] == pytest.approx(2 / 3)
    assert scores["micro_p"] == pytest.approx(3 / 4)
    assert scores["micro_r"] == pytest.approx(3 / 5)
    assert scores["micro_f"] == pytest.approx(2 / 3)
    # the component's threshold is used: at 0.35 doc 2's B (0.4) becomes a TP
    lower = score_textcat(examples, ("A", "B"), multi_label=True, threshold=0.35)
    assert lower["confusion_matrix"]["per_label"]["B"] == [[2, 0], [0, 2]]
    assert lower["accuracy"] == pytest.approx(3 / 5)


def test_gold_cats_filter_and_missing_predictions(vocab: Vocab) -> None:
    doc = make_doc(vocab, ["x"], cats={"A": 0.0, "POS": 1.0})
    assert has_gold_cats(doc, ["A", "B"], multi_label=True)
    assert not has_gold_cats(doc, ["A", "B"], multi_label=False)  # no positive exclusive label
    assert has_gold_cats(doc, ["POS", "NEG"], multi_label=False)
    assert not has_gold_cats(make_doc(vocab, ["x"]), ["POS"], multi_label=True)
    empty = score_textcat([Example(doc, make_doc(vocab, ["x"]))], ["POS"], multi_label=False)
    assert (empty["n_docs"], empty["n_docs_excluded"]) == (0, 1)
    assert empty["accuracy"] is None and empty["macro_f"] is None
    unpredicted = Example(make_doc(vocab, ["x"]), make_doc(vocab, ["x"], cats={"POS": 1.0}))
    with pytest.raises(ValueError, match="no scores"):
        score_textcat([unpredicted], ["POS", "NEG"], multi_label=False)


# ---------------------------------------------------------------------------
# Training curve
# ---------------------------------------------------------------------------

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


def assert_png(path: Path, min_bytes: int = 5_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width >= 300 and height >= 300


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


# ---------------------------------------------------------------------------
# End to end on a tiny CNN pipeline
# ---------------------------------------------------------------------------

NER_DATA: list[tuple[str, Ents]] = [
    ("Alice lives in Paris", [(0, 1, "PER"), (3, 4, "LOC")]),
    ("Bob visited Berlin yesterday", [(0, 1, "PER"), (2, 3, "LOC")]),
    ("Carol moved to New York", [(0, 1, "PER"), (3, 5, "LOC")]),
    ("Dave flew to Rome", [(0, 1, "PER"), (3, 4, "LOC")]),
]
CATS_DATA: list[tuple[str, str]] = [
    ("I love this film", "POS"),
    ("What a great movie", "POS"),
    ("I hate this film", "NEG"),
    ("What a terrible movie", "NEG"),
]
# unseen docs, so that the dev scores are whatever the model makes of them
DEV_NER: list[tuple[str, Ents]] = [("Erin lives in Madrid", [(0, 1, "PER"), (3, 4, "LOC")])]
DEV_CATS: list[tuple[str, str]] = [("I love this great song", "POS")]


def gold_docs(vocab: Vocab, ner: list[tuple[str, Ents]], cats: list[tuple[str, str]]) -> list[Doc]:
    docs = [make_doc(vocab, text.split(), ents) for text, ents in ner]
    docs += [
        make_doc(vocab, text.split(), cats={name: float(label == name) for name in ("POS", "NEG")})
        for text, label in cats
    ]
    return docs


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Train spaCy's CNN ner + textcat on a joint set (NER-only and textcat-only
    docs), save it and a joint dev set, and log two evaluation steps with
    spaCy's own ConsoleLogger.v3."""
    fix_random_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    nlp.add_pipe("textcat")
    train = [Example(nlp.make_doc(d.text), d) for d in gold_docs(nlp.vocab, NER_DATA, CATS_DATA)]
    optimizer = nlp.initialize(lambda: train)
    log_path = root / "training" / "log.jsonl"
    log_step, finalize = console_logger_v3(console_output=False, output_file=log_path)(nlp)
    for step in range(30):
        losses: dict[str, float] = {}
        nlp.update(train, sgd=optimizer, losses=losses)
        if step in (0, 14, 29):
            other = {k: v for k, v in nlp.evaluate(train).items() if v is not None}
            score = 0.5 * other.get("ents_f", 0.0) + 0.5 * other.get("cats_score", 0.0)
            log_step(
                {"epoch": step // 15, "step": step, "losses": losses, "other_scores": other,
                 "score": score}
            )
    finalize()
    model_dir = root / "model"
    nlp.to_disk(model_dir)
    dev_docs = gold_docs(nlp.vocab, NER_DATA + DEV_NER, CATS_DATA + DEV_CATS)
    dev_path = root / "dev.spacy"
    DocBin(docs=dev_docs, store_user_data=True).to_disk(dev_path)
    return {"model_dir": model_dir, "dev_path": dev_path, "log_path": log_path, "nlp": nlp}


def test_spacy_logger_schema_is_read(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    records = read_train_log(tiny_pipeline["log_path"])
    assert [r["step"] for r in records] == [0, 14, 29]
    assert set(records[0]) == {"epoch", "step", "losses", "scores", "score"}
    assert set(records[0]["losses"]) == {"ner", "textcat"}
    assert {"ents_f", "cats_score"} <= set(records[0]["scores"])
    assert_png(plot_training_curve(tiny_pipeline["log_path"], tmp_path / "curve.png"))


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
    # scoring the mixed set as a whole lets the NER-only docs pollute the cats scores
    assert expected["polluted"]["cats_macro_p"] < cats["macro_p"]
    assert scores["speed"]["n_docs"] == 10
    assert scores["speed"]["n_words"] == 42
    assert scores["speed"]["words_per_second"] > 0


def test_evaluate_pipeline_writes_files(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    nlp: Language = tiny_pipeline["nlp"]
    out = tmp_path / "metrics"
    scores = evaluate_pipeline(
        nlp, tiny_pipeline["dev_path"], out, train_log=tiny_pipeline["log_path"], displacy_limit=3
    )
    expected = independent_scores(nlp, tiny_pipeline["dev_path"])
    check_scores(scores, expected)
    # the memorised training docs must come out right
    assert expected["ner"]["ents_f"] > 0.5 and expected["accuracy"] >= 0.8
    on_disk = json.loads((out / "scores.json").read_text("utf8"))
    assert on_disk == json.loads(json.dumps(scores))
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
    scores = evaluate_pipeline(nlp, examples, tmp_path)
    assert scores["ents"] is None and scores["ents_seqeval"] is None
    cats = scores["cats"]["textcat_multilabel"]
    assert (cats["n_docs"], cats["n_docs_excluded"]) == (3, 1)
    blocks = cats["confusion_matrix"]["per_label"]
    assert sum(map(sum, blocks["GOOD"])) == 3 and sum(map(sum, blocks["FAST"])) == 3
    assert cats["per_label"]["GOOD"]["support"] == 2 and cats["per_label"]["FAST"]["support"] == 1
    assert cats["accuracy"] == pytest.approx(1.0)  # three memorised docs
    assert scores["files"]["entities_html"] is None
    assert not (tmp_path / "entities.html").exists()
    assert_png(tmp_path / "confusion_textcat_multilabel.png")
    assert docs[0].cats == {"GOOD": 1.0, "FAST": 1.0}  # the gold docs are untouched


def test_cli_end_to_end(tiny_pipeline: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spacy_albert.cli import app

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
    scores = json.loads((out / "scores.json").read_text("utf8"))
    expected = independent_scores(spacy.load(tiny_pipeline["model_dir"]), tiny_pipeline["dev_path"])
    check_scores(scores, expected)
    assert scores["data"] == str(tiny_pipeline["dev_path"])
    for name in ("confusion_textcat.png", "training_curve.png"):
        assert_png(out / name)
    page = (out / "entities.html").read_text("utf8")
    assert "#1 predicted" in page and "#2 predicted" not in page
    assert (out / "report.md").read_text("utf8").startswith("# Evaluation report")


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
    assert (spacy_scores["n_pred"], spacy_scores["ents_p"]) == (2, pytest.approx(0.5))
    seq = score_seqeval(examples)
    assert seq is not None
    assert seq["p"] == pytest.approx(1.0)
    assert seq["n_docs_retokenized"] == 1
