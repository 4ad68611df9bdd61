"""`python -m spacy_albert evaluate`: score a pipeline on a `.spacy` file and
write scores.json, confusion matrices, a training curve, a displaCy page and a
markdown report (see `spacy_albert.evaluate`)."""

from pathlib import Path
from typing import Optional

import typer
from spacy.cli._util import setup_gpu
from wasabi import msg

from ..evaluate import evaluate_pipeline, print_report
from ._app import app


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
    entities.html and report.md to --output-dir. A classifier at chance level
    (one class for every doc, macro F or AUC at chance) is flagged in red.
    """
    setup_gpu(gpu_id)
    result = evaluate_pipeline(
        pipeline_dir,
        data_path,
        output_dir,
        train_log=train_log,
        displacy_limit=displacy_limit,
        batch_size=batch_size,
    )
    print_report(result)
    msg.good(f"Saved to {output_dir}: {', '.join(result.files.written())}")
