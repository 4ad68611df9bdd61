"""Training throughput: spaCy's update step (what `spacy train` runs) vs the HF loop.

Both timers cover the same work per step: building the batch (spaCy: the `Example`s;
HF: tokenizing and aligning the labels), forward, backward and the optimizer step, with
optimizer state kept across steps on both sides.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from spacy.language import Language
from spacy.util import load_config, load_model_from_config

from spacy_albert.models.encoder import DEFAULT_TRAIN_LENGTH_GROUPS

from . import hf_baseline as hf
from .data import conll_sentences, count_words, interleave, read_sst, sample, spacy_examples
from .hf_training import HFLoop, LoopSettings, sequence_batch, token_batch
from .settings import CONFIGS

WARMUP_STEPS = 2  # the first steps warm up allocators and are not timed
TAG_IDS = {tag: i for i, tag in enumerate(hf.CONLL_TAGS)}


@dataclass
class SideBySide:
    """Both sides of a training comparison, from the same checkpoint, and their batches.

    steps_data (list[tuple]): Per step (WARMUP_STEPS first), CoNLL and SST-2 sentences.
    nlp (Language): The joint pipeline (`configs/textcat_ner.cfg`), initialized.
    optimizer (Any): Its optimizer.
    tokenizer (Any): The checkpoint's tokenizer, for the HF side.
    settings (LoopSettings): The HF loop's settings.
    token_loop, sequence_loop (HFLoop): The HF side's two models and optimizers.
    """

    steps_data: list[tuple[list, list]]
    nlp: Language
    optimizer: Any
    tokenizer: Any
    settings: LoopSettings
    token_loop: HFLoop
    sequence_loop: HFLoop

    def hf_inputs(self, conll_batch: list, sst_batch: list
                  ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The HF side's token- and sequence-classification inputs for one step."""
        max_length = self.settings.max_length
        tokens = token_batch(self.tokenizer, [s.words for s in conll_batch],
                             [[TAG_IDS[t] for t in s.tags] for s in conll_batch], max_length)
        sequences = sequence_batch(self.tokenizer, [t for t, _ in sst_batch],
                                   [label for _, label in sst_batch], max_length)
        return tokens[0], sequences[0]


def hf_length_groups(joint_groups: int) -> int:
    """Length groups per HF update that give both sides the same encoder calls per step,
    each over the same number of rows (fairness rule 5): the joint batch holds both tasks'
    rows in `joint_groups` calls; each HF model updates on one task's rows, half of them."""
    return max(1, joint_groups // 2)


def side_by_side(model: Path, data: Path, steps: int, batch: int, n_groups: int,
                 seed: int = 0) -> SideBySide:
    """The joint pipeline and the HF loop from `model`, and `steps` + WARMUP_STEPS steps of
    `batch` CoNLL + `batch` SST-2 sentences; each joint update's 2 × `batch` rows run in
    `n_groups` length groups, each HF model's `batch` rows in half as many."""
    conll = sample(conll_sentences(data, "train"), 4000, seed)
    sst = sample(read_sst(data, "train"), 4000, seed)
    total = steps + WARMUP_STEPS
    config = load_config(CONFIGS / "textcat_ner.cfg", interpolate=True,
                         overrides={"paths.transformer": str(model),
                                    "components.transformer.model.train_length_groups":
                                        n_groups})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    all_examples = spacy_examples(nlp, conll[:200], sst[:200])
    nlp.initialize(lambda: all_examples)
    settings = LoopSettings(batch_size=batch, warmup=0, seed=seed,
                            length_groups=hf_length_groups(n_groups))
    return SideBySide(
        steps_data=list(interleave(conll, sst, batch, total, seed)), nlp=nlp,
        optimizer=nlp.create_optimizer(), tokenizer=hf.load_tokenizer(model),
        settings=settings,
        token_loop=HFLoop(hf.load_token_classifier(model), total, settings),
        sequence_loop=HFLoop(hf.load_sequence_classifier(model), total, settings),
    )


def bench_training(model: Path, data: Path, steps: int, batch: int,
                   seed: int = 0) -> dict[str, Any]:
    """Words/s of spaCy's update step vs the HF loop, on the same batches.

    Each step sees `batch` CoNLL sentences + `batch` SST-2 sentences: one joint update
    for spaCy, a token-classification and a sequence-classification update for HF.

    model (Path): The ALBERT checkpoint both sides start from.
    data (Path): The data folder.
    steps (int): Timed steps (after WARMUP_STEPS untimed ones).
    batch (int): Sentences of each data set per step.
    seed (int): Seed of the samples and batches.
    RETURNS (dict[str, Any]): One row of the results file's training section.
    """
    sides = side_by_side(model, data, steps, batch, DEFAULT_TRAIN_LENGTH_GROUPS, seed)
    spacy_time, hf_time, words = 0.0, 0.0, 0
    for step, (conll_batch, sst_batch) in enumerate(sides.steps_data):
        t0 = time.perf_counter()
        sides.nlp.update(spacy_examples(sides.nlp, conll_batch, sst_batch),
                         sgd=sides.optimizer, drop=0.1, losses={})
        t1 = time.perf_counter()
        token_inputs, sequence_inputs = sides.hf_inputs(conll_batch, sst_batch)
        sides.token_loop.step(token_inputs)
        sides.sequence_loop.step(sequence_inputs)
        t2 = time.perf_counter()
        if step >= WARMUP_STEPS:
            spacy_time += t1 - t0
            hf_time += t2 - t1
            words += (sum(len(s.words) for s in conll_batch)
                      + count_words([t for t, _ in sst_batch]))
    return {
        "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
        "spacy_words_per_s": round(words / spacy_time, 1),
        "hf_words_per_s": round(words / hf_time, 1),
        "ratio_spacy_over_hf": round(hf_time / spacy_time, 3),
        "timed": "per step on both sides: batch building (spaCy Examples / HF tokenization and "
                 "label alignment), forward, backward, optimizer step; optimizers kept across "
                 f"steps; encoder calls of the same rows on both sides: the joint batch in "
                 f"{DEFAULT_TRAIN_LENGTH_GROUPS} length-sorted groups, each HF model's batch in "
                 f"{hf_length_groups(DEFAULT_TRAIN_LENGTH_GROUPS)}",
    }
