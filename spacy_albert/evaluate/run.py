"""Evaluation a human can read: scores.json, confusion matrices, training curves,
a displaCy page and a markdown report for a pipeline with `ner` and/or text
classifiers (`textcat`, `textcat_multilabel`, `albert_textcat`).

A joint dev set usually mixes NER-only docs (no `doc.cats`) and textcat-only
docs (no entity annotation). Scoring both tasks on every doc would count the
textcat-only docs as "no entities" and the NER-only docs as "no category", so
each task is scored only on the docs whose *reference* carries its annotation:

* entities: docs with at least one token whose `ent_iob_` is set ("B", "I" or
  "O"); missing NER annotation is `""`.
* categories, per component: docs whose reference `doc.cats` has a value for
  one of the component's labels (for exclusive classifiers, a positive one).

Entity P/R/F come from spaCy's own scorer (`spacy.scorer.get_ner_prf`, what
`nlp.evaluate` reports as `ents_p/ents_r/ents_f/ents_per_type`) and are cross-
checked against seqeval on IOB2 tag sequences built by `examples_to_iob2`.
Category P/R/F/AUC come from `spacy.scorer.Scorer.score_cats`; accuracy,
support and confusion matrices are computed here.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from spacy import displacy
from spacy.language import Language
from spacy.pipeline import EntityRecognizer, MultiLabel_TextCategorizer, TextCategorizer
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc
from spacy.training import Corpus, Example

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "TextcatInfo",
    "doc_to_iob2",
    "evaluate_pipeline",
    "examples_to_iob2",
    "find_ner_components",
    "find_textcat_components",
    "has_gold_cats",
    "has_ner_annotation",
    "load_examples",
    "plot_confusion",
    "plot_training_curve",
    "predict",
    "read_train_log",
    "render_entities_html",
    "score_entities",
    "score_seqeval",
    "score_textcat",
    "write_report",
]

NER_FACTORIES = ("ner", "beam_ner")
TEXTCAT_FACTORIES = ("textcat", "textcat_multilabel", "albert_textcat")
MULTILABEL_FACTORIES = ("textcat_multilabel",)

PathLike = Union[str, Path]


# --------------------------------------------------------------------------
# Which docs count for which task
# --------------------------------------------------------------------------


def has_ner_annotation(doc: Doc) -> bool:
    """Whether a reference doc carries NER annotation at all: at least one
    token has `ent_iob_` set to "B", "I" or "O". A doc where every token is
    `""` (missing) says nothing about entities and must not be scored.

    doc (Doc): The reference doc.
    RETURNS (bool): Whether the doc is NER-annotated.
    """
    return any(token.ent_iob_ != "" for token in doc)


def has_gold_cats(doc: Doc, labels: Iterable[str], *, multi_label: bool) -> bool:
    """Whether a reference doc has gold categories for a classifier's labels.

    For a multi-label classifier any value (0 or 1) for one of its labels
    counts. For an exclusive classifier one of its labels must be positive:
    a doc with all-zero cats has no gold class to compare the argmax with.

    doc (Doc): The reference doc.
    labels (Iterable[str]): The classifier's labels.
    multi_label (bool): Whether the classifier is multi-label.
    RETURNS (bool): Whether the doc counts for this classifier's scores.
    """
    values = [doc.cats[label] for label in labels if doc.cats.get(label) is not None]
    if multi_label:
        return len(values) > 0
    return any(value > 0 for value in values)


# --------------------------------------------------------------------------
# Pipeline inspection, data and prediction
# --------------------------------------------------------------------------


class TextcatInfo:
    """What the scorer needs to know about one text classifier.

    name (str): The component name in the pipeline.
    factory (str): The factory it was created with.
    labels (tuple[str, ...]): The component's labels (`pipe.labels`).
    multi_label (bool): Whether labels are independent (multi-label) or
        mutually exclusive.
    threshold (float): Cutoff for a positive multi-label prediction; 0.0 (the
        argmax decides) for exclusive classifiers.
    positive_label (Optional[str]): The positive label of a binary exclusive
        classifier, if configured.
    """

    def __init__(
        self,
        name: str,
        factory: str,
        labels: Sequence[str],
        *,
        multi_label: bool,
        threshold: float,
        positive_label: str | None = None,
    ) -> None:
        self.name = name
        self.factory = factory
        self.labels = tuple(labels)
        self.multi_label = multi_label
        self.threshold = threshold
        self.positive_label = positive_label

    def __repr__(self) -> str:
        kind = "multilabel" if self.multi_label else "exclusive"
        return f"TextcatInfo({self.name!r}, {kind}, labels={list(self.labels)!r})"


def find_textcat_components(nlp: Language) -> list[TextcatInfo]:
    """Find the text classifiers in a pipeline. A component counts if it is a
    `spacy.pipeline.TextCategorizer` (which includes `MultiLabel_TextCategorizer`
    and this project's `albert_textcat`) or was made by one of the factories
    `textcat`, `textcat_multilabel` or `albert_textcat`. It is multi-label if
    it is a `MultiLabel_TextCategorizer` (or made by `textcat_multilabel`).

    nlp (Language): The pipeline.
    RETURNS (list[TextcatInfo]): One entry per classifier, in pipeline order.
    """
    found = []
    for name, pipe in nlp.pipeline:
        factory = nlp.get_pipe_meta(name).factory
        if not (isinstance(pipe, TextCategorizer) or factory in TEXTCAT_FACTORIES):
            continue
        multi_label = isinstance(pipe, MultiLabel_TextCategorizer) or (
            factory in MULTILABEL_FACTORIES
        )
        cfg = getattr(pipe, "cfg", {}) or {}
        threshold = cfg.get("threshold")
        if multi_label:
            threshold = 0.5 if threshold is None else float(threshold)
        else:
            threshold = 0.0
        found.append(
            TextcatInfo(
                name,
                factory,
                tuple(pipe.labels),
                multi_label=multi_label,
                threshold=threshold,
                positive_label=cfg.get("positive_label"),
            )
        )
    return found


def find_ner_components(nlp: Language) -> list[str]:
    """Names of the entity recognizers in a pipeline (`EntityRecognizer`
    instances or components made by the `ner` / `beam_ner` factories).

    nlp (Language): The pipeline.
    RETURNS (list[str]): Component names, in pipeline order.
    """
    return [
        name
        for name, pipe in nlp.pipeline
        if isinstance(pipe, EntityRecognizer) or nlp.get_pipe_meta(name).factory in NER_FACTORIES
    ]


def load_examples(nlp: Language, path: PathLike) -> list[Example]:
    """Read gold examples from a `.spacy` file (or a directory of them), the
    way `spacy evaluate` does: the predicted side is `nlp.make_doc(text)`.

    nlp (Language): The pipeline whose tokenizer makes the predicted docs.
    path (PathLike): A `.spacy` file or a directory of `.spacy` files.
    RETURNS (list[Example]): The examples, unannotated on the predicted side.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Evaluation data not found: {path}")
    corpus = Corpus(path, gold_preproc=False, max_length=0)
    return list(corpus(nlp))


def predict(
    nlp: Language, examples: Iterable[Example], *, batch_size: int | None = None
) -> tuple[list[Example], dict[str, Any]]:
    """Run the pipeline over copies of the examples' predicted docs (the
    input examples are left untouched) and time the pass.

    nlp (Language): The pipeline.
    examples (Iterable[Example]): Gold examples.
    batch_size (Optional[int]): Batch size for `nlp.pipe`; defaults to
        `nlp.batch_size`.
    RETURNS (tuple[list[Example], dict[str, Any]]): Examples whose predicted
        side holds the pipeline's output, and the speed of the pass
        (`words_per_second`, `n_words`, `n_docs`, `seconds`).
    """
    examples = list(examples)
    docs = [eg.predicted.copy() for eg in examples]
    start = time.perf_counter()
    predicted = list(nlp.pipe(docs, batch_size=batch_size or nlp.batch_size))
    seconds = time.perf_counter() - start
    scored = [Example(doc, eg.reference) for doc, eg in zip(predicted, examples)]
    n_words = sum(len(doc) for doc in predicted)
    speed = {
        "words_per_second": n_words / seconds if seconds > 0 else None,
        "n_words": n_words,
        "n_docs": len(predicted),
        "seconds": seconds,
    }
    return scored, speed


# --------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------


def doc_to_iob2(doc: Doc) -> list[str]:
    """IOB2 tags (`B-LABEL`, `I-LABEL`, `O`) of a doc's entities. Tokens with
    missing NER annotation become `O`.

    doc (Doc): The doc.
    RETURNS (list[str]): One tag per token.
    """
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        tags[ent.start] = f"B-{ent.label_}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label_}"
    return tags


def _aligned_pred_spans(eg: Example) -> list[tuple[str, int, int]]:
    """Predicted entities projected onto the reference tokenization, exactly as
    `spacy.scorer.get_ner_prf` does: through `eg.alignment.x2y`, dropping
    entities that align to nothing or that touch a reference token with
    missing NER annotation (spaCy counts those as neither right nor wrong).
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


def examples_to_iob2(examples: Iterable[Example]) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB2 tag sequences for the NER-annotated examples,
    both on the *reference* tokenization, for seqeval.

    Predicted entities are projected onto the reference tokens the way spaCy's
    scorer does it (see `_aligned_pred_spans`), so for identical tokenization
    the tags are exactly `doc_to_iob2(eg.predicted)`. If two projected spans
    overlap (only possible when the tokenizations differ) the first one wins.
    Examples without NER annotation on the reference side are skipped.

    examples (Iterable[Example]): Examples with predictions.
    RETURNS (tuple[list[list[str]], list[list[str]]]): `(y_true, y_pred)`.
    """
    y_true: list[list[str]] = []
    y_pred: list[list[str]] = []
    for eg in examples:
        if not has_ner_annotation(eg.reference):
            continue
        y_true.append(doc_to_iob2(eg.reference))
        tags = ["O"] * len(eg.reference)
        for label, start, end in _aligned_pred_spans(eg):
            if any(tag != "O" for tag in tags[start:end]):
                continue
            tags[start] = f"B-{label}"
            for i in range(start + 1, end):
                tags[i] = f"I-{label}"
        y_pred.append(tags)
    return y_true, y_pred


def score_seqeval(examples: Iterable[Example]) -> dict[str, Any] | None:
    """seqeval's entity-level P/R/F (default, conlleval-style mode) on the
    IOB2 sequences from `examples_to_iob2`: a cross-check of spaCy's scores.

    examples (Iterable[Example]): Examples with predictions.
    RETURNS (Optional[dict[str, Any]]): `p`, `r`, `f` (micro) and `per_type`
        (`p`, `r`, `f`, `support` per label); None if there are no entities
        in gold or predictions, or seqeval is not installed.
    """
    try:
        from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    except ImportError:  # pragma: no cover - seqeval is an optional dependency
        return None
    examples = list(examples)
    y_true, y_pred = examples_to_iob2(examples)
    if not any(tag != "O" for tags in y_true + y_pred for tag in tags):
        return None
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    per_type = {
        label: {
            "p": float(row["precision"]),
            "r": float(row["recall"]),
            "f": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for label, row in report.items()
        if not label.endswith(" avg")
    }
    return {
        "p": float(precision_score(y_true, y_pred, zero_division=0)),
        "r": float(recall_score(y_true, y_pred, zero_division=0)),
        "f": float(f1_score(y_true, y_pred, zero_division=0)),
        "per_type": per_type,
        "n_docs": len(y_true),
        # Only on these can spaCy's scorer and seqeval differ (overlapping projections).
        "n_docs_retokenized": sum(
            has_ner_annotation(eg.reference)
            and [t.text for t in eg.predicted] != [t.text for t in eg.reference]
            for eg in examples
        ),
        "mode": "default (conlleval)",
    }


def score_entities(examples: Iterable[Example]) -> dict[str, Any]:
    """Entity scores on the examples whose reference has NER annotation.

    examples (Iterable[Example]): Examples with predictions; those without
        NER annotation on the reference side are excluded (and counted).
    RETURNS (dict[str, Any]): `n_docs`, `n_docs_excluded`, `n_gold`,
        `n_pred`, spaCy's `ents_p`, `ents_r`, `ents_f` and `ents_per_type`
        (with `support`, the number of gold entities, added per label); the
        P/R/F values are None when there is nothing to score.
    """
    examples = list(examples)
    used = [eg for eg in examples if has_ner_annotation(eg.reference)]
    support = Counter(ent.label_ for eg in used for ent in eg.reference.ents)
    prf = get_ner_prf(used)
    per_type: dict[str, dict[str, Any]] = {}
    for label, scores in (prf.get("ents_per_type") or {}).items():
        per_type[label] = {**{k: float(v) for k, v in scores.items()}, "support": support[label]}
    for label, count in support.items():  # a label spaCy never saw predicted is still in gold
        per_type.setdefault(label, {"p": 0.0, "r": 0.0, "f": 0.0, "support": count})
    return {
        "n_docs": len(used),
        "n_docs_excluded": len(examples) - len(used),
        "n_gold": sum(support.values()),
        "n_pred": sum(len(eg.predicted.ents) for eg in used),
        "ents_p": _float_or_none(prf.get("ents_p")),
        "ents_r": _float_or_none(prf.get("ents_r")),
        "ents_f": _float_or_none(prf.get("ents_f")),
        "ents_per_type": dict(sorted(per_type.items())),
    }


# --------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------


def _label_cats(doc: Doc, labels: Sequence[str]) -> dict[str, float]:
    label_set = set(labels)
    return {k: float(v) for k, v in doc.cats.items() if k in label_set and v is not None}


def _argmax(cats: dict[str, float]) -> str:
    # the same tie-breaking as Scorer.score_cats: the first maximum in dict order
    return max(cats.items(), key=lambda item: item[1])[0]


def score_textcat(
    examples: Iterable[Example],
    labels: Sequence[str],
    *,
    multi_label: bool,
    threshold: float | None = None,
    positive_label: str | None = None,
) -> dict[str, Any]:
    """Scores of one text classifier on the examples whose reference has gold
    cats for its labels (see `has_gold_cats`); the others are excluded.

    P/R/F (macro, micro, per label) and ROC AUC come from spaCy's
    `Scorer.score_cats`; note spaCy's `macro_auc` averages over *all* labels,
    counting a label whose AUC is undefined (one gold class only) as 0.

    Exclusive: `accuracy` is the share of docs whose predicted argmax equals
    the gold argmax; the confusion matrix has gold labels as rows and
    predicted labels as columns. Multi-label: a label is predicted when its
    score >= threshold and gold when its value > 0 (as in spaCy); `accuracy`
    is exact match over the labels with gold values, `hamming_accuracy` the
    share of correct (doc, label) decisions; the confusion matrix is a
    `[[TN, FP], [FN, TP]]` block per label.

    examples (Iterable[Example]): Examples with predictions.
    labels (Sequence[str]): The classifier's labels.
    multi_label (bool): Whether the labels are independent.
    threshold (Optional[float]): Multi-label decision threshold (default 0.5);
        ignored for exclusive classifiers.
    positive_label (Optional[str]): Positive label of a binary exclusive
        classifier; decides spaCy's `score`.
    RETURNS (dict[str, Any]): The scores; metric values are None when no doc
        has gold cats for the classifier.
    """
    examples = list(examples)
    labels = list(labels)
    threshold = (0.5 if threshold is None else float(threshold)) if multi_label else 0.0
    used = [eg for eg in examples if has_gold_cats(eg.reference, labels, multi_label=multi_label)]
    result: dict[str, Any] = {
        "type": "multilabel" if multi_label else "exclusive",
        "labels": labels,
        "threshold": threshold,
        "n_docs": len(used),
        "n_docs_excluded": len(examples) - len(used),
    }
    support = Counter()
    correct = 0
    if multi_label:
        blocks = {label: [[0, 0], [0, 0]] for label in labels}
        n_decisions = n_right = 0
        for eg in used:
            gold = _label_cats(eg.reference, labels)
            pred = _label_cats(eg.predicted, labels)
            all_right = True
            for label, gold_value in gold.items():
                g = int(gold_value > 0)
                p = int(pred.get(label, 0.0) >= threshold)
                blocks[label][g][p] += 1
                support[label] += g
                n_decisions += 1
                n_right += int(g == p)
                all_right = all_right and g == p
            correct += int(all_right)
        confusion: dict[str, Any] = {
            "layout": "[[TN, FP], [FN, TP]]: rows gold no/yes, columns predicted no/yes",
            "per_label": blocks,
        }
        result["hamming_accuracy"] = n_right / n_decisions if n_decisions else None
    else:
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
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
            correct += int(gold_label == pred_label)
        confusion = {"rows": "gold", "columns": "predicted", "labels": labels, "matrix": matrix}
    result["accuracy"] = correct / len(used) if used else None
    if used:
        cats = Scorer.score_cats(
            used,
            "cats",
            labels=labels,
            multi_label=multi_label,
            threshold=threshold,
            positive_label=positive_label,
        )
    else:
        cats = {}
    for key in ("macro_p", "macro_r", "macro_f", "micro_p", "micro_r", "micro_f", "macro_auc"):
        result[key] = _float_or_none(cats.get(f"cats_{key}"))
    result["score"] = _float_or_none(cats.get("cats_score"))
    result["score_desc"] = cats.get("cats_score_desc")
    f_per_type = cats.get("cats_f_per_type") or {}
    auc_per_type = cats.get("cats_auc_per_type") or {}
    result["per_label"] = {
        label: {
            "p": _float_or_none(f_per_type.get(label, {}).get("p")),
            "r": _float_or_none(f_per_type.get(label, {}).get("r")),
            "f": _float_or_none(f_per_type.get(label, {}).get("f")),
            "auc": _float_or_none(auc_per_type.get(label)),
            "support": support[label],
        }
        for label in labels
    }
    result["confusion_matrix"] = confusion
    return result


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    # Object-oriented matplotlib on the Agg canvas: no pyplot state, no GUI,
    # and the caller's own backend choice is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _draw_matrix(
    ax: Any, matrix: Sequence[Sequence[int]], rows: Sequence[str], cols: Sequence[str]
) -> Any:
    """Draw a count matrix with its counts in the cells; returns the image."""
    n_max = max((max(row) for row in matrix if len(row)), default=0)
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(n_max, 1))
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=45 if max(map(len, cols), default=0) > 6 else 0, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            dark = count > n_max / 2 and count > 0
            ax.text(j, i, str(count), ha="center", va="center", color="white" if dark else "black")
    return image


def plot_confusion(name: str, cats_scores: dict[str, Any], path: PathLike) -> Path:
    """Draw a classifier's confusion matrix: gold × predicted for an exclusive
    classifier, one 2×2 block per label for a multi-label one. Cells show
    counts.

    name (str): The component name, used in the title.
    cats_scores (dict[str, Any]): The output of `score_textcat`.
    path (PathLike): Where to write the PNG.
    RETURNS (Path): The path written.
    """
    path = Path(path)
    confusion = cats_scores["confusion_matrix"]
    n_docs = cats_scores["n_docs"]
    if cats_scores["type"] == "exclusive":
        labels = confusion["labels"]
        size = max(4.0, 0.6 * len(labels) + 2.5)
        fig = _new_figure(size + 1.0, size)
        ax = fig.add_subplot(1, 1, 1)
        image = _draw_matrix(ax, confusion["matrix"], labels, labels)
        ax.set_xlabel("Predicted label")
        ax.set_ylabel("Gold label")
        fig.colorbar(image, ax=ax, label="docs")
        accuracy = cats_scores["accuracy"]
        acc = f", accuracy {accuracy:.1%}" if accuracy is not None else ""
        ax.set_title(f"{name}: confusion matrix\n{n_docs} docs{acc}")
    else:
        blocks = confusion["per_label"]
        n = max(len(blocks), 1)
        n_cols = min(n, 4)
        n_rows = (n + n_cols - 1) // n_cols
        fig = _new_figure(3.2 * n_cols, 3.0 * n_rows + 0.6)
        for k, (label, block) in enumerate(blocks.items()):
            ax = fig.add_subplot(n_rows, n_cols, k + 1)
            _draw_matrix(ax, block, ["no", "yes"], ["no", "yes"])
            ax.set_title(label)
            ax.set_xlabel("Predicted")
            ax.set_ylabel("Gold")
        fig.suptitle(
            f"{name}: per-label confusion at threshold {cats_scores['threshold']:g} ({n_docs} docs)"
        )
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def read_train_log(path: PathLike) -> list[dict[str, Any]]:
    """Read the JSONL training log that `spacy.ConsoleLogger.v3` writes with
    `output_file`: one object per evaluation step with `epoch`, `step`,
    `losses` (per component), `scores` (per score column, ×100 except
    `speed`) and `score` (the weighted score, 0–1). Blank or truncated lines
    (an interrupted run) are skipped.

    path (PathLike): The log file.
    RETURNS (list[dict[str, Any]]): The records, in file order.
    """
    records = []
    with Path(path).open(encoding="utf-8") as file_:
        for line in file_:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "step" in record:
                records.append(record)
    if not records:
        raise ValueError(f"No training log records (JSON objects with a 'step') in {path}")
    return records


def _record_scores(record: dict[str, Any]) -> dict[str, float]:
    """Scores of one log record on a 0–1 scale (ConsoleLogger.v3 writes them
    ×100; a record with spaCy's in-memory `other_scores` is read too)."""
    scores: dict[str, float] = {}
    if isinstance(record.get("scores"), dict):
        for key, value in record["scores"].items():
            if key != "speed" and isinstance(value, (int, float)):
                scores[key] = float(value) / 100.0
    elif isinstance(record.get("other_scores"), dict):
        for key, value in record["other_scores"].items():
            if key != "speed" and isinstance(value, (int, float)):
                scores[key] = float(value)
    if isinstance(record.get("score"), (int, float)):
        scores["score (weighted)"] = float(record["score"])
    return scores


def plot_training_curve(log_path: PathLike, path: PathLike) -> Path:
    """Plot a training log: losses per component (left) and dev scores
    (right, 0–1) against the training step, with epoch starts marked.

    spaCy's training loop sums each component's loss from one evaluation to
    the next, so a logged loss covers `step - previous step` updates (the
    first covers `step + 1`). The plot divides by that to show the mean loss
    per update, on a log scale when components differ by orders of magnitude.

    log_path (PathLike): The ConsoleLogger.v3 JSONL log.
    path (PathLike): Where to write the PNG.
    RETURNS (Path): The path written.
    """
    records = read_train_log(log_path)
    path = Path(path)
    steps = [int(record["step"]) for record in records]
    loss_names = sorted({name for record in records for name in (record.get("losses") or {})})
    score_names: list[str] = []
    for record in records:
        for name in _record_scores(record):
            if name not in score_names:
                score_names.append(name)
    fig = _new_figure(12.0, 4.5)
    ax_loss = fig.add_subplot(1, 2, 1)
    ax_score = fig.add_subplot(1, 2, 2)
    spans = [max(step - prev, 1) for step, prev in zip(steps, [-1, *steps[:-1]])]
    all_losses: list[float] = []
    for name in loss_names:
        points = [
            (step, float(record["losses"][name]) / span)
            for step, span, record in zip(steps, spans, records)
            if isinstance((record.get("losses") or {}).get(name), (int, float))
        ]
        all_losses += [p[1] for p in points]
        ax_loss.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=name)
    positive = [value for value in all_losses if value > 0]
    if positive and max(positive) / min(positive) > 100:
        ax_loss.set_yscale("symlog", linthresh=min(positive))
    for name in score_names:
        points = [
            (step, _record_scores(record)[name])
            for step, record in zip(steps, records)
            if name in _record_scores(record)
        ]
        style = "--" if name == "score (weighted)" else "-"
        ax_score.plot(
            [p[0] for p in points], [p[1] for p in points], style, marker="o", ms=3, label=name
        )
    epoch_starts = [
        step
        for i, (step, record) in enumerate(zip(steps, records))
        if i > 0 and record.get("epoch") != records[i - 1].get("epoch")
    ]
    for ax in (ax_loss, ax_score):
        for step in epoch_starts:
            ax.axvline(step, color="grey", alpha=0.25, lw=0.8)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    ax_loss.set_ylabel("mean loss per update since the previous log step")
    ax_loss.set_title("Training loss per component")
    ax_score.set_ylabel("dev score")
    ax_score.set_ylim(-0.02, 1.02)
    ax_score.set_title("Dev scores")
    last = records[-1]
    fig.suptitle(
        f"Training curve: {len(records)} evaluations, last step {last['step']}, "
        f"epoch {last.get('epoch', '?')}"
    )
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


# --------------------------------------------------------------------------
# displaCy page and markdown report
# --------------------------------------------------------------------------


def render_entities_html(
    examples: Sequence[Example], path: PathLike, limit: int = 25
) -> Path | None:
    """Write a displaCy `ent` page of the first `limit` predicted docs that
    have predicted entities or NER gold. Each predicted doc is followed by
    its gold doc (when NER-annotated) so errors can be read side by side; the
    titles give the counts.

    examples (Sequence[Example]): Examples with predictions.
    path (PathLike): Where to write the HTML.
    limit (int): How many docs to show.
    RETURNS (Optional[Path]): The path written, or None if no doc qualifies
        or `limit` is 0.
    """
    chosen = [
        (i, eg)
        for i, eg in enumerate(examples)
        if eg.predicted.ents or has_ner_annotation(eg.reference)
    ][: max(limit, 0)]
    if not chosen:
        return None
    docs = []
    for i, eg in chosen:
        pred = eg.predicted.copy()
        if has_ner_annotation(eg.reference):
            gold_spans = {(e.label_, e.start, e.end) for e in eg.reference.ents}
            correct = len(gold_spans & set(_aligned_pred_spans(eg)))
            pred.user_data["title"] = (
                f"#{i} predicted: {len(pred.ents)} entities, {correct} correct "
                f"of {len(gold_spans)} gold"
            )
            gold = eg.reference.copy()
            gold.user_data["title"] = f"#{i} gold"
            docs.extend([pred, gold])
        else:
            pred.user_data["title"] = f"#{i} predicted: {len(pred.ents)} entities (no NER gold)"
            docs.append(pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W006: no entities in a doc, expected for some
        page = displacy.render(docs, style="ent", page=True, jupyter=False)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    aligns = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "| " + " | ".join(aligns) + " |"]
    lines.extend("| " + " | ".join(_md(c) for c in row) + " |" for row in rows)
    return lines


def write_report(scores: dict[str, Any], path: PathLike) -> Path:
    """Write the markdown summary of `evaluate_pipeline`'s scores: the
    per-label tables, confusion matrices and links to the figures.

    scores (dict[str, Any]): The dict `evaluate_pipeline` returns.
    path (PathLike): Where to write `report.md`.
    RETURNS (Path): The path written.
    """
    path = Path(path)
    files = scores.get("files", {})
    meta = scores.get("pipeline", {})
    speed = scores.get("speed", {})
    lines = ["# Evaluation report", ""]
    lines.append(
        f"- Pipeline: `{meta.get('lang', '?')}_{meta.get('name', '?')}` {meta.get('version', '')} "
        f"(components: {', '.join(meta.get('components', [])) or 'none'})"
    )
    if scores.get("data"):
        lines.append(f"- Data: `{scores['data']}`, {scores['n_examples']} docs")
    else:
        lines.append(f"- Data: {scores['n_examples']} docs")
    if speed.get("words_per_second") is not None:
        lines.append(
            f"- Speed: {speed['words_per_second']:,.0f} words/s "
            f"({speed['n_words']} words in {speed['seconds']:.2f} s)"
        )
    lines.append("")
    ents = scores.get("ents")
    if ents is not None:
        lines += ["## Entities", ""]
        lines.append(
            f"Scored on {ents['n_docs']} docs with NER annotation "
            f"({ents['n_docs_excluded']} without it excluded); "
            f"{ents['n_gold']} gold and {ents['n_pred']} predicted entities."
        )
        lines.append("")
        rows = [
            [label, _pct(v["p"]), _pct(v["r"]), _pct(v["f"]), v["support"]]
            for label, v in ents["ents_per_type"].items()
        ]
        rows.append(
            [
                "**overall**",
                _pct(ents["ents_p"]),
                _pct(ents["ents_r"]),
                _pct(ents["ents_f"]),
                ents["n_gold"],
            ]
        )
        lines += _md_table(["Label", "P", "R", "F", "Support"], rows)
        seq = scores.get("ents_seqeval")
        if seq is not None:
            note = (
                f" On the {seq['n_docs_retokenized']} docs the pipeline tokenized differently "
                "from the reference, predicted entities are projected onto the reference "
                "tokens; where two land on the same tokens seqeval keeps the first and "
                "spaCy's scorer counts both, so the two can differ there (only there)."
                if seq.get("n_docs_retokenized")
                else ""
            )
            lines += [
                "",
                f"seqeval cross-check (IOB2, {seq['mode']}): P {_pct(seq['p'])}, "
                f"R {_pct(seq['r'])}, F {_pct(seq['f'])}.{note}",
            ]
        if files.get("entities_html"):
            lines += [
                "",
                f"Predicted vs. gold entities: [{files['entities_html']}]"
                f"({files['entities_html']})",
            ]
        lines.append("")
    for name, cats in (scores.get("cats") or {}).items():
        lines += [f"## Categories: `{name}` ({cats['type']}, factory `{cats['factory']}`)", ""]
        lines.append(
            f"Scored on {cats['n_docs']} docs with gold cats for its labels "
            f"({cats['n_docs_excluded']} without them excluded)."
        )
        lines.append("")
        summary = [
            ["accuracy", _pct(cats["accuracy"])],
            [
                "macro P / R / F",
                f"{_pct(cats['macro_p'])} / {_pct(cats['macro_r'])} / {_pct(cats['macro_f'])}",
            ],
            [
                "micro P / R / F",
                f"{_pct(cats['micro_p'])} / {_pct(cats['micro_r'])} / {_pct(cats['micro_f'])}",
            ],
            ["macro AUC", _pct(cats["macro_auc"])],
        ]
        if cats["type"] == "multilabel":
            summary.insert(1, ["hamming accuracy", _pct(cats.get("hamming_accuracy"))])
            summary.append(["threshold", f"{cats['threshold']:g}"])
        lines += _md_table(["Metric", "Value"], summary)
        lines.append("")
        rows = [
            [label, _pct(v["p"]), _pct(v["r"]), _pct(v["f"]), _pct(v["auc"]), v["support"]]
            for label, v in cats["per_label"].items()
        ]
        lines += _md_table(["Label", "P", "R", "F", "AUC", "Support"], rows)
        lines.append("")
        confusion = cats["confusion_matrix"]
        if cats["type"] == "exclusive":
            lines += ["Confusion matrix (rows: gold, columns: predicted):", ""]
            labels = confusion["labels"]
            lines += _md_table(
                ["gold \\ predicted", *labels],
                [[label, *row] for label, row in zip(labels, confusion["matrix"])],
            )
        else:
            lines += [f"Per-label decisions at threshold {cats['threshold']:g}:", ""]
            lines += _md_table(
                ["Label", "TP", "FP", "FN", "TN"],
                [
                    [label, b[1][1], b[0][1], b[1][0], b[0][0]]
                    for label, b in confusion["per_label"].items()
                ],
            )
        image = files.get("confusion", {}).get(name)
        if image:
            lines += ["", f"![{name} confusion matrix]({image})"]
        lines.append("")
    if files.get("training_curve"):
        lines += ["## Training curve", "", f"![training curve]({files['training_curve']})", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# Everything together
# --------------------------------------------------------------------------


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def evaluate_pipeline(
    nlp: Language | PathLike,
    examples_or_path: Iterable[Example] | PathLike,
    output_dir: PathLike,
    train_log: PathLike | None = None,
    displacy_limit: int = 25,
    *,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Evaluate a pipeline and write a readable report to `output_dir`:

    * `scores.json`: entity and per-classifier scores, speed, doc counts,
      and the seqeval cross-check (`ents_seqeval`).
    * `confusion_<component>.png` per text classifier with scored docs.
    * `training_curve.png` if `train_log` is given.
    * `entities.html`: displaCy page of the first `displacy_limit` docs with
      predicted entities or NER gold (if any).
    * `report.md`: the tables for humans.

    Entities are scored only on docs whose reference has NER annotation, and
    each classifier only on docs with gold cats for its labels.

    nlp (Union[Language, PathLike]): The pipeline, or a path/name to load.
    examples_or_path (Union[Iterable[Example], PathLike]): Gold examples, or
        a `.spacy` file to read them from.
    output_dir (PathLike): Where to write; created if needed.
    train_log (Optional[PathLike]): A ConsoleLogger.v3 JSONL training log.
    displacy_limit (int): How many docs to render in `entities.html`.
    batch_size (Optional[int]): Batch size of the prediction pass.
    RETURNS (dict[str, Any]): The content of `scores.json`.
    """
    if not isinstance(nlp, Language):
        import spacy

        nlp = spacy.load(nlp)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data_path: str | None = None
    if isinstance(examples_or_path, (str, Path)):
        data_path = str(examples_or_path)
        examples = load_examples(nlp, examples_or_path)
    else:
        examples = list(examples_or_path)
    predicted, speed = predict(nlp, examples, batch_size=batch_size)
    ner_names = find_ner_components(nlp)
    textcats = find_textcat_components(nlp)
    scores: dict[str, Any] = {
        "pipeline": {
            "lang": nlp.lang,
            "name": nlp.meta.get("name"),
            "version": nlp.meta.get("version"),
            "components": list(nlp.pipe_names),
        },
        "data": data_path,
        "n_examples": len(examples),
        "speed": speed,
        "ents": None,
        "ents_seqeval": None,
        "cats": {},
    }
    files: dict[str, Any] = {"scores": "scores.json", "report": "report.md", "confusion": {}}
    if ner_names:
        scores["ents"] = {"components": ner_names, **score_entities(predicted)}
        scores["ents_seqeval"] = score_seqeval(predicted)
    for info in textcats:
        cats = score_textcat(
            predicted,
            info.labels,
            multi_label=info.multi_label,
            threshold=info.threshold,
            positive_label=info.positive_label,
        )
        cats["factory"] = info.factory
        scores["cats"][info.name] = cats
        if cats["n_docs"]:
            filename = f"confusion_{_safe_name(info.name)}.png"
            plot_confusion(info.name, cats, output_dir / filename)
            files["confusion"][info.name] = filename
    html_path = None
    if ner_names or any(has_ner_annotation(eg.reference) for eg in predicted):
        html_path = render_entities_html(predicted, output_dir / "entities.html", displacy_limit)
    files["entities_html"] = html_path.name if html_path else None
    files["training_curve"] = None
    if train_log is not None:
        plot_training_curve(train_log, output_dir / "training_curve.png")
        files["training_curve"] = "training_curve.png"
    scores["files"] = files
    write_report(scores, output_dir / "report.md")
    (output_dir / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    return scores
