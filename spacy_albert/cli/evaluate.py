"""`python -m spacy_albert evaluate`: score a pipeline on a `.spacy` file and
write scores.json, confusion matrices, a training curve, a displaCy page and a
markdown report (see `spacy_albert.evaluate.run`)."""

from pathlib import Path
from typing import Any, Optional

import typer
from wasabi import msg

from ..evaluate.run import evaluate_pipeline
from ._app import app


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def print_scores(scores: dict[str, Any]) -> None:
    """Print the tables of `evaluate_pipeline`'s scores with wasabi, in the
    style of `spacy evaluate`: a summary, then P/R/F per entity type and per
    category, and each exclusive classifier's confusion matrix.

    scores (dict[str, Any]): The dict `evaluate_pipeline` returns.
    """
    speed = scores["speed"]
    summary: list[tuple[str, str]] = [("Docs", str(scores["n_examples"]))]
    if speed.get("words_per_second") is not None:
        summary.append(("Speed (words/s)", f"{speed['words_per_second']:.0f}"))
    ents = scores.get("ents")
    if ents is not None:
        summary += [
            ("NER docs (excluded)", f"{ents['n_docs']} ({ents['n_docs_excluded']})"),
            ("NER P", _pct(ents["ents_p"])),
            ("NER R", _pct(ents["ents_r"])),
            ("NER F", _pct(ents["ents_f"])),
        ]
        seq = scores.get("ents_seqeval")
        if seq is not None:
            summary.append(("NER F (seqeval)", _pct(seq["f"])))
    for name, cats in scores["cats"].items():
        summary += [
            (f"{name} docs (excluded)", f"{cats['n_docs']} ({cats['n_docs_excluded']})"),
            (f"{name} accuracy", _pct(cats["accuracy"])),
            (f"{name} macro F", _pct(cats["macro_f"])),
            (f"{name} micro F", _pct(cats["micro_f"])),
            (f"{name} macro AUC", _pct(cats["macro_auc"])),
        ]
    msg.table(summary, title="Results")

    if ents is not None and ents["ents_per_type"]:
        rows = [
            (label, _pct(v["p"]), _pct(v["r"]), _pct(v["f"]), v["support"])
            for label, v in ents["ents_per_type"].items()
        ]
        msg.table(
            rows,
            header=("", "P", "R", "F", "Support"),
            aligns=("l", "r", "r", "r", "r"),
            title="NER (per type)",
        )
    for name, cats in scores["cats"].items():
        if not cats["n_docs"]:
            msg.warn(f"{name}: no docs with gold cats for its labels, nothing scored")
            continue
        rows = [
            (label, _pct(v["p"]), _pct(v["r"]), _pct(v["f"]), _pct(v["auc"]), v["support"])
            for label, v in cats["per_label"].items()
        ]
        msg.table(
            rows,
            header=("", "P", "R", "F", "AUC", "Support"),
            aligns=("l", "r", "r", "r", "r", "r"),
            title=f"{name} ({cats['type']}, per label)",
        )
        confusion = cats["confusion_matrix"]
        if cats["type"] == "exclusive":
            labels = confusion["labels"]
            msg.table(
                [(label, *row) for label, row in zip(labels, confusion["matrix"])],
                header=("gold \\ pred", *labels),
                aligns=("l", *["r"] * len(labels)),
                title=f"{name} confusion matrix",
            )
        else:
            msg.table(
                [
                    (label, b[1][1], b[0][1], b[1][0], b[0][0])
                    for label, b in confusion["per_label"].items()
                ],
                header=("", "TP", "FP", "FN", "TN"),
                aligns=("l", "r", "r", "r", "r"),
                title=f"{name} decisions at threshold {cats['threshold']:g}",
            )


@app.command("evaluate")
def evaluate_cli(
    pipeline_dir: Path = typer.Argument(..., help="Pipeline directory (or installed package)."),
    data_path: Path = typer.Argument(
        ..., help="Evaluation data in spaCy's binary format (.spacy).", exists=True
    ),
    output_dir: Path = typer.Option(
        Path("metrics"), "--output-dir", "-o", help="Where to write the metrics and figures."
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU."),
    displacy_limit: int = typer.Option(
        25, "--displacy-limit", help="How many docs to render in entities.html."
    ),
    train_log: Optional[Path] = typer.Option(
        None,
        "--train-log",
        help="ConsoleLogger.v3 JSONL log (training.logger.output_file) to plot.",
        exists=True,
        dir_okay=False,
    ),
    batch_size: Optional[int] = typer.Option(
        None, "--batch-size", "-b", help="Batch size for the prediction pass."
    ),
) -> None:
    """Evaluate a pipeline with ner and/or text classifiers on a .spacy file.

    Entities are scored only on docs with NER annotation and each classifier
    only on docs with gold cats for its labels. Writes scores.json,
    confusion_<component>.png, training_curve.png (with --train-log),
    entities.html and report.md to --output-dir.
    """
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
        msg.info(f"Using GPU: {gpu_id}")
    else:
        msg.info("Using CPU")
    nlp = spacy.load(pipeline_dir)
    scores = evaluate_pipeline(
        nlp,
        data_path,
        output_dir,
        train_log=train_log,
        displacy_limit=displacy_limit,
        batch_size=batch_size,
    )
    print_scores(scores)
    written = ["scores.json", "report.md"]
    written += list(scores["files"]["confusion"].values())
    for key in ("entities_html", "training_curve"):
        if scores["files"][key]:
            written.append(scores["files"][key])
    msg.good(f"Saved to {output_dir}: {', '.join(written)}")
