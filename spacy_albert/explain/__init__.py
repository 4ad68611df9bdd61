"""Explanations: integrated-gradient attributions per category and entity, rendering, a
faithfulness check."""

from .attribution import explain
from .faithfulness import DeletionCheck, deletion_check
from .render import render_html
from .targets import BASELINES, Baseline, Explanation, Target, top_tokens

__all__ = [
    "BASELINES",
    "Baseline",
    "DeletionCheck",
    "Explanation",
    "Target",
    "deletion_check",
    "explain",
    "render_html",
    "top_tokens",
]
