"""The systems `bench.pretrained_compare` trains: spacy-albert and the seed's HF loop.

Each system is a `Trainer`, (learn_rate, seed) -> a trained model that scores itself on the
"dev" or "test" split, so the learning-rate search and the seeds run the same for all.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Protocol

import spacy
import torch
from transformers import PreTrainedTokenizerFast

from spacy_albert.convert import write_docbin

from . import hf_baseline as hf
from .accuracy import (
    AccuracyData,
    EvalSet,
    albert_config,
    entity_f1,
    evaluate_spacy,
    predict_labels,
    set_budget,
    set_dotted,
    spacy_train,
    sst_accuracy,
)
from .data import count_words
from .hf_training import (
    LoopSettings,
    TrainStats,
    train_sequence_classifier,
    train_token_classifier,
)
from .pretrained_data import Context, SplitData, read_docs
from .train_log import read_throughput  # importing it registers the runs' logger

PROBE_DOCS = 2  # CoNLL docs and SST-2 texts spaCy's loop evaluates on (first, last update)


@dataclass(frozen=True)
class CompareBudget:
    """What every system gets.

    steps (int): Updates per training run.
    batch (int): CoNLL sentences (HF NER) or SST-2 texts (HF SST-2) per update.
    batch_words (int): Words per spacy-albert update (`batch` of each task, on average).
    lr_grid (tuple[float, ...]): The learning rates tried at seed 0.
    seeds (int): Seeds 0..seeds-1 trained at the chosen rate.
    """

    steps: int
    batch: int
    batch_words: int
    lr_grid: tuple[float, ...]
    seeds: int

    @property
    def warmup(self) -> int:
        return max(1, self.steps // 10)


@dataclass(frozen=True)
class Scores:
    """Percent scores of one model on one split; None for a task the system has not."""

    conll_f1: Optional[float] = None
    sst2_accuracy: Optional[float] = None

    def selection(self) -> float:
        """What picks the learning rate: the mean of the scores the system has."""
        values = [v for v in (self.conll_f1, self.sst2_accuracy) if v is not None]
        return sum(values) / len(values)


class Trained(Protocol):
    """A trained system: how long it trained, and its scores on a split."""

    seconds: float
    words: int

    def score(self, split: str) -> Scores: ...


Trainer = Callable[[float, int], Trained]


def batch_words(train: SplitData, batch: int) -> int:
    """Words in `batch` CoNLL sentences plus `batch` SST-2 texts, on average."""
    conll = sum(len(s.words) for s in train.conll) / max(len(train.conll), 1)
    sst = count_words([text for text, _ in train.sst]) / max(len(train.sst), 1)
    return max(1, round(batch * (conll + sst)))


def as_scores(scores: dict[str, float]) -> Scores:
    return Scores(conll_f1=scores["conll_f1"], sst2_accuracy=scores["sst2_accuracy"])


# "joint": configs/textcat_ner.cfg on both tasks; "sst2": configs/textcat.cfg on SST-2 alone.
AlbertTask = Literal["joint", "sst2"]
CORPUS_FILES: dict[AlbertTask, tuple[str, ...]] = {"joint": ("conll.spacy", "sst2.spacy"),
                                                   "sst2": ("sst2.spacy",)}


@dataclass
class AlbertRun:
    """A trained spacy-albert pipeline on disk."""

    path: Path
    seconds: float
    words: int
    data: AccuracyData
    splits: dict[str, SplitData]
    task: AlbertTask = "joint"

    def score(self, split: str) -> Scores:
        data = self.splits[split]
        if self.task == "sst2":
            labels = predict_labels(spacy.load(self.path), data.sst)
            return Scores(sst2_accuracy=sst_accuracy(data.sst, labels))
        return as_scores(evaluate_spacy(self.path, EvalSet(conll=data.conll, sst=data.sst)))


def albert_trainer(model: Path, corpus: Path, context: Context, budget: CompareBudget,
                   work: Path, splits: dict[str, SplitData],
                   overrides: Optional[dict[str, Any]] = None,
                   task: AlbertTask = "joint") -> Trainer:
    """spacy-albert on the context's corpus, trained by `spacy train` in this process;
    `overrides` (dotted config path -> value) change the config as `spacy train`'s
    command-line overrides do.

    task "joint": configs/textcat_ner.cfg on CoNLL and SST-2, each update `batch_words`
    words of both. "sst2": configs/textcat.cfg on the SST-2 texts alone, each update `batch`
    of them, as the HF loop's sequence classifier.

    spaCy's loop evaluates (at its first and last update) only on a few probe docs, so that
    costs nothing; `AlbertRun.score` scores the saved pipeline on the full dev or test split.
    """
    files = CORPUS_FILES[task]
    probe = work / f"probe-{task}-{context}.spacy"
    vocab = spacy.blank("en").vocab
    write_docbin([doc for name in files
                  for doc in read_docs(corpus / context / "dev" / name, vocab)[:PROBE_DOCS]],
                 probe)
    # What `set_budget` reads (the paths); `AlbertRun.score` fills in the split it scores.
    empty = EvalSet(conll=[], sst=[])
    train_path = corpus / context / "train"
    data = AccuracyData(train=empty, dev=empty, test=empty, dev_path=probe,
                        train_path=train_path if task == "joint" else train_path / files[0])
    batcher = ({"@batchers": "spacy.batch_by_words.v1", "size": budget.batch_words,
                "tolerance": 0.2, "discard_oversize": False, "get_length": None}
               if task == "joint" else
               {"@batchers": "spacy.batch_by_sequence.v1", "size": budget.batch,
                "get_length": None})

    overridden = albert_config(model, "textcat_ner.cfg" if task == "joint" else "textcat.cfg")
    for dotted, value in (overrides or {}).items():  # here, so a bad path fails before training
        set_dotted(overridden, dotted, value)

    def train(learn_rate: float, seed: int) -> AlbertRun:
        # No dots in the name: spacy_train writes its config to `out.with_suffix(".cfg")`.
        label = context if task == "joint" else task
        name = f"albert-{label}-lr{learn_rate:g}-seed{seed}".replace(".", "_")
        config = set_budget(overridden.copy(), data, budget.steps, budget.batch, learn_rate,
                            seed)
        training = config["training"]
        training["max_steps"] = budget.steps - 1  # spaCy's loop counts its updates from 0
        training["eval_frequency"] = budget.steps - 1  # so the last update is logged
        training["batcher"] = batcher
        log = work / f"{name}.jsonl"
        training["logger"] = {"@loggers": "spacy-albert-bench.ThroughputLogger.v1",
                              "progress_bar": None, "console_output": True,
                              "output_file": str(log)}
        path = spacy_train(config, work / name, work / f"{name}.log")
        words, seconds = read_throughput(log)
        return AlbertRun(path, float(seconds), words, data, splits, task)

    return train


HFTask = Literal["ner", "sst2"]


@dataclass
class HFRun:
    """A trained HF model in memory.

    task (HFTask): "ner" (AlbertForTokenClassification) or "sst2"
        (AlbertForSequenceClassification).
    """

    task: HFTask
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerFast
    stats: TrainStats
    splits: dict[str, SplitData]

    @property
    def seconds(self) -> float:
        return self.stats.seconds

    @property
    def words(self) -> int:
        return self.stats.words

    def score(self, split: str) -> Scores:
        gold = self.splits[split]
        if self.task == "ner":
            tags = hf.predict_word_tags(self.model, self.tokenizer, [s.words for s in gold.conll])
            return Scores(conll_f1=entity_f1(gold.conll, tags))
        labels = hf.predict_labels(self.model, self.tokenizer, [text for text, _ in gold.sst])
        return Scores(sst2_accuracy=sst_accuracy(gold.sst, labels))


# The HF loop's settings the budget does not set, which a comparison may change, and their types.
HF_LOOP_OVERRIDES: dict[str, type] = {"grad_clip": float, "weight_decay": float,
                                      "max_length": int, "length_groups": int,
                                      "use_averages": bool, "layer_lr_decay": float}


def hf_trainer(task: HFTask, model: Path, budget: CompareBudget, train: SplitData,
               splits: dict[str, SplitData],
               overrides: Optional[dict[str, Any]] = None) -> Trainer:
    """The seed's loop on one task: the CoNLL training sentences (first-subword labels) for
    "ner", the SST-2 training texts for "sst2"; `overrides` (a `HF_LOOP_OVERRIDES` name ->
    value) change its `LoopSettings`."""
    tokenizer = hf.load_tokenizer(model)
    tag_ids = {tag: i for i, tag in enumerate(hf.CONLL_TAGS)}
    sentences = [sentence.words for sentence in train.conll]
    tags = [[tag_ids[tag] for tag in sentence.tags] for sentence in train.conll]
    texts = [text for text, _ in train.sst]
    labels = [label for _, label in train.sst]

    def run(learn_rate: float, seed: int) -> HFRun:
        settings = LoopSettings(batch_size=budget.batch, learn_rate=learn_rate,
                                warmup=budget.warmup, seed=seed, **(overrides or {}))
        if task == "ner":
            classifier = hf.load_token_classifier(model, seed=seed)
            stats = train_token_classifier(classifier, tokenizer, sentences, tags, budget.steps,
                                           settings)
        else:
            classifier = hf.load_sequence_classifier(model, seed=seed)
            stats = train_sequence_classifier(classifier, tokenizer, texts, labels,
                                              budget.steps, settings)
        return HFRun(task, classifier, tokenizer, stats, splits)

    return run
