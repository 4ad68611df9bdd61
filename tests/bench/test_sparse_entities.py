"""The sparse-entity benchmark's data and config helpers, and one tiny end-to-end run on a
tiny BERT built here (no packaged checkpoint, no real data)."""

import json
import math
import random
from pathlib import Path

import pytest

from bench import sparse_entities
from bench.data import TaggedSentence
from bench.sparse_entities import (
    NOISE_TOKENS,
    VARIANTS,
    mention_texts,
    ner_config,
    sparse_sample,
    with_noise,
)

from .test_pretrained_compare import tiny_albert  # noqa: F401 (a module fixture)

CITY = TaggedSentence(["Fans", "in", "New", "York", "cheered", "."],
                      ["O", "O", "B-LOC", "I-LOC", "O", "O"])
CLUB = TaggedSentence(["Ajax", "beat", "PSV", "."], ["B-ORG", "O", "B-ORG", "O"])
PLAIN = TaggedSentence(["It", "rained", "."], ["O", "O", "O"])


def test_mentions_are_lower_cased_entity_texts() -> None:
    assert mention_texts(CITY) == ["new york"]
    assert mention_texts(CLUB) == ["ajax", "psv"]
    assert mention_texts(PLAIN) == []


def test_noise_never_splits_an_entity() -> None:
    rng = random.Random(0)
    for _ in range(200):
        noisy = with_noise(CITY, rng)
        (at,) = [i for i, word in enumerate(noisy.words) if word in NOISE_TOKENS]
        assert noisy.tags[at] == "O"
        assert len(noisy.words) == len(noisy.tags) == len(CITY.words) + 1
        # The entity is still one mention with the same words.
        assert mention_texts(noisy) == ["new york"]


def test_sample_keeps_the_entity_share_and_only_unseen_mentions() -> None:
    sentences = [CITY, CLUB] * 20 + [PLAIN] * 100
    picked = sparse_sample(sentences, 30, random.Random(0), seen={"psv"})
    with_entities = [s for s in picked if mention_texts(s)]
    assert len(with_entities) == round(30 * sparse_entities.ENTITY_SHARE)
    # CLUB holds a seen mention, so only CITY may be picked.
    assert all(mention_texts(s) == ["new york"] for s in with_entities)
    without = len(picked) - len(with_entities)
    assert without == round(len(with_entities) * (1 - sparse_entities.ENTITY_SHARE)
                            / sparse_entities.ENTITY_SHARE)


def test_ner_config_sets_the_budget_and_the_variant(tmp_path: Path) -> None:
    config = ner_config(tmp_path / "model", tmp_path / "train.spacy", tmp_path / "dev.spacy",
                        steps=60, batch=16, learn_rate=5e-5, seed=2,
                        overrides=VARIANTS["spacy-parser-heads-x1"], log=tmp_path / "log.jsonl")
    training = config["training"]
    assert training["max_steps"] == 59 and training["eval_frequency"] == 59
    assert training["batcher"]["size"] == 16
    schedule = training["optimizer"]["learn_rate"]
    assert schedule["warmup_steps"] == 6 and schedule["total_steps"] == 60
    # The encoder learns at the given rate, here so do the heads; spaCy's own parser model.
    assert config["components"]["transformer"]["learn_rate_scale"] == 1.0
    assert schedule["initial_rate"] == pytest.approx(5e-5)
    ner_model = config["components"]["ner"]["model"]
    assert ner_model["@architectures"] == "spacy.TransitionBasedParser.v2"
    assert "neighbours" not in ner_model
    # As shipped: the heads at 20 times the encoder's rate.
    shipped = ner_config(tmp_path / "model", tmp_path / "train.spacy", tmp_path / "dev.spacy",
                         steps=60, batch=16, learn_rate=5e-5, seed=2, overrides={},
                         log=tmp_path / "log.jsonl")
    assert shipped["training"]["optimizer"]["learn_rate"]["initial_rate"] == pytest.approx(1e-3)
    assert config["system"]["seed"] == 2


def conll_file(sentences: list[TaggedSentence]) -> str:
    return "-DOCSTART- -X- -X- O\n\n" + "\n\n".join(
        "\n".join(f"{word} X X {tag}" for word, tag in zip(s.words, s.tags))
        for s in sentences) + "\n"


PORTO = TaggedSentence(["Ana", "left", "Porto", "."], ["B-PER", "O", "B-LOC", "O"])


def test_both_sides_train_and_score_on_the_same_sentences(tiny_albert: Path,  # noqa: F811
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    (data / "conll2003" / "train.txt").write_text(conll_file([CITY, CLUB, PLAIN] * 3))
    for split in ("valid", "test"):  # mentions unseen in train, as the benchmark wants
        (data / "conll2003" / f"{split}.txt").write_text(conll_file([PORTO, CITY, PLAIN] * 3))
    monkeypatch.setattr(sparse_entities, "EVAL_SENTENCES", {"dev": 4, "test": 4})
    out, work = tmp_path / "sparse.json", tmp_path / "work"

    def run(*extra: str) -> dict:
        sparse_entities.main(["--model", str(tiny_albert), "--data-dir", str(data),
                              "--train", "6", "--epochs", "1", "--batch", "2",
                              "--learn-rate", "1e-3", "--seeds", "2", "--threads", "1",
                              "--out", str(out), "--work-dir", str(work), *extra])
        return json.loads(out.read_text())

    results = run("--variants", "default")
    assert results["meta"]["complete"] is True
    setup = results["setup"]
    assert setup["steps"] == math.ceil(setup["splits"]["train"]["sentences"] / 2)
    assert setup["warmup"] == 1
    assert setup["splits"]["test"]["mentions"] > 0
    assert set(results["systems"]) == {"hf-ner", "albert-ner/default"}
    for system in results["systems"].values():
        assert [run["seed"] for run in system["runs"]] == [0, 1]
        assert {"dev_f1", "test_f1"} == set(system["summary"])
    # --skip-hf keeps the HF runs of the file and adds a variant.
    again = run("--variants", "spacy-parser-heads-x1", "--skip-hf")
    assert again["systems"]["hf-ner"] == results["systems"]["hf-ner"]
    assert set(again["systems"]) == {"hf-ner", "albert-ner/default",
                                     "albert-ner/spacy-parser-heads-x1"}
