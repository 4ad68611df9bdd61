"""Does calibration help on data it was not fitted on? ECE before/after and the entity
precision at the dev-chosen threshold, for a trained pipeline.

    python -m bench.calibration PIPELINE --dev DEV.spacy [...] [--eval TEST.spacy [...]]
        [--splits 30] [--min-precision 0.9] --out bench/results/calibration_NAME.json

The pipeline predicts every doc once, with calibration off. Without `--eval`, each of
`--splits` seeded halves of dev is fitted on and the other half measured (the ECE of a
few dozen docs moves a lot from split to split, so one split proves little); with
`--eval`, all of dev is fitted on and the evaluation docs are measured. The report is
what `python -m spacy_albert calibrate` would print for each split.
"""

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import spacy  # noqa: E402
import torch  # noqa: E402

from spacy_albert.confidence.files import read_docbin, without_nan  # noqa: E402
from spacy_albert.confidence.fit import (  # noqa: E402
    CalibrationResult,
    CalibrationSettings,
    add_confidence_components,
    fit_and_measure,
    split_docs,
    uncalibrated_predictions,
)

from .fairness import mean_sd  # noqa: E402
from .meta import load_average, run_meta  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def split_report(result: CalibrationResult, seed: Optional[int]) -> dict[str, Any]:
    """One split's numbers; the threshold report's nan (nothing kept) as None."""
    threshold = result.entity_threshold
    return {
        "seed": seed,
        "measured_on": result.measured_on,
        "heads": [dict(vars(head)) for head in result.heads],
        "entity_threshold": None if threshold is None else without_nan(dict(vars(threshold))),
    }


def summarize(splits: Sequence[dict[str, Any]], min_precision: float) -> dict[str, Any]:
    """Per head: mean ± sd ECE before/after, and in how many splits calibration lowered
    it; for entities: the measured precision at the chosen threshold against the ask."""
    heads: dict[str, Any] = {}
    for name in [head["name"] for head in splits[0]["heads"]]:
        rows = [next(h for h in split["heads"] if h["name"] == name) for split in splits]
        heads[name] = {
            "kind": rows[0]["kind"],
            "n_measured": rows[0]["n_measured"],
            "ece_before": mean_sd([row["ece_before"] for row in rows], digits=None),
            "ece_after": mean_sd([row["ece_after"] for row in rows], digits=None),
            "splits_lower": sum(row["ece_after"] < row["ece_before"] for row in rows),
            "splits_unchanged": sum(row["ece_after"] == row["ece_before"] for row in rows),
            "splits": len(rows),
        }
    summary: dict[str, Any] = {"heads": heads}
    thresholds = [s["entity_threshold"] for s in splits if s["entity_threshold"]]
    measured = [t["precision"] for t in thresholds if t["precision"] is not None]
    if measured:
        summary["entity_threshold"] = {
            "min_precision": min_precision,
            "precision": mean_sd(measured, digits=None),
            "recall": mean_sd([t["recall"] for t in thresholds if t["precision"] is not None],
                              digits=None),
            "within_3_points": sum(abs(p - min_precision) <= 0.03 + 1e-9 for p in measured),
            "at_least_ask_minus_3_points": sum(p >= min_precision - 0.03 - 1e-9
                                               for p in measured),
            "measured_splits": len(measured),
            "no_threshold_splits": sum(t["threshold"] is None for t in thresholds),
        }
    return summary


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calibration",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--dev", type=Path, nargs="+", required=True,
                        help="Gold .spacy files to fit on.")
    parser.add_argument("--eval", type=Path, nargs="*", default=[],
                        help="Gold .spacy files to measure on (default: held-out dev halves).")
    parser.add_argument("--splits", type=int, default=30,
                        help="Seeded dev halves to fit/measure when there is no --eval.")
    parser.add_argument("--min-precision", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default=None, help="Label in BENCHMARKS.md.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()

    nlp = spacy.load(args.pipeline)
    calibrator = add_confidence_components(nlp)
    dev = [doc for path in args.dev for doc in read_docbin(path, nlp)]
    evaluation = [doc for path in args.eval for doc in read_docbin(path, nlp)]
    predictions = uncalibrated_predictions(nlp, calibrator, dev + evaluation)
    n_docs = len(dev) + len(evaluation)
    settings = CalibrationSettings(min_precision=args.min_precision)
    if evaluation:
        measured_on = f"{len(evaluation)} evaluation docs (fitted on {len(dev)} dev docs)"
        fit_index, measure_index = np.arange(len(dev)), np.arange(len(dev), n_docs)
        splits = [split_report(fit_and_measure(
            predictions, fit_index, measure_index, measured_on, settings), None)]
    else:
        splits = []
        for seed in range(args.splits):
            fit_index, measure_index = split_docs(len(dev), 0.5, seed)
            measured_on = f"{len(measure_index)} held-out dev docs (seed {seed})"
            splits.append(split_report(fit_and_measure(
                predictions, fit_index, measure_index, measured_on, settings), seed))
    results = {
        "name": args.name or args.pipeline.name,
        "pipeline": str(args.pipeline),
        "dev": [str(path) for path in args.dev],
        "eval": [str(path) for path in args.eval],
        "summary": summarize(splits, args.min_precision),
        "splits": splits,
        "run": run_meta("bench.calibration", started, load_start, args.threads),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["summary"], indent=2))
    print(f"[calibration] wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
