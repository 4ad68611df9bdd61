"""The rules that decide what gets reported: the headline pair, each side's learning rate,
and when a system counts as not having learned. BENCHMARKS.md states them (FAIRNESS_RULES).
"""

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

# A reduced-precision configuration may stand for its side if it loses at most this much
# accuracy (points, on either task) against the same side's fp32.
MAX_ACCURACY_LOSS = 0.5
# A task counts as "at chance" within this many points of the majority-class accuracy
# (SST-2), or below this entity F1 (CoNLL).
CHANCE_MARGIN = 2.0
CHANCE_F1 = 5.0
DID_NOT_LEARN = "did not learn at any rate in the grid"
TASKS = ("conll_f1", "sst2_accuracy")

FAIRNESS_RULES = f"""**Fairness rules** (issue 11).

1. Every speed trick that is not specific to spacy-albert's design is given to the HF side
   too: the fused tanh GELU (`hidden_act="gelu_pytorch_tanh"`), `torch.inference_mode()`,
   length-sorted batches with dynamic padding, the fast tokenizer. `hf_pipeline_two_defaults`
   (HF as a user who changes nothing runs it) is only the second, labelled column.
2. Same precision against same precision: ours fp32 vs HF fp32, ours bf16 vs HF bf16
   autocast, ours int8 (`quantize`) vs HF int8 (`torch.ao` dynamic quantization). bf16 runs
   only where the CPU has native bf16; int8 uses the kernel `quantize` picks for this CPU.
3. Headline = our fastest configuration vs the fastest HF configuration, each among those
   that lose at most {MAX_ACCURACY_LOSS} points of accuracy against their own fp32
   (so an HF configuration at the same or lower accuracy than ours still counts); a loss
   that was not measured in the run is marked.
4. Long documents: HF both as HF users run it (512 pieces, 128 overlap) and in spacy-albert's
   128/96 windows, so the table shows what the windows cost and buy.
5. Training speed: both timers cover the same work: batch building, tokenization, forward,
   backward, optimizer step; both sides make the same encoder calls per step, each over
   the same number of length-sorted rows (spacy-albert's `train_length_groups` over the
   joint batch of both tasks' rows; half as many per HF model, over one task's rows).
6. Accuracy: each side's learning rate is picked on the dev set from the same grid; test
   scores are mean ± sd over the seeds; a task within {CHANCE_MARGIN:g} points of the
   majority class (SST-2) or under {CHANCE_F1:g} F1 (CoNLL) at every rate is reported as
   "{DID_NOT_LEARN}", never as a win.
"""


@dataclass(frozen=True)
class Candidate:
    """One configuration competing for the headline.

    name (str): The contender.
    side (str): "ours" or "hf".
    words_per_s (float): Its speed (best round).
    accuracy_loss (Optional[float]): Points lost against its side's fp32 (None: not measured).
    """

    name: str
    side: str
    words_per_s: float
    accuracy_loss: Optional[float]

    def eligible(self, max_loss: float = MAX_ACCURACY_LOSS) -> bool:
        """Whether it may stand for its side (an unmeasured loss is given the benefit)."""
        return self.accuracy_loss is None or self.accuracy_loss <= max_loss


@dataclass(frozen=True)
class Headline:
    """Our fastest eligible configuration against HF's.

    ours (Candidate): Our pick.
    hf (Candidate): HF's pick.
    unmeasured (tuple[str, ...]): Picks whose accuracy loss was not measured.
    """

    ours: Candidate
    hf: Candidate
    unmeasured: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.ours.words_per_s / self.hf.words_per_s

    def to_dict(self) -> dict[str, Any]:
        return {"ours": self.ours.name, "hf": self.hf.name, "ratio": round(self.ratio, 3),
                "ours_words_per_s": self.ours.words_per_s, "hf_words_per_s": self.hf.words_per_s,
                "ours_accuracy_loss": self.ours.accuracy_loss,
                "hf_accuracy_loss": self.hf.accuracy_loss,
                "accuracy_loss_not_measured": list(self.unmeasured)}


def pick_headline(candidates: Iterable[Candidate],
                  max_loss: float = MAX_ACCURACY_LOSS) -> Optional[Headline]:
    """The fastest eligible configuration of each side (None if a side has none).

    candidates (Iterable[Candidate]): Both sides' configurations.
    max_loss (float): The largest accuracy loss a configuration may have.
    RETURNS (Optional[Headline]): The pair.
    """
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        if not candidate.eligible(max_loss):
            continue
        current = best.get(candidate.side)
        if current is None or candidate.words_per_s > current.words_per_s:
            best[candidate.side] = candidate
    if "ours" not in best or "hf" not in best:
        return None
    unmeasured = tuple(c.name for c in (best["ours"], best["hf"]) if c.accuracy_loss is None)
    return Headline(best["ours"], best["hf"], unmeasured)


def accuracy_loss(fp32: Mapping[str, float], other: Mapping[str, float]) -> float:
    """The larger of the two tasks' losses (points) of `other` against `fp32`, never < 0."""
    return round(max(0.0, *(fp32[task] - other[task] for task in TASKS)), 2)


def at_chance(task: str, score: float, majority: float) -> bool:
    """Whether a task's score is no better than chance.

    task (str): "conll_f1" or "sst2_accuracy".
    score (float): The score in percent.
    majority (float): Accuracy (percent) of always predicting the most frequent class.
    RETURNS (bool): At chance.
    """
    if task == "conll_f1":
        return score < CHANCE_F1
    return score <= majority + CHANCE_MARGIN


def majority_accuracy(labels: Sequence[int]) -> float:
    """Accuracy (percent) of always predicting the most frequent label."""
    return 100 * max(labels.count(label) for label in set(labels)) / len(labels)


def pick_learn_rate(dev_scores: Mapping[float, Mapping[str, float]]) -> float:
    """The rate with the best dev mean of the two tasks (ties: the smaller rate)."""
    return max(sorted(dev_scores),
               key=lambda rate: statistics.fmean(dev_scores[rate][t] for t in TASKS))


def learned(dev_scores: Mapping[float, Mapping[str, float]], task: str,
            majority: float) -> bool:
    """Whether a task beat chance on dev at any rate of the grid."""
    return any(not at_chance(task, scores[task], majority) for scores in dev_scores.values())


def mean_sd(values: Sequence[float], digits: Optional[int] = 2) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one value), rounded to `digits` decimals
    (None: unrounded, for small quantities such as calibration errors)."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    if digits is not None:
        mean, sd = round(mean, digits), round(sd, digits)
    return {"mean": mean, "sd": sd, "n": len(values)}
