"""Inference speed in interleaved rounds, and how often the fast paths agree with fp32.

Every contender runs in this one process on the same texts, in rounds (A, B, C, C, B, A, ...)
so that load from other processes hits them alike; ratios are taken per round and the median
is reported next to the best-round figures.
"""

import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import spacy

from spacy_albert.models.cpu import current_cpu

from .contenders import make_contender, precision
from .data import count_words
from .fairness import Candidate, pick_headline
from .pipelines import PipelinePaths
from .settings import BF16

# (a, b): the speed of a over b, reported where both ran. Same precision on both sides;
# then each side's reduced precision over its own fp32, and what HF's own tricks give it.
RATIO_PAIRS = [
    ("spacy_joint_fp32", "hf_raw_two"), ("spacy_joint_fp32", "hf_pipeline_two"),
    ("spacy_joint_bf16", "hf_raw_two_bf16"), ("spacy_joint_int8", "hf_raw_two_int8"),
    ("spacy_ner_fp32", "hf_raw_tok"), ("spacy_ner_fp32", "hf_pipeline_tok"),
    ("spacy_ner_int8", "hf_raw_tok_int8"),
    ("spacy_joint_fp32", "hf_raw_two_w128"), ("spacy_joint_fp32", "hf_pipeline_two_defaults"),
    ("spacy_joint_bf16", "spacy_joint_fp32"), ("spacy_joint_int8", "spacy_joint_fp32"),
    ("spacy_ner_int8", "spacy_ner_fp32"),
    ("hf_raw_two_bf16", "hf_raw_two"), ("hf_raw_two_int8", "hf_raw_two"),
    ("hf_raw_two", "hf_pipeline_two"), ("hf_pipeline_two", "hf_pipeline_two_defaults"),
    ("hf_raw_two_w128", "hf_raw_two"),
]
# Contenders that compete for the headline (both tasks; HF's defaults column excluded).
HEADLINE_OURS = ("spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8")
HEADLINE_HF = ("hf_pipeline_two", "hf_raw_two", "hf_raw_two_bf16", "hf_raw_two_int8",
               "hf_raw_two_w128")


def time_rounds(paths: PipelinePaths, texts: list[str], names: Sequence[str], batch_size: int,
                rounds: int, long: bool) -> dict[str, list[float]]:
    """Seconds per round for each contender; even rounds run in order, odd rounds reversed."""
    contenders = {}
    for name in names:
        contenders[name] = make_contender(name, paths, batch_size, long)
        contenders[name](texts[: max(1, len(texts) // 8)])  # warm-up: allocators, oneDNN
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in list(names) if r % 2 == 0 else list(reversed(names)):
            start = time.perf_counter()
            contenders[name](texts)
            times[name].append(time.perf_counter() - start)
    return times


def summarize(times: dict[str, list[float]], words: int, texts: int,
              batch_size: int) -> dict[str, Any]:
    """The results-file section of one inference run.

    times (dict[str, list[float]]): Seconds per round for each contender.
    words (int): Words in the texts.
    texts (int): Number of texts.
    batch_size (int): Texts per batch.
    RETURNS (dict[str, Any]): words/s per contender (best and median round), the median of
        the per-round ratios and the best-round ratio for each pair in RATIO_PAIRS that ran.
    """
    rounds = len(next(iter(times.values()), []))
    result: dict[str, Any] = {"words": words, "texts": texts, "rounds": rounds,
                              "batch_size": batch_size, "contenders": {}}
    for name, seconds in times.items():
        result["contenders"][name] = {
            "seconds": [round(t, 3) for t in seconds],
            "words_per_s_best": round(words / min(seconds), 1),
            "words_per_s_median": round(words / statistics.median(seconds), 1),
        }
    pairs = [(a, b) for a, b in RATIO_PAIRS if a in times and b in times]
    result["ratios"] = {
        f"{a}/{b}": round(statistics.median(tb / ta for ta, tb in zip(times[a], times[b])), 3)
        for a, b in pairs
    }
    result["ratios_best"] = {f"{a}/{b}": round(min(times[b]) / min(times[a]), 3)
                             for a, b in pairs}
    return result


def bench_inference(paths: PipelinePaths, texts: list[str], names: Sequence[str],
                    batch_size: int, rounds: int, long: bool) -> dict[str, Any]:
    """Words/s per contender over interleaved rounds, plus per-round ratios (see summarize)."""
    times = time_rounds(paths, texts, names, batch_size, rounds, long)
    return summarize(times, count_words(texts), len(texts), batch_size)


def agreement(paths: PipelinePaths, texts: list[str]) -> dict[str, Any]:
    """How often bf16 / int8 predictions match fp32 (top category; exact entity spans)."""

    def predict(path: Path, config: dict[str, Any]) -> list[tuple[str, list]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nlp = spacy.load(path, config=config)
        return [(max(d.cats, key=d.cats.get), [(e.start, e.end, e.label_) for e in d.ents])
                for d in nlp.pipe(texts, batch_size=32)]

    base = predict(paths.joint, {})
    out = {}
    variants = {"bf16": (paths.joint, BF16), "int8": (paths.joint_int8, {})}
    if not current_cpu().native_bf16:
        del variants["bf16"]  # bf16 runs only where the CPU has it natively
    for name, (path, config) in variants.items():
        other = predict(path, config)
        out[name] = {
            "same_top_cat": round(sum(a[0] == b[0] for a, b in zip(base, other)) / len(base), 3),
            "same_ents": round(sum(a[1] == b[1] for a, b in zip(base, other)) / len(base), 3),
        }
    return out


def headline(section: dict[str, Any],
             losses: Optional[dict[str, dict[str, float]]] = None) -> Optional[dict[str, Any]]:
    """Our fastest configuration vs HF's fastest, each within the accuracy-loss bound.

    section (dict[str, Any]): One inference run (summarize's output).
    losses (Optional[dict[str, dict[str, float]]]): Accuracy loss against fp32 per side
        ("ours" / "hf") and precision, from the accuracy section (None: not measured).
    RETURNS (Optional[dict[str, Any]]): Headline.to_dict() plus the median per-round ratio,
        or None if a side did not run.
    """
    contenders = section["contenders"]
    candidates = []
    for side, names in (("ours", HEADLINE_OURS), ("hf", HEADLINE_HF)):
        for name in names:
            if name in contenders:
                loss = 0.0 if precision(name) == "fp32" else (
                    (losses or {}).get(side, {}).get(precision(name)))
                candidates.append(Candidate(name, side, contenders[name]["words_per_s_best"],
                                            loss))
    picked = pick_headline(candidates)
    if picked is None:
        return None
    ours, hf = contenders[picked.ours.name]["seconds"], contenders[picked.hf.name]["seconds"]
    return {**picked.to_dict(),
            "ratio_median": round(statistics.median(b / a for a, b in zip(ours, hf)), 3)}
