"""The accuracy section's data preparation, scoring, and its tune-then-test rule (the
training itself is the benchmark)."""

from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from bench.accuracy import (
    AccuracyData,
    EvalSet,
    HFTrained,
    load_accuracy_data,
    means,
    run_system,
    score,
)
from bench.data import TaggedSentence, iob_tags
from bench.fairness import accuracy_loss
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
    train = accuracy.train
    assert len(train.conll) == 4 and len(accuracy.test.sst) == 2
    assert accuracy.dev.majority == 50.0
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(accuracy.train_path).get_docs(nlp.vocab))
    assert len(docs) == len(train.conll) + len(train.sst)
    for doc, sentence in zip(docs, train.conll):
        assert [t.text for t in doc] == sentence.words
        assert iob_tags(doc) == sentence.tags
        assert doc.cats == {}
    for doc, (text, label) in zip(docs[4:], train.sst):
        assert doc.text == text
        assert doc.cats == {"POSITIVE": float(label), "NEGATIVE": 1.0 - label}
        assert not doc.has_annotation("ENT_IOB")
    assert len(list(DocBin().from_disk(accuracy.dev_path).get_docs(nlp.vocab))) == 6


class FakeSystem:
    """Scores follow the learning rate and seed; records what was trained."""

    def __init__(self, sst_by_rate: dict) -> None:
        self.sst_by_rate = sst_by_rate
        self.trained: list[tuple] = []

    def train(self, learn_rate, seed: int) -> tuple:
        self.trained.append((learn_rate, seed))
        return learn_rate, seed

    def evaluate(self, trained: tuple, split, precision: str) -> dict:
        rate, seed = trained
        loss = 1.0 if precision == "int8" else 0.0
        return {"conll_f1": 60.0 + seed - loss, "sst2_accuracy": self.sst_by_rate[rate] - loss}


def eval_data(tmp_path: Path) -> AccuracyData:
    sst = [("good", 1), ("bad", 0)]
    split = EvalSet([TaggedSentence(["a"], ["O"])], sst)
    return AccuracyData(split, split, split, tmp_path / "t", tmp_path / "d")


def test_run_system_picks_the_rate_on_dev_and_reports_mean_sd(tmp_path: Path) -> None:
    system = FakeSystem({1e-4: 70.0, 1e-3: 80.0})
    row = run_system(system, eval_data(tmp_path), grid=(1e-4, 1e-3), seeds=(0, 1, 2),
                     precisions=("fp32", "int8"))
    assert row["learn_rate"] == 1e-3 and row["did_not_learn"] == []
    # The grid ran on seed 0; the seed-0 run at the picked rate is reused, not retrained.
    assert system.trained == [(1e-4, 0), (1e-3, 0), (1e-3, 1), (1e-3, 2)]
    assert row["test"]["fp32"]["conll_f1"] == {"mean": 61.0, "sd": 1.0, "n": 3}
    assert row["test"]["int8"]["sst2_accuracy"]["mean"] == 79.0
    assert accuracy_loss(means(row, "fp32"), means(row, "int8")) == 1.0
    assert set(row["dev_by_learn_rate"]) == {"0.0001", "0.001"}


def test_a_side_at_chance_at_every_rate_did_not_learn(tmp_path: Path) -> None:
    row = run_system(FakeSystem({1e-4: 50.0, 1e-3: 51.0}), eval_data(tmp_path),
                     grid=(1e-4, 1e-3), seeds=(0,), precisions=("fp32",))
    assert row["did_not_learn"] == ["sst2_accuracy"]
    fixed = run_system(FakeSystem({None: 50.0}), eval_data(tmp_path), grid=None, seeds=(0, 1),
                       precisions=("fp32",))
    assert fixed["learn_rate"] is None and fixed["did_not_learn"] == ["sst2_accuracy"]


def test_score() -> None:
    gold = [TaggedSentence(["Peter", "Paul", "said"], ["B-PER", "I-PER", "O"]),
            TaggedSentence(["in", "Paris"], ["O", "B-LOC"])]
    predicted = [["B-PER", "I-PER", "O"], ["O", "O"]]
    sst = [("good", 1), ("bad", 0), ("fine", 1), ("meh", 0)]
    # Entities: precision 1/1, recall 1/2 -> F1 2/3; SST-2: 3 of 4 right.
    assert score(gold, predicted, sst, [1, 0, 0, 0]) == {"conll_f1": 66.67,
                                                          "sst2_accuracy": 75.0}


class FakeHF(FakeSystem):
    def train(self, learn_rate, seed: int) -> HFTrained:
        super().train(learn_rate, seed)
        return HFTrained((learn_rate, seed), (learn_rate, seed),
                         {"token_classifier": [2.0, learn_rate]})

    def evaluate(self, trained: HFTrained, split, precision: str) -> dict:
        return super().evaluate(trained.tok, split, precision)


def test_hf_loss_curves_are_kept_for_every_run(tmp_path: Path) -> None:
    row = run_system(FakeHF({1e-4: 50.0, 1e-3: 50.5}), eval_data(tmp_path), grid=(1e-4, 1e-3),
                     seeds=(0, 1), precisions=("fp32",))
    assert row["did_not_learn"] == ["sst2_accuracy"]  # the curves show why
    assert list(row["loss_curves"]) == ["lr 0.0001, seed 0", "lr 0.001, seed 0",
                                        "lr 0.001, seed 1"]
    assert row["loss_curves"]["lr 0.0001, seed 0"] == {"token_classifier": [2.0, 1e-4]}
