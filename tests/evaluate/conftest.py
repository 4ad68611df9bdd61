"""Shared data for the evaluation tests.

No ALBERT model is involved: entity and category scores are checked on hand-made
gold/predicted docs with hand-computed answers, and the end-to-end tests train tiny
pipelines of spaCy's own CNN components in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.loggers import console_logger_v3
from spacy.util import fix_random_seed
from spacy.vocab import Vocab

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


def assert_png(path: Path, min_bytes: int = 5_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width >= 300 and height >= 300


@pytest.fixture(scope="package")
def vocab() -> Vocab:
    return spacy.blank("en").vocab


# ---------------------------------------------------------------------------
# Hand-made predictions with hand-computed answers
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


# ---------------------------------------------------------------------------
# A tiny trained pipeline: spaCy's CNN ner + textcat
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


@pytest.fixture(scope="package")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Train spaCy's CNN ner + textcat on a joint set (NER-only and textcat-only
    docs), save it and a joint dev set, and log three evaluation steps with
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


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf8"))
