"""Calibration maps fitted on dev: temperature scaling for `doc.cats`, Platt or isotonic
regression for entity scores, and the fitted state the `albert_calibrator` stores.

Every map is monotone (non-decreasing) in the raw score, so calibration changes scores
but never an exclusive argmax, the order of a head's labels or `doc.ents`.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal, Optional

import numpy as np
from numpy.typing import ArrayLike

EPS = 1e-6
ScoreMapMethod = Literal["identity", "platt", "isotonic"]
# Simplest first: `choose_score_map` leaves the identity only for a clear gain.
SCORE_MAP_METHODS: tuple[ScoreMapMethod, ...] = ("identity", "platt", "isotonic")


def logit(probs: ArrayLike) -> np.ndarray:
    """log(p / (1 - p)), with p clipped to [EPS, 1 - EPS] so 0 and 1 stay finite."""
    p = np.clip(np.asarray(probs, dtype="float64"), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow."""
    x = np.asarray(x, dtype="float64")
    return np.exp(-np.logaddexp(0.0, -x))


def temperature_softmax(probs: ArrayLike, temperature: float) -> np.ndarray:
    """softmax(log p / T) over the last axis: exclusive probabilities at temperature T."""
    z = np.log(np.clip(np.asarray(probs, dtype="float64"), EPS, 1.0)) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def temperature_sigmoid(probs: ArrayLike, temperature: float) -> np.ndarray:
    """sigmoid(logit p / T) elementwise: independent label probabilities at temperature T."""
    return sigmoid(logit(probs) / temperature)


def _golden_section(f: Callable[[float], float], lo: float, hi: float, iters: int = 80) -> float:
    """Minimise a unimodal function of one variable on [lo, hi]."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def fit_temperature(probs: ArrayLike, gold: ArrayLike, exclusive: bool) -> float:
    """The temperature that minimises the negative log-likelihood of the gold labels.

    The NLL is convex in 1/T, so a golden-section search over log T in [1/100, 100]
    finds the optimum.

    probs (ArrayLike): Exclusive: (n, k) probabilities, rows summing to 1. Multi-label:
        any shape of independent label probabilities.
    gold (ArrayLike): Exclusive: (n,) gold label indices. Multi-label: 0/1 per
        probability, same shape as `probs`.
    exclusive (bool): Which of the two.
    RETURNS (float): T > 0; 1.0 when there is nothing to fit on.
    """
    p = np.asarray(probs, dtype="float64")
    y = np.asarray(gold)
    if p.size == 0 or y.size == 0:
        return 1.0
    if exclusive:
        log_p = np.log(np.clip(p, EPS, 1.0))
        rows = np.arange(len(y))

        def nll(log_t: float) -> float:
            z = log_p / np.exp(log_t)
            return float(np.mean(np.logaddexp.reduce(z, axis=1) - z[rows, y.astype(int)]))

    else:
        x = logit(p).reshape(-1)
        t = y.reshape(-1).astype("float64")

        def nll(log_t: float) -> float:
            s = x / np.exp(log_t)
            return float(np.mean(np.logaddexp(0.0, s) - t * s))

    return float(np.exp(_golden_section(nll, np.log(0.01), np.log(100.0))))


@dataclass(frozen=True)
class ScoreMap:
    """A monotone map from raw scores in [0, 1] to calibrated probabilities.

    method (ScoreMapMethod): "identity", "platt" (sigmoid(slope * logit(s) + intercept))
        or "isotonic" (piecewise-linear through `knots_x` -> `knots_y`, flat outside).
    slope (float): Platt slope (>= 0, so the map never reverses the order).
    intercept (float): Platt intercept.
    knots_x (tuple[float, ...]): Isotonic: increasing raw scores.
    knots_y (tuple[float, ...]): Isotonic: their non-decreasing calibrated values.
    """

    method: ScoreMapMethod = "identity"
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()

    def __call__(self, scores: ArrayLike) -> np.ndarray:
        s = np.asarray(scores, dtype="float64")
        if self.method == "platt":
            return sigmoid(self.slope * logit(s) + self.intercept)
        if self.method == "isotonic" and self.knots_x:
            return np.interp(s, self.knots_x, self.knots_y)
        return s.copy()


def fit_platt(scores: ArrayLike, correct: ArrayLike, iters: int = 100) -> ScoreMap:
    """Platt scaling: logistic regression of correctness on logit(score), by Newton steps.

    Targets are Platt's smoothed (n+ + 1) / (n+ + 2) and 1 / (n- + 2), which keeps the fit
    finite when the scores separate right from wrong perfectly.

    scores (ArrayLike): Raw scores in [0, 1].
    correct (ArrayLike): Whether each scored prediction was right.
    iters (int): Maximum Newton steps.
    RETURNS (ScoreMap): A "platt" map; the identity when all outcomes are equal or no data.
    """
    x = logit(scores).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    n_pos, n_neg = int(c.sum()), int((~c).sum())
    if not n_pos or not n_neg:
        return ScoreMap()
    t = np.where(c, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    features = np.stack([x, np.ones_like(x)], axis=1)
    w = np.zeros(2)
    for _ in range(iters):
        p = sigmoid(features @ w)
        grad = features.T @ (p - t)
        hess = (features * (p * (1.0 - p))[:, None]).T @ features + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return ScoreMap("platt", slope=float(max(w[0], 0.0)), intercept=float(w[1]))


def fit_isotonic(scores: ArrayLike, correct: ArrayLike) -> ScoreMap:
    """Isotonic regression of correctness on the score (pool adjacent violators).

    scores (ArrayLike): Raw scores in [0, 1].
    correct (ArrayLike): Whether each scored prediction was right.
    RETURNS (ScoreMap): An "isotonic" map with a knot at each end of every fitted block;
        the identity when there is no data.
    """
    s = np.asarray(scores, dtype="float64").reshape(-1)
    c = np.asarray(correct, dtype="float64").reshape(-1)
    if not s.size:
        return ScoreMap()
    xs, inverse = np.unique(s, return_inverse=True)
    weights = np.bincount(inverse).astype("float64")
    means = np.bincount(inverse, weights=c) / weights
    # Blocks: [value, weight, first x index, last x index]; merge while order is violated.
    blocks: list[list[float]] = []
    for i, (mean, weight) in enumerate(zip(means, weights)):
        blocks.append([mean, weight, i, i])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            value, weight_b, _, last = blocks.pop()
            prev = blocks[-1]
            total = prev[1] + weight_b
            prev[0] = (prev[0] * prev[1] + value * weight_b) / total
            prev[1], prev[3] = total, last
    knots_x: list[float] = []
    knots_y: list[float] = []
    for value, _, first, last in blocks:
        for index in sorted({int(first), int(last)}):
            knots_x.append(float(xs[index]))
            knots_y.append(float(value))
    return ScoreMap("isotonic", knots_x=tuple(knots_x), knots_y=tuple(knots_y))


def fit_score_map(scores: ArrayLike, correct: ArrayLike, method: ScoreMapMethod) -> ScoreMap:
    """Fit a score map with the named method ("identity", "platt" or "isotonic")."""
    if method == "platt":
        return fit_platt(scores, correct)
    if method == "isotonic":
        return fit_isotonic(scores, correct)
    if method == "identity":
        return ScoreMap()
    raise ValueError(f"unknown calibration method {method!r}: use platt, isotonic or identity")


def choose_score_map(
    scores: ArrayLike, correct: ArrayLike, groups: ArrayLike, n_folds: int = 5, seed: int = 0
) -> ScoreMap:
    """Pick identity, Platt or isotonic by cross-validated Brier score, then refit it.

    Folds split by group (the doc), so entities of one doc are never on both sides. Platt
    or isotonic is chosen only when its Brier score beats the raw scores' by more than one
    standard error of the paired difference, so scores that are already calibrated are
    left as they are.

    scores (ArrayLike): Raw scores in [0, 1].
    correct (ArrayLike): Whether each scored prediction was right.
    groups (ArrayLike): Group id per score (e.g. doc index).
    n_folds (int): Cross-validation folds (fewer when there are fewer groups).
    seed (int): Seed of the fold assignment.
    RETURNS (ScoreMap): The chosen method fitted on all the data.
    """
    s = np.asarray(scores, dtype="float64").reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    unique_groups, group_index = np.unique(np.asarray(groups).reshape(-1), return_inverse=True)
    n_folds = min(n_folds, len(unique_groups))
    if n_folds < 2 or c.all() or not c.any():
        return ScoreMap()
    fold_of_group = np.random.default_rng(seed).permutation(len(unique_groups)) % n_folds
    fold = fold_of_group[group_index]
    errors: dict[ScoreMapMethod, np.ndarray] = {}
    for method in SCORE_MAP_METHODS:
        errors[method] = np.empty_like(s)
        for k in range(n_folds):
            test = fold == k
            score_map = fit_score_map(s[~test], c[~test], method)
            errors[method][test] = (score_map(s[test]) - c[test]) ** 2
    # One-standard-error rule: a map replaces the raw scores only when it beats them by
    # more than the noise of the comparison; otherwise a small dev set picks a map that is
    # better by chance and worse on new docs.
    better = [
        method
        for method in SCORE_MAP_METHODS[1:]
        if _mean_gain(errors["identity"] - errors[method]) > 0.0
    ]
    best = min(better, key=lambda m: float(errors[m].mean()), default="identity")
    return fit_score_map(s, c, best)


def _mean_gain(differences: np.ndarray) -> float:
    """The mean of paired differences less one standard error (> 0: a clear gain)."""
    n = len(differences)
    if n < 2:
        return 0.0
    return float(differences.mean() - differences.std(ddof=1) / np.sqrt(n))


@dataclass(frozen=True)
class CatsCalibration:
    """Temperature scaling (and, multi-label, decision thresholds) for one textcat head.

    component (str): The text classifier's component name.
    labels (tuple[str, ...]): Its labels, in its order.
    exclusive (bool): Softmax over the labels (True) or independent sigmoids.
    temperature (float): T of softmax(log p / T) or sigmoid(logit p / T).
    thresholds (dict[str, float]): Multi-label: per-label decision thresholds on the
        calibrated scale (a label is predicted when its score >= its threshold).
    """

    component: str
    labels: tuple[str, ...]
    exclusive: bool
    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)

    def apply(self, probs: ArrayLike) -> np.ndarray:
        """Calibrate (..., len(labels)) raw probabilities of this head."""
        if self.exclusive:
            return temperature_softmax(probs, self.temperature)
        return temperature_sigmoid(probs, self.temperature)


@dataclass(frozen=True)
class EntityCalibration:
    """The entity score map and the score threshold chosen for a precision on dev.

    score_map (ScoreMap): Raw beam score -> calibrated probability of being right.
    min_score (Optional[float]): Keep entities whose calibrated score is >= this to reach
        `min_precision` (None: not chosen, or no threshold reached it on dev).
    min_precision (Optional[float]): The precision asked for when choosing `min_score`.
    """

    score_map: ScoreMap = ScoreMap()
    min_score: Optional[float] = None
    min_precision: Optional[float] = None


@dataclass(frozen=True)
class PipelineCalibration:
    """Everything `albert_calibrator` applies: one entry per textcat head, plus entities.

    cats (tuple[CatsCalibration, ...]): Per text classifier.
    entities (Optional[EntityCalibration]): For `span._.score` (None: leave raw).
    """

    cats: tuple[CatsCalibration, ...] = ()
    entities: Optional[EntityCalibration] = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (inverse of `from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineCalibration":
        """Read what `to_dict` wrote."""
        cats = tuple(
            CatsCalibration(
                component=head["component"],
                labels=tuple(head["labels"]),
                exclusive=bool(head["exclusive"]),
                temperature=float(head["temperature"]),
                thresholds={k: float(v) for k, v in head.get("thresholds", {}).items()},
            )
            for head in data.get("cats", [])
        )
        entities = None
        if data.get("entities") is not None:
            ents = data["entities"]
            score_map = dict(ents["score_map"])
            score_map["knots_x"] = tuple(score_map.get("knots_x", ()))
            score_map["knots_y"] = tuple(score_map.get("knots_y", ()))
            entities = EntityCalibration(
                score_map=ScoreMap(**score_map),
                min_score=ents.get("min_score"),
                min_precision=ents.get("min_precision"),
            )
        return cls(cats=cats, entities=entities)
