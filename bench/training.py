"""Training throughput: spaCy's update step (what `spacy train` runs) vs the HF loop.

Both timers cover the same work per step: building the batch (spaCy: the `Example`s;
HF: tokenizing and aligning the labels), forward, backward and the optimizer step, with
optimizer state kept across steps on both sides.
"""

import time
from pathlib import Path
from typing import Any

from spacy.util import load_config, load_model_from_config

from spacy_albert.models.encoder import DEFAULT_TRAIN_LENGTH_GROUPS

from . import hf_baseline as hf
from .data import conll_sentences, count_words, interleave, read_sst, sample, spacy_examples
from .hf_training import HFLoop, LoopSettings, sequence_batch, token_batch
from .settings import CONFIGS

WARMUP_STEPS = 2  # the first steps warm up allocators and are not timed


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
    conll = sample(conll_sentences(data, "train"), 4000, seed)
    sst = sample(read_sst(data, "train"), 4000, seed)
    steps_data = interleave(conll, sst, batch, steps + WARMUP_STEPS, seed)
    config = load_config(CONFIGS / "textcat_ner.cfg", interpolate=True,
                         overrides={"paths.transformer": str(model)})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    all_examples = spacy_examples(nlp, conll[:200], sst[:200])
    nlp.initialize(lambda: all_examples)
    optimizer = nlp.create_optimizer()
    tokenizer = hf.load_tokenizer(model)
    settings = LoopSettings(batch_size=batch, warmup=0, seed=seed,
                            length_groups=DEFAULT_TRAIN_LENGTH_GROUPS)
    total = steps + WARMUP_STEPS
    tok_loop = HFLoop(hf.load_token_classifier(model), total, settings)
    seq_loop = HFLoop(hf.load_sequence_classifier(model), total, settings)
    tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
    spacy_time, hf_time, words = 0.0, 0.0, 0
    for step, (conll_batch, sst_batch) in enumerate(steps_data):
        t0 = time.perf_counter()
        nlp.update(spacy_examples(nlp, conll_batch, sst_batch), sgd=optimizer, drop=0.1,
                   losses={})
        t1 = time.perf_counter()
        tok_loop.step(token_batch(tokenizer, [s.words for s in conll_batch],
                                  [[tag_ids[t] for t in s.tags] for s in conll_batch],
                                  settings.max_length)[0])
        seq_loop.step(sequence_batch(tokenizer, [t for t, _ in sst_batch],
                                     [label for _, label in sst_batch], settings.max_length)[0])
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
                 f"steps; each update's batch run as {DEFAULT_TRAIN_LENGTH_GROUPS} length-sorted "
                 "groups on both sides",
    }
