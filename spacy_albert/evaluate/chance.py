"""Whether a text classifier does better than chance.

A head trained from a random-init encoder at a bad learning rate often ends at chance:
it gives every doc the same class, and its scores look plausible only next to the
label distribution. The report flags such a head instead of printing its numbers
without comment.
"""

from __future__ import annotations

from typing import Literal

from .results import ChanceFinding, ExclusiveConfusion, MultilabelConfusion, TextcatScores

# A mean per-label ROC AUC up to 0.5 + this margin counts as ranking at chance.
CHANCE_AUC_MARGIN = 0.05

# Slack for comparing the macro F with its chance value, which are computed differently.
_EPSILON = 1e-9


def chance_level(scores: TextcatScores) -> list[ChanceFinding]:
    """The signs that a classifier does no better than chance. Judged only on two or
    more docs whose gold has more than one answer (on one-class gold a constant
    answer is right):

    * "one_class" (exclusive) / "same_labels" (multi-label): every doc gets the
      same answer;
    * "macro_f": its macro F is no higher than that of guessing at random at the
      gold rate of each label (P = R = F = the rate), i.e. the mean gold rate;
    * "auc": its mean ROC AUC over the labels where AUC is defined is at most
      0.5 + `CHANCE_AUC_MARGIN`.

    scores (TextcatScores): The classifier's scores.
    RETURNS (list[ChanceFinding]): One per sign found; empty if none.
    """
    if scores.n_docs < 2:
        return []
    confusion = scores.confusion_matrix
    if isinstance(confusion, ExclusiveConfusion):
        gold_varies, answer, rates = _exclusive_answers(confusion)
        constant_check: Literal["one_class", "same_labels"] = "one_class"
    else:
        gold_varies, answer, rates = _multilabel_answers(confusion)
        constant_check = "same_labels"
    if not gold_varies:
        return []
    findings = []
    if answer is not None:
        findings.append(ChanceFinding(check=constant_check, answer=answer))
    chance_f = sum(rates) / len(rates)
    if scores.macro_f is not None and scores.macro_f <= chance_f + _EPSILON:
        findings.append(ChanceFinding(check="macro_f", value=scores.macro_f, chance=chance_f))
    aucs = [label.auc for label in scores.per_label.values() if label.auc is not None]
    if aucs and sum(aucs) / len(aucs) <= 0.5 + CHANCE_AUC_MARGIN:
        findings.append(
            ChanceFinding(check="auc", value=sum(aucs) / len(aucs), chance=0.5 + CHANCE_AUC_MARGIN)
        )
    return findings


def _exclusive_answers(confusion: ExclusiveConfusion) -> tuple[bool, str | None, list[float]]:
    """Whether the gold has two classes or more, the one class predicted for every
    doc (None if several) and each label's gold rate."""
    gold_counts = [sum(row) for row in confusion.matrix]
    columns = zip(confusion.labels, zip(*confusion.matrix))
    predicted = [label for label, column in columns if any(column)]
    n_docs = sum(gold_counts)
    answer = predicted[0] if len(predicted) == 1 else None
    rates = [count / n_docs for count in gold_counts]
    return sum(count > 0 for count in gold_counts) > 1, answer, rates


def _multilabel_answers(confusion: MultilabelConfusion) -> tuple[bool, str | None, list[float]]:
    """Whether some label has both gold answers, the one answer given to every doc
    (the labels always predicted; None if decisions vary) and each label's gold
    rate among the docs with a gold value for it."""
    gold_varies, constant = False, True
    always_yes, rates = [], []
    for label, ((tn, fp), (fn, tp)) in confusion.per_label.items():
        gold_varies = gold_varies or bool((tn + fp) and (fn + tp))
        constant = constant and not ((fp + tp) and (tn + fn))
        if (fp + tp) and not (tn + fn):
            always_yes.append(label)
        n_docs = tn + fp + fn + tp
        rates.append((fn + tp) / n_docs if n_docs else 0.0)
    answer = (", ".join(always_yes) or "no label") if constant else None
    return gold_varies, answer, rates
