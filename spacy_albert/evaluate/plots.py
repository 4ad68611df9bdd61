"""Figures: confusion matrices of text classifiers and the training curve, drawn with
object-oriented matplotlib (an optional dependency, imported when a figure is drawn)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .results import ExclusiveConfusion, TextcatScores

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = Union[str, Path]


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


def plot_confusion(name: str, scores: TextcatScores, path: PathLike) -> Path:
    """Draw a classifier's confusion matrix: gold × predicted for an exclusive
    classifier, one 2×2 block per label for a multi-label one. Cells show counts.

    name (str): The component name, used in the title.
    scores (TextcatScores): The classifier's scores.
    path (PathLike): Where to write the PNG.
    RETURNS (Path): The path written.
    """
    path = Path(path)
    confusion = scores.confusion_matrix
    if isinstance(confusion, ExclusiveConfusion):
        labels = confusion.labels
        size = max(4.0, 0.6 * len(labels) + 2.5)
        fig = _new_figure(size + 1.0, size)
        ax = fig.add_subplot(1, 1, 1)
        image = _draw_matrix(ax, confusion.matrix, labels, labels)
        ax.set_xlabel("Predicted label")
        ax.set_ylabel("Gold label")
        fig.colorbar(image, ax=ax, label="docs")
        acc = f", accuracy {scores.accuracy:.1%}" if scores.accuracy is not None else ""
        ax.set_title(f"{name}: confusion matrix\n{scores.n_docs} docs{acc}")
    else:
        blocks = confusion.per_label
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
            f"{name}: per-label confusion at threshold {scores.threshold:g} ({scores.n_docs} docs)"
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
