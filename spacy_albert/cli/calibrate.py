"""`python -m spacy_albert calibrate`: fit confidence calibration on dev and save it into
the pipeline (see `spacy_albert.confidence.fit`)."""

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..confidence.files import calibrate
from ..confidence.fit import CalibrationResult, CalibrationSettings
from ._app import app


def print_result(result: CalibrationResult) -> None:
    """Print ECE before/after per head and the entity threshold, with wasabi."""
    rows = [
        (
            head.name,
            head.kind,
            head.setting,
            head.n_fit,
            head.n_measured,
            f"{head.ece_before:.4f}",
            f"{head.ece_after:.4f}",
        )
        for head in result.heads
    ]
    msg.table(
        rows,
        header=("head", "kind", "fitted", "n fit", "n measured", "ECE before", "ECE after"),
        aligns=("l", "l", "l", "r", "r", "r", "r"),
        title=f"Calibration, measured on {result.measured_on}",
    )
    for name, thresholds in (
        (head.component, head.thresholds) for head in result.calibration.cats if head.thresholds
    ):
        msg.info(f"{name} thresholds: " + ", ".join(f"{k}={v:.3f}" for k, v in thresholds.items()))
    report = result.entity_threshold
    if report is None:
        return
    if report.threshold is None:
        msg.warn(
            f"no entity score threshold reaches precision {report.min_precision:.2f} on the "
            "fitting docs: none stored"
        )
        return
    msg.info(
        f"entity min score {report.threshold:.3g} for precision >= {report.min_precision:.2f}: "
        f"fit P={report.fit_precision:.3f} R={report.fit_recall:.3f}; measured "
        f"P={report.precision:.3f} R={report.recall:.3f} ({report.kept} kept)"
    )


@app.command("calibrate")
def calibrate_cli(
    pipeline_dir: Path = typer.Argument(..., help="Trained pipeline directory (or package)."),
    dev_path: Path = typer.Argument(
        ..., help="Gold dev data to fit on: a .spacy file or a directory of them.", exists=True
    ),
    output_dir: Path = typer.Argument(..., help="Where to save the calibrated pipeline."),
    eval_path: Optional[Path] = typer.Option(
        None, "--eval", help="Gold data to measure on (.spacy file or directory); default: "
        "held-out dev.",
        exists=True,
    ),
    heldout: float = typer.Option(
        0.5, "--heldout", help="Share of dev held out for measuring when there is no --eval "
        "(0: fit on all of dev and measure on it)."
    ),
    min_precision: float = typer.Option(
        0.9, "--min-precision", help="Entity precision to choose a min score for."
    ),
    method: str = typer.Option(
        "auto", "--method", help="Entity score map: auto (best cross-validated Brier score), "
        "identity, platt or isotonic."
    ),
    report_dir: Optional[Path] = typer.Option(
        None, "--report-dir", help="Write calibration.json and reliability diagrams here."
    ),
    n_bins: int = typer.Option(10, "--n-bins", help="Bins for ECE and the diagrams."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Batch size."),
) -> None:
    """Calibrate doc.cats and entity scores on dev and save them into the pipeline.

    Adds albert_entity_scorer (ent._.score from the ner's beam) and albert_calibrator
    (temperature scaling per text classifier, per-label F1 thresholds for multi-label
    heads, a map for entity scores chosen by cross-validation and the entity score reaching
    --min-precision). Calibration never changes doc.ents or an exclusive argmax.
    """
    if method not in ("auto", "identity", "platt", "isotonic"):
        msg.fail(f"--method must be auto, identity, platt or isotonic, got {method!r}", exits=1)
    result = calibrate(
        pipeline_dir,
        dev_path,
        output_dir,
        eval_path=eval_path,
        report_dir=report_dir,
        settings=CalibrationSettings(
            heldout_fraction=heldout,
            seed=seed,
            min_precision=min_precision,
            entity_method=method,  # type: ignore[arg-type]
            n_bins=n_bins,
            batch_size=batch_size,
        ),
    )
    print_result(result)
    msg.good(f"Saved the calibrated pipeline to {output_dir}")
