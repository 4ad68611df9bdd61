"""Files around calibration: read gold `.spacy` docs, save the calibrated pipeline, and
write the report (calibration.json and one reliability diagram per head)."""

import math
from pathlib import Path
from typing import Any, Optional, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training.corpus import walk_corpus

from .fit import CalibrationResult, CalibrationSettings, calibrate_pipeline
from .metrics import reliability_diagram


def read_docbin(path: Union[str, Path], nlp: Language) -> list[Doc]:
    """The docs of a `.spacy` file, or of every `.spacy` file under a directory (sorted,
    as `spacy train` reads a corpus directory), with a clear error naming the file that is
    missing or damaged."""
    path = Path(path)
    files = walk_corpus(path, ".spacy") if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no .spacy files under {path}")
    docs: list[Doc] = []
    for file in files:
        try:
            docs.extend(DocBin().from_disk(file).get_docs(nlp.vocab))
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read {file} as a .spacy DocBin: {err}") from None
    return docs


def without_nan(value: Any) -> Any:
    """The value with nan floats as None, so the report is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(v) for v in value]
    return value


def save_report(
    result: CalibrationResult, out_dir: Union[str, Path], n_bins: int = 10
) -> list[Path]:
    """Write calibration.json (the numbers) and reliability_<head>.png (needs matplotlib).

    result (CalibrationResult): From `calibrate_pipeline`.
    out_dir (Union[str, Path]): Where to write.
    n_bins (int): Bins of the diagrams.
    RETURNS (list[Path]): The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_on": result.measured_on,
        "heads": [vars(head) for head in result.heads],
        "entity_threshold": None,
        "calibration": result.calibration.to_dict(),
    }
    if result.entity_threshold is not None:
        report["entity_threshold"] = vars(result.entity_threshold)
    written = [out / "calibration.json"]
    srsly.write_json(written[0], without_nan(report))
    for outcome in result.outcomes:
        fig = reliability_diagram(
            outcome.raw,
            outcome.correct,
            calibrated=outcome.calibrated,
            n_bins=n_bins,
            title=f"{outcome.name} ({outcome.kind})",
        )
        path = out / f"reliability_{outcome.name}.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    return written


def calibrate(
    pipeline_path: Union[str, Path],
    dev_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    eval_path: Optional[Union[str, Path]] = None,
    report_dir: Optional[Union[str, Path]] = None,
    settings: CalibrationSettings = CalibrationSettings(),
) -> CalibrationResult:
    """Load a pipeline, calibrate it on a `.spacy` dev file and save it to output_path.

    pipeline_path (Union[str, Path]): Trained pipeline directory or package name.
    dev_path (Union[str, Path]): Gold dev docs (.spacy).
    output_path (Union[str, Path]): Where to save the calibrated pipeline.
    eval_path (Optional[Union[str, Path]]): Gold docs to measure on (.spacy); default:
        a held-out part of dev.
    report_dir (Optional[Union[str, Path]]): Write calibration.json and reliability
        diagrams here.
    settings (CalibrationSettings): Split, precision target, entity method, bins.
    RETURNS (CalibrationResult): The calibration and its before/after numbers.
    """
    import spacy

    nlp = spacy.load(pipeline_path)
    result = calibrate_pipeline(
        nlp,
        read_docbin(dev_path, nlp),
        None if eval_path is None else read_docbin(eval_path, nlp),
        settings,
    )
    nlp.to_disk(output_path)
    if report_dir is not None:
        save_report(result, report_dir, settings.n_bins)
    return result
