"""How well confidences match outcomes: ECE, reliability bins and diagrams, P-R curves.

All functions take flat arrays: `probs[i]` is a confidence in [0, 1] and `correct[i]`
whether that prediction was right (for a multi-label category: whether the label is
gold). Figures need matplotlib (the `eval` extra) and are imported lazily.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width confidence bins over [0, 1].

    edges (np.ndarray): n_bins + 1 bin edges.
    counts (np.ndarray): How many predictions fall in each bin.
    confidence (np.ndarray): Mean confidence per bin (nan where empty).
    accuracy (np.ndarray): Fraction correct per bin (nan where empty).
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


@dataclass(frozen=True)
class PRCurve:
    """Precision and recall of "keep predictions scoring >= threshold", per threshold.

    thresholds (np.ndarray): The distinct scores, highest first.
    precision (np.ndarray): Precision of the kept predictions at each threshold.
    recall (np.ndarray): Kept correct predictions over `n_gold`.
    kept (np.ndarray): How many predictions are kept at each threshold.
    """

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    kept: np.ndarray


def _as_arrays(probs: ArrayLike, correct: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype="float64").reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    if p.shape != c.shape:
        raise ValueError(f"probs and correct differ in length: {p.size} vs {c.size}")
    if p.size and (np.isnan(p).any() or p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("confidences must be numbers in [0, 1]")
    return p, c


def reliability_bins(probs: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> ReliabilityBins:
    """Bin confidences into equal-width bins and measure accuracy in each.

    probs (ArrayLike): Confidences in [0, 1].
    correct (ArrayLike): Whether each prediction was right.
    n_bins (int): Number of bins over [0, 1]; 1.0 falls in the last one.
    RETURNS (ReliabilityBins): Counts, mean confidence and accuracy per bin.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    p, c = _as_arrays(probs, correct)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=p, minlength=n_bins) / counts
        accuracy = np.bincount(index, weights=c.astype(float), minlength=n_bins) / counts
    return ReliabilityBins(edges, counts, confidence, accuracy)


def expected_calibration_error(probs: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error: sum over bins of |accuracy - confidence| x bin share.

    probs (ArrayLike): Confidences in [0, 1].
    correct (ArrayLike): Whether each prediction was right.
    n_bins (int): Number of equal-width bins.
    RETURNS (float): ECE in [0, 1]; nan when there are no predictions.
    """
    bins = reliability_bins(probs, correct, n_bins)
    total = bins.counts.sum()
    if not total:
        return float("nan")
    filled = bins.counts > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float((gaps * bins.counts[filled]).sum() / total)


def precision_recall_curve(scores: ArrayLike, correct: ArrayLike, n_gold: int) -> PRCurve:
    """Precision and recall of keeping the predictions that score at least each threshold.

    scores (ArrayLike): One score per prediction.
    correct (ArrayLike): Whether each prediction matches a gold item.
    n_gold (int): Number of gold items (the recall denominator).
    RETURNS (PRCurve): One point per distinct score, highest threshold first.
    """
    s, c = _as_arrays(scores, correct)
    order = np.argsort(-s, kind="stable")
    s, c = s[order], c[order]
    last_of_score = np.r_[s[1:] != s[:-1], True] if s.size else np.zeros(0, dtype=bool)
    kept = np.arange(1, s.size + 1)[last_of_score]
    hits = np.cumsum(c)[last_of_score]
    recall = hits / n_gold if n_gold else np.zeros_like(hits, dtype=float)
    return PRCurve(s[last_of_score], hits / kept, recall, kept)


def reliability_diagram(
    probs: ArrayLike,
    correct: ArrayLike,
    *,
    calibrated: Optional[ArrayLike] = None,
    n_bins: int = 10,
    title: str = "",
) -> "Figure":
    """Draw a reliability diagram: accuracy per confidence bin against the diagonal.

    probs (ArrayLike): Confidences before calibration.
    correct (ArrayLike): Whether each prediction was right.
    calibrated (Optional[ArrayLike]): The same predictions' calibrated confidences, drawn
        beside the uncalibrated ones.
    n_bins (int): Number of equal-width bins.
    title (str): Figure title (e.g. the head's name).
    RETURNS (Figure): A matplotlib figure; save it with `fig.savefig(path)`.
    """
    from matplotlib.figure import Figure

    series = [("before", probs, "tab:red")]
    if calibrated is not None:
        series.append(("after", calibrated, "tab:blue"))
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    width = 1.0 / n_bins / len(series)
    for i, (name, values, color) in enumerate(series):
        bins = reliability_bins(values, correct, n_bins)
        filled = bins.counts > 0
        ece = expected_calibration_error(values, correct, n_bins)
        ax.bar(
            bins.edges[:-1][filled] + i * width,
            bins.accuracy[filled],
            width=width,
            align="edge",
            color=color,
            alpha=0.6,
            label=f"{name} (ECE {ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig
