"""Training throughput: spaCy's update step (what `spacy train` runs) vs the HF loop."""

import time
from pathlib import Path
from typing import Any

from spacy.util import load_config, load_model_from_config

from . import hf_baseline as hf
from .data import conll_sentences, count_words, interleave, read_sst, sample, spacy_examples
from .hf_training import LoopSettings, train_sequence_classifier, train_token_classifier
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
    RETURNS (dict[str, Any]): The results file's training section.
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
    seq, tok = hf.load_sequence_classifier(model), hf.load_token_classifier(model)
    tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
    spacy_time, hf_time, words = 0.0, 0.0, 0
    for step, (conll_batch, sst_batch) in enumerate(steps_data):
        examples = spacy_examples(nlp, conll_batch, sst_batch)
        # One HF update per step at the full rate (no warm-up step at rate 0).
        settings = LoopSettings(batch_size=batch, warmup=0, seed=step)
        t0 = time.perf_counter()
        nlp.update(examples, sgd=optimizer, drop=0.1, losses={})
        t1 = time.perf_counter()
        train_token_classifier(tok, tokenizer, [s.words for s in conll_batch],
                               [[tag_ids[t] for t in s.tags] for s in conll_batch], 1, settings)
        train_sequence_classifier(seq, tokenizer, [t for t, _ in sst_batch],
                                  [label for _, label in sst_batch], 1, settings)
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
        "note": "HF optimizer/scheduler are rebuilt each step (negligible next to a step)",
    }
