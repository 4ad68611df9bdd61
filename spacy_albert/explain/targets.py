"""What an explanation holds: one `Target` per explained output, gathered in an `Explanation`."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

from .render import render_html

Baseline = Literal["pad", "zero"]
BASELINES: tuple[Baseline, ...] = ("pad", "zero")
TargetKind = Literal["textcat", "entity"]


@dataclass
class Target:
    """One explained output: a text category's probability or an entity's probability.

    kind (TargetKind): 'textcat' or 'entity'.
    component (str): The pipeline component that produced it.
    label (str): The category or entity label.
    score (float): f(input): the label's probability / the entity's move probability.
    baseline_score (float): f(baseline).
    attributions (List[float]): One number per token; positive raises the score.
    predicted (bool): The label is predicted (argmax / over threshold); entities: True.
    start (Optional[int]): Entity start token.
    end (Optional[int]): Entity end token (exclusive).
    text (Optional[str]): Entity text.
    start_char (Optional[int]): Entity start character.
    end_char (Optional[int]): Entity end character.
    convergence_delta (Optional[float]): captum's completeness error over the wordpieces,
        Σ piece attributions − (f(input) − f(baseline)); equals `delta` when no piece's
        attribution is lost on the way to the tokens.
    """

    kind: TargetKind
    component: str
    label: str
    score: float
    baseline_score: float
    attributions: list[float] = field(default_factory=list)
    predicted: bool = True
    start: Optional[int] = None
    end: Optional[int] = None
    text: Optional[str] = None
    start_char: Optional[int] = None
    end_char: Optional[int] = None
    convergence_delta: Optional[float] = None

    @property
    def delta(self) -> float:
        """Completeness error: Σ attributions − (f(input) − f(baseline))."""
        return float(sum(self.attributions) - (self.score - self.baseline_score))

    @property
    def title(self) -> str:
        """A short heading, e.g. 'textcat: POSITIVE' or "ner: PER 'Marcus Thorne'"."""
        if self.kind == "entity":
            return f"{self.component}: {self.label} {self.text!r}"
        return f"{self.component}: {self.label}"

    def is_complete(self, tolerance: float = 0.05, min_change: float = 1e-3) -> bool:
        """Whether the attributions add up to score − baseline score within `tolerance`
        of that change (changes below `min_change` always pass).

        tolerance (float): Allowed |delta| as a share of |score − baseline score|.
        min_change (float): Smallest change worth checking.
        RETURNS (bool): False when more integration steps are needed.
        """
        change = abs(self.score - self.baseline_score)
        return change <= min_change or abs(self.delta) <= tolerance * change

    def strongest(self, k: int) -> list[int]:
        """The positions of the k tokens with the largest |attribution|, strongest first.

        k (int): How many.
        RETURNS (List[int]): Token positions.
        """
        values = self.attributions
        return sorted(range(len(values)), key=lambda i: -abs(values[i]))[:k]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "component": self.component,
            "label": self.label,
            "score": self.score,
            "baseline_score": self.baseline_score,
            "delta": self.delta,
            "convergence_delta": self.convergence_delta,
            "predicted": self.predicted,
            "attributions": list(self.attributions),
        }
        if self.kind == "entity":
            data.update(start=self.start, end=self.end, text=self.text,
                        start_char=self.start_char, end_char=self.end_char)
        return data


@dataclass
class Explanation:
    """Token attributions for every explained output of one text.

    text (str): The text.
    tokens (List[str]): The doc's token texts.
    whitespace (List[str]): Each token's trailing whitespace.
    targets (List[Target]): One per text category label and per entity.
    n_steps (int): Integration steps.
    baseline (Baseline): 'pad' or 'zero'.
    """

    text: str
    tokens: list[str]
    whitespace: list[str]
    targets: list[Target] = field(default_factory=list)
    n_steps: int = 32
    baseline: Baseline = "pad"

    def get(self, label: str, kind: Optional[TargetKind] = None) -> list[Target]:
        """The targets with this label (optionally only of kind 'textcat' / 'entity')."""
        return [t for t in self.targets if t.label == label and (kind is None or t.kind == kind)]

    def text_without(self, positions: set[int]) -> str:
        """The text with the tokens at these positions (and their whitespace) removed."""
        pairs = zip(self.tokens, self.whitespace)
        return "".join(t + ws for i, (t, ws) in enumerate(pairs) if i not in positions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens": [{"text": t, "ws": ws} for t, ws in zip(self.tokens, self.whitespace)],
            "method": "integrated_gradients",
            "space": "albert_word_embeddings",
            "quadrature": "gauss-legendre",
            "n_steps": self.n_steps,
            "baseline": self.baseline,
            "targets": [t.to_dict() for t in self.targets],
        }

    def to_json(self, path: Union[str, Path]) -> None:
        """Write `to_dict()` to a JSON file (floats written exactly, UTF-8)."""
        # The standard library writes the shortest repr that round-trips; srsly's ujson
        # would cut floats to 9 significant digits.
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        Path(path).write_text(text + "\n", encoding="utf8")

    def to_html(self, page: bool = True) -> str:
        """Render in displaCy's style: one section per target, tokens shaded by attribution."""
        return render_html(self, page=page)


def top_tokens(target: Target, tokens: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """The k tokens with the largest attributions (most positive first).

    target (Target): An explained output.
    tokens (Sequence[str]): The explanation's tokens.
    k (int): How many.
    RETURNS (List[Tuple[str, float]]): (token, attribution) pairs.
    """
    order = sorted(range(len(target.attributions)), key=lambda i: -target.attributions[i])
    return [(tokens[i], target.attributions[i]) for i in order[:k]]
