"""Collect the `en-pretrained` workflow's scores and training logs into one results file.

    python -m bench.pretrained_report --context document \
        --out bench/results/en_pretrained_document.json

Reads what the workflow wrote (never committed: `metrics/` and `training/` are outputs):
`metrics/en_pretrained/<system>_<context>/{dev,test}/scores.json` from
`python -m spacy_albert evaluate` and `training/en_pretrained/<system>_<context>/log.jsonl`
from `bench/train_log.py`, for the joint ALBERT pipeline and spaCy's CNN `ner`, and the
joint pipeline's `calibration/calibration.json` from `python -m spacy_albert calibrate`
(fitted on dev, measured on test). Writes the numbers BENCHMARKS.md shows, with the
machine they ran on.
"""

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from .meta import load_average, run_meta

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("albert", "cnn")


def split_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """Entity P/R/F (spaCy's scorer and seqeval) and text classification, from scores.json."""
    out: dict[str, Any] = {"n_examples": scores["n_examples"]}
    ents = scores.get("ents")
    if ents:
        out["ents"] = {
            "p": ents["ents_p"], "r": ents["ents_r"], "f": ents["ents_f"],
            "n_gold": ents["n_gold"], "n_docs": ents["n_docs"],
            "per_type": {label: row["f"] for label, row in ents["ents_per_type"].items()},
        }
        if scores.get("ents_seqeval"):
            out["ents"]["seqeval_f"] = scores["ents_seqeval"]["f"]
    for name, head in (scores.get("cats") or {}).items():
        out.setdefault("cats", {})[name] = {
            key: head[key] for key in ("accuracy", "macro_f", "macro_auc", "n_docs")
            if key in head
        }
    return out


def training_summary(log_path: Path) -> dict[str, Any]:
    """Updates, words, wall time and words/s of a training run, and its best evaluation."""
    records = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    if not records:
        raise ValueError(f"{log_path}: no evaluation records")
    last = records[-1]
    best = max(records, key=lambda record: record["score"])
    return {
        "steps": last["step"],
        "words": last["words"],
        "seconds": last["seconds"],
        "words_per_s": last["words"] / last["seconds"] if last["seconds"] else None,
        "best_step": best["step"],
    }


def collect(context: str, metrics: Path, training: Path) -> dict[str, Any]:
    """The results of each system that has a training log and both splits' scores."""
    systems: dict[str, Any] = {}
    for system in SYSTEMS:
        run = f"{system}_{context}"
        log = training / run / "log.jsonl"
        splits = {split: metrics / run / split / "scores.json" for split in ("dev", "test")}
        if not log.is_file() or not all(path.is_file() for path in splits.values()):
            continue
        systems[system] = {
            "training": training_summary(log),
            **{split: split_scores(json.loads(path.read_text(encoding="utf-8")))
               for split, path in splits.items()},
        }
        calibration = metrics / run / "calibration" / "calibration.json"
        if calibration.is_file():
            report = json.loads(calibration.read_text(encoding="utf-8"))
            systems[system]["calibration"] = {
                key: report[key] for key in ("measured_on", "heads", "entity_threshold")
            }
    if not systems:
        raise SystemExit(f"no results under {metrics} for context {context!r}: run "
                         "`spacy project run en-pretrained` first")
    return systems


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pretrained_report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--context", default="document", choices=("document", "sentence"))
    parser.add_argument("--metrics", type=Path, default=ROOT / "metrics" / "en_pretrained")
    parser.add_argument("--training", type=Path, default=ROOT / "training" / "en_pretrained")
    parser.add_argument("--threads", type=int, default=2,
                        help="Threads the training ran with (for the record).")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), load_average()
    results = {
        "context": args.context,
        "systems": collect(args.context, args.metrics, args.training),
        "run": run_meta(
            "bench.pretrained_report", started, load_start, args.threads,
            note="Collected from the en-pretrained workflow's evaluate and training-log "
            "outputs by its last step, on the machine that trained; the load average is "
            "the collector's, not the training's.",
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"[pretrained] wrote {args.out}")


if __name__ == "__main__":
    main()
