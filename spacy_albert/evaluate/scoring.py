"""Scores of entity recognizers and text classifiers on gold examples.

Entity P/R/F come from spaCy's own scorer (`spacy.scorer.get_ner_prf`, what
`nlp.evaluate` reports as `ents_p/ents_r/ents_f/ents_per_type`) and are cross-checked
with seqeval on IOB2 tag sequences (`examples_to_iob2`). Category P/R/F/AUC come from
`spacy.scorer.Scorer.score_cats`; accuracy, support, confusion matrices and the
chance-level check are computed here. Each task is scored only on the docs that
carry its gold annotation (see `gold.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example, biluo_to_iob, offsets_to_biluo_tags

from .chance import chance_level
from .gold import with_gold_cats, with_ner_annotation
from .results import (
    CategoryScores,
    EntityScores,
    EntityTypeScores,
    ExclusiveConfusion,
    MultilabelConfusion,
    SeqevalScores,
    TextcatScores,
)

# --------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------


def _iob2(doc: Doc, entities: Iterable[tuple[int, int, str]]) -> list[str]:
    """IOB2 tags of non-overlapping `(start_char, end_char, label)` entities of a doc."""
    return biluo_to_iob(offsets_to_biluo_tags(doc, list(entities)))


def doc_to_iob2(doc: Doc) -> list[str]:
    """IOB2 tags (`B-LABEL`, `I-LABEL`, `O`) of a doc's entities. Tokens with
    missing NER annotation become `O`.

    doc (Doc): The doc.
    RETURNS (list[str]): One tag per token.
    """
    return _iob2(doc, [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents])


def aligned_pred_spans(eg: Example) -> list[tuple[str, int, int]]:
    """Predicted entities projected onto the reference tokens, exactly as
    `spacy.scorer.get_ner_prf` does: through `eg.alignment.x2y`, dropping entities
    that align to nothing or touch a reference token with missing NER annotation
    (spaCy counts those as neither right nor wrong).

    `Example.get_aligned_spans_x2y` does not fit: it also drops a span whose text
    differs from the tokens it lands on (a predicted "Chester" inside the gold token
    "Chester-le-Street"), which `get_ner_prf` scores as a prediction.

    eg (Example): An example with predictions.
    RETURNS (list[tuple[str, int, int]]): `(label, start, end)` on the reference.
    """
    spans = []
    align_x2y = eg.alignment.x2y
    for ent in eg.x.ents:
        indices = align_x2y[ent.start : ent.end]
        if not len(indices):
            continue
        start, end = int(indices[0]), int(indices[-1]) + 1
        if all(token.ent_iob != 0 for token in eg.y[start:end]):
            spans.append((ent.label_, start, end))
    return spans


def _pred_iob2_on_reference(eg: Example) -> list[str]:
    """IOB2 tags of the projected predictions on the reference tokens. A tag sequence
    holds one entity per token, so where two projections overlap (only possible
    when the tokenizations differ) the first keeps the tokens."""
    reference = eg.reference
    taken: set[int] = set()
    offsets = []
    for label, start, end in aligned_pred_spans(eg):
        tokens = set(range(start, end))
        if taken.isdisjoint(tokens):
            taken |= tokens
            span = reference[start:end]
            offsets.append((span.start_char, span.end_char, label))
    return _iob2(reference, offsets)


def examples_to_iob2(examples: Iterable[Example]) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB2 tag sequences for the NER-annotated examples, both on
    the *reference* tokenization, for seqeval. For identical tokenization the
    predicted tags are exactly `doc_to_iob2(eg.predicted)`.

    examples (Iterable[Example]): Examples with predictions.
    RETURNS (tuple[list[list[str]], list[list[str]]]): `(y_true, y_pred)`.
    """
    used = with_ner_annotation(examples)
    return [doc_to_iob2(eg.reference) for eg in used], [_pred_iob2_on_reference(eg) for eg in used]


def score_seqeval(examples: Iterable[Example]) -> SeqevalScores | None:
    """seqeval's entity-level P/R/F (default, conlleval-style mode) on the IOB2
    sequences from `examples_to_iob2`: a cross-check of spaCy's scores.

    examples (Iterable[Example]): Examples with predictions.
    RETURNS (Optional[SeqevalScores]): None if there are no entities in gold or
        predictions, or seqeval is not installed.
    """
    try:
        from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    except ImportError:  # pragma: no cover - seqeval is an optional dependency
        return None
    used = with_ner_annotation(examples)
    y_true, y_pred = examples_to_iob2(used)
    if not any(tag != "O" for tags in y_true + y_pred for tag in tags):
        return None
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    per_type = {
        label: EntityTypeScores(
            p=float(row["precision"]),
            r=float(row["recall"]),
            f=float(row["f1-score"]),
            support=int(row["support"]),
        )
        for label, row in report.items()
        if not label.endswith(" avg")
    }
    return SeqevalScores(
        p=float(precision_score(y_true, y_pred, zero_division=0)),
        r=float(recall_score(y_true, y_pred, zero_division=0)),
        f=float(f1_score(y_true, y_pred, zero_division=0)),
        per_type=per_type,
        n_docs=len(used),
        n_docs_retokenized=sum(
            [t.text for t in eg.predicted] != [t.text for t in eg.reference] for eg in used
        ),
    )


def score_entities(examples: Iterable[Example], components: Sequence[str] = ()) -> EntityScores:
    """Entity scores on the examples whose reference has NER annotation; the others
    are excluded (and counted).

    examples (Iterable[Example]): Examples with predictions.
    components (Sequence[str]): The entity recognizers that made the predictions.
    RETURNS (EntityScores): spaCy's P/R/F, overall and per type, with support.
    """
    examples = list(examples)
    used = with_ner_annotation(examples)
    support = Counter(ent.label_ for eg in used for ent in eg.reference.ents)
    prf = get_ner_prf(used)
    per_type = {
        label: EntityTypeScores(
            p=float(scores["p"]), r=float(scores["r"]), f=float(scores["f"]), support=support[label]
        )
        for label, scores in (prf.get("ents_per_type") or {}).items()
    }
    for label, count in support.items():  # a label spaCy never saw predicted is still in gold
        per_type.setdefault(label, EntityTypeScores(p=0.0, r=0.0, f=0.0, support=count))
    return EntityScores(
        components=list(components),
        n_docs=len(used),
        n_docs_excluded=len(examples) - len(used),
        n_gold=sum(support.values()),
        n_pred=sum(len(eg.predicted.ents) for eg in used),
        ents_p=_float_or_none(prf.get("ents_p")),
        ents_r=_float_or_none(prf.get("ents_r")),
        ents_f=_float_or_none(prf.get("ents_f")),
        ents_per_type=dict(sorted(per_type.items())),
    )


# --------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------


def _label_cats(doc: Doc, labels: Sequence[str]) -> dict[str, float]:
    label_set = set(labels)
    return {k: float(v) for k, v in doc.cats.items() if k in label_set and v is not None}


def _argmax(cats: dict[str, float]) -> str:
    # the same tie-breaking as Scorer.score_cats: the first maximum in dict order
    return max(cats.items(), key=lambda item: item[1])[0]


def _multilabel_decisions(
    used: list[Example], labels: list[str], threshold: float
) -> tuple[MultilabelConfusion, Counter, int, float | None]:
    """Per-label decision blocks, support, exact matches and hamming accuracy."""
    blocks = {label: [[0, 0], [0, 0]] for label in labels}
    support: Counter = Counter()
    n_exact = n_decisions = n_right = 0
    for eg in used:
        pred = _label_cats(eg.predicted, labels)
        all_right = True
        for label, gold_value in _label_cats(eg.reference, labels).items():
            gold, predicted = int(gold_value > 0), int(pred.get(label, 0.0) >= threshold)
            blocks[label][gold][predicted] += 1
            support[label] += gold
            n_decisions += 1
            n_right += int(gold == predicted)
            all_right = all_right and gold == predicted
        n_exact += int(all_right)
    hamming = n_right / n_decisions if n_decisions else None
    return MultilabelConfusion(per_label=blocks), support, n_exact, hamming


def _exclusive_decisions(
    used: list[Example], labels: list[str]
) -> tuple[ExclusiveConfusion, Counter, int]:
    """Gold × predicted argmax counts, support and the number of right argmaxes."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    support: Counter = Counter()
    n_right = 0
    for eg in used:
        pred = _label_cats(eg.predicted, labels)
        if not pred:
            raise ValueError(
                f"Predicted doc has no scores for any of the labels {labels}: "
                f"{eg.predicted.text[:60]!r}. Run the classifier before scoring."
            )
        gold_label = _argmax(_label_cats(eg.reference, labels))
        pred_label = _argmax(pred)
        matrix[index[gold_label]][index[pred_label]] += 1
        support[gold_label] += 1
        n_right += int(gold_label == pred_label)
    return ExclusiveConfusion(labels=labels, matrix=matrix), support, n_right


def score_textcat(
    examples: Iterable[Example],
    labels: Sequence[str],
    *,
    multi_label: bool,
    threshold: float | None = None,
    positive_label: str | None = None,
) -> TextcatScores:
    """Scores of one text classifier on the examples whose reference has gold cats
    for its labels (see `has_gold_cats`); the others are excluded.

    P/R/F (macro, micro, per label) and ROC AUC come from spaCy's
    `Scorer.score_cats`; note spaCy's `macro_auc` averages over *all* labels,
    counting a label whose AUC is undefined (one gold class only) as 0.

    Exclusive: `accuracy` is the share of docs whose predicted argmax equals the
    gold argmax; the confusion matrix has gold labels as rows and predicted labels
    as columns. Multi-label: a label is predicted when its score >= threshold and
    gold when its value > 0 (as in spaCy); `accuracy` is exact match over the labels
    with gold values, `hamming_accuracy` the share of correct (doc, label)
    decisions; the confusion matrix is a `[[TN, FP], [FN, TP]]` block per label.

    examples (Iterable[Example]): Examples with predictions.
    labels (Sequence[str]): The classifier's labels.
    multi_label (bool): Whether the labels are independent.
    threshold (Optional[float]): Multi-label decision threshold (default 0.5);
        ignored for exclusive classifiers.
    positive_label (Optional[str]): Positive label of a binary exclusive
        classifier; decides spaCy's `score`.
    RETURNS (TextcatScores): The scores; metric values are None when no doc has
        gold cats for the classifier.
    """
    examples = list(examples)
    labels = list(labels)
    threshold = (0.5 if threshold is None else float(threshold)) if multi_label else 0.0
    used = with_gold_cats(examples, labels, multi_label=multi_label)
    confusion: ExclusiveConfusion | MultilabelConfusion
    hamming = None
    if multi_label:
        confusion, support, n_right, hamming = _multilabel_decisions(used, labels, threshold)
    else:
        confusion, support, n_right = _exclusive_decisions(used, labels)
    cats: dict[str, Any] = {}
    if used:
        cats = Scorer.score_cats(
            used,
            "cats",
            labels=labels,
            multi_label=multi_label,
            threshold=threshold,
            positive_label=positive_label,
        )
    f_per_type = cats.get("cats_f_per_type") or {}
    auc_per_type = cats.get("cats_auc_per_type") or {}
    scores = TextcatScores(
        type="multilabel" if multi_label else "exclusive",
        labels=labels,
        threshold=threshold,
        n_docs=len(used),
        n_docs_excluded=len(examples) - len(used),
        accuracy=n_right / len(used) if used else None,
        hamming_accuracy=hamming,
        **{
            key: _float_or_none(cats.get(f"cats_{key}"))
            for key in ("macro_p", "macro_r", "macro_f", "micro_p", "micro_r", "micro_f")
        },
        macro_auc=_float_or_none(cats.get("cats_macro_auc")),
        score=_float_or_none(cats.get("cats_score")),
        score_desc=cats.get("cats_score_desc"),
        per_label={
            label: CategoryScores(
                p=_float_or_none(f_per_type.get(label, {}).get("p")),
                r=_float_or_none(f_per_type.get(label, {}).get("r")),
                f=_float_or_none(f_per_type.get(label, {}).get("f")),
                auc=_float_or_none(auc_per_type.get(label)),
                support=support[label],
            )
            for label in labels
        },
        confusion_matrix=confusion,
    )
    scores.chance_level = chance_level(scores)
    return scores


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
