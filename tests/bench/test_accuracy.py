"""The accuracy section's data preparation and scoring (the training itself is the benchmark)."""

from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from bench.accuracy import load_accuracy_data, score
from bench.data import TaggedSentence, iob_tags
from bench.settings import QUICK

from .test_data import CONLL


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    (tmp_path / "conll2003").mkdir()
    for split in ("train", "valid", "test"):
        (tmp_path / "conll2003" / f"{split}.txt").write_text(CONLL, encoding="utf-8")
    sst = tmp_path / "sst2" / "stsa_sentence_level"
    sst.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (sst / f"stsa.binary.{split}").write_text("1 a gripping film .\n0 dull , lifeless .\n",
                                                  encoding="utf-8")
    return tmp_path


def test_docbins_hold_entities_or_cats(data: Path, tmp_path: Path) -> None:
    accuracy = load_accuracy_data(data, QUICK, tmp_path / "accuracy", seed=0)
    assert len(accuracy.conll_train) == 4 and len(accuracy.sst_test) == 2
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(accuracy.train_path).get_docs(nlp.vocab))
    assert len(docs) == len(accuracy.conll_train) + len(accuracy.sst_train)
    for doc, sentence in zip(docs, accuracy.conll_train):
        assert [t.text for t in doc] == sentence.words
        assert iob_tags(doc) == sentence.tags
        assert doc.cats == {}
    for doc, (text, label) in zip(docs[4:], accuracy.sst_train):
        assert doc.text == text
        assert doc.cats == {"POSITIVE": float(label), "NEGATIVE": 1.0 - label}
        assert not doc.has_annotation("ENT_IOB")
    assert len(list(DocBin().from_disk(accuracy.dev_path).get_docs(nlp.vocab))) == 6


def test_score() -> None:
    gold = [TaggedSentence(["Peter", "Paul", "said"], ["B-PER", "I-PER", "O"]),
            TaggedSentence(["in", "Paris"], ["O", "B-LOC"])]
    predicted = [["B-PER", "I-PER", "O"], ["O", "O"]]
    sst = [("good", 1), ("bad", 0), ("fine", 1), ("meh", 0)]
    # Entities: precision 1/1, recall 1/2 -> F1 2/3; SST-2: 3 of 4 right.
    assert score(gold, predicted, sst, [1, 0, 0, 0]) == {"conll_f1": 66.67,
                                                          "sst2_accuracy": 75.0}
