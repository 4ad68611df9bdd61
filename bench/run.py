"""Side-by-side benchmarks: spacy-albert vs the Hugging Face way, on the same weights.

    python -m bench.run [--quick] [--emulate-avx2] [--out bench/results] [--work-dir DIR]
                        [--threads 2]

Every speed contender runs in this one process, on the same ALBERT weights, the same
texts and the same thread count, in interleaved rounds so that load from other processes
hits them alike; ratios are taken per round and the median is reported, next to the
best-round words/s. Peak RSS is measured in one child process per contender. Results go to
`<out>/<name>.json` (meta: the command, the CPU model, flags and backends, and whether an
AVX2-only CPU was emulated), and when `<out>` is bench/results the tables in BENCHMARKS.md
(between the `bench:` markers) are rebuilt from every results file present.

Sections: inference speed (spaCy joint textcat+ner, spaCy ner-only, HF pipelines, HF raw
forward; fp32, bf16 where native, int8; the headline pair by bench.fairness's rule), peak
RSS, on-disk size, training throughput per model size, and (full mode) accuracy on
CoNLL-2003 + SST-2 for spacy-albert, the HF loop and spaCy's CNN pipeline, plus the gain
from domain MLM pretraining. Real data is read from `--data-dir` (default ../shared/data or
/work/shared/data) and never copied into the repository; models, DocBins and trained
pipelines go to `--work-dir` (default: a temp folder).
"""

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import torch

from spacy_albert.models.cpu import current_cpu

from .accuracy import bench_accuracy
from .contenders import precision
from .data import count_words, find_data_dir, long_docs, short_texts
from .inference import agreement, bench_inference, headline
from .meta import (
    EMULATE_FLAG,
    add_location_args,
    command_line,
    load_average,
    reexec_emulated,
    results_meta,
)
from .pipelines import disk_sizes, model_dir, prepare
from .render import targets, write_markdown
from .rss import bench_rss, rss_child
from .settings import BENCHMARKS_MD, FULL, LONG_EXTRA, QUICK, RESULTS
from .training import bench_training

SECTIONS = ("inference", "rss", "disk", "training", "accuracy")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small budget (< 3 min).")
    parser.add_argument(EMULATE_FLAG, action="store_true",
                        help="Re-run with every library capped to AVX2 (AVX2-only CPU).")
    add_location_args(parser, RESULTS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", default="", help="Comma-separated sections to skip: "
                        f"{','.join(SECTIONS)}.")
    parser.add_argument("--name", default=None,
                        help="Results file stem (default: quick or full, with -avx2-emulated "
                        "under emulation), e.g. to run the accuracy section alone.")
    parser.add_argument("--long-sizes", default=None,
                        help="Comma-separated model sizes also timed on long documents "
                        "(default: the mode's; '' for none), e.g. tiny where base would "
                        "take hours on 2 cores.")
    parser.add_argument("--train-sizes", default=None,
                        help="Comma-separated model sizes of the training-throughput section "
                        "(default: the mode's).")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="Timed steps per size in the training-throughput section "
                        "(default: the mode's).")
    parser.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = {s.strip() for s in args.skip.split(",") if s.strip()} - set(SECTIONS)
    if unknown:
        parser.error(f"--skip: unknown section(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(SECTIONS)}")
    return args


def size_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of model sizes ('' for none)."""
    return tuple(size.strip() for size in text.split(",") if size.strip())


def runnable(names: Sequence[str]) -> tuple[str, ...]:
    """The contenders this CPU should run: bf16 only where it is native."""
    native_bf16 = current_cpu().native_bf16
    return tuple(name for name in names if native_bf16 or precision(name) != "bf16")


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.rss_child:
        rss_child(json.loads(args.rss_child))
        return
    if args.emulate_avx2:
        reexec_emulated("bench.run", argv)
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    if args.long_sizes is not None:
        budget = replace(budget, long_sizes=size_list(args.long_sizes))
    if args.train_sizes is not None:
        budget = replace(budget, train_sizes=size_list(args.train_sizes))
    if args.train_steps is not None:
        budget = replace(budget, train_steps=args.train_steps)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    mode = "quick" if args.quick else "full"
    name = args.name or (f"{mode}-avx2-emulated" if current_cpu().emulated else mode)
    data = find_data_dir(args.data_dir)
    work = Path(args.work_dir)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_start = load_average()
    print(f"[bench] {mode} mode, work dir {work}, {args.threads} threads, load {load_start}, "
          f"CPU {current_cpu().summary()}", flush=True)
    paths = prepare(work, data, budget.sizes)
    names = runnable(budget.names)
    results: dict[str, Any] = {}

    def save(final: bool = False) -> None:
        if "inference" in results:
            losses = results.get("accuracy", {}).get("accuracy_loss")
            results["headlines"] = {key: headline(section, losses)
                                    for key, section in results["inference"].items()}
            results["targets"] = targets(results)
        results["meta"] = results_meta(
            command_line("bench.run", argv), args.threads, started, load_start,
            skipped=sorted(skip), contenders=list(names), complete=final)
        (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        if out_dir.resolve() == RESULTS.resolve():
            write_markdown(out_dir)

    short = short_texts(data, budget.short_texts)
    long = long_docs(data, budget.long_docs, budget.long_words)
    if "inference" not in skip:
        results["inference"] = {}
        for size in budget.sizes:
            runs = [("short", short, 64, names)]
            if size in budget.long_sizes:
                runs.append(("long", long, 8, names + runnable(LONG_EXTRA)))
            for kind, texts, batch_size, run_names in runs:
                key = f"{size}/{kind}"
                print(f"[bench] inference {key} ({len(texts)} texts, {count_words(texts)} "
                      "words)", flush=True)
                results["inference"][key] = bench_inference(
                    paths[size], texts, run_names, batch_size, budget.rounds, kind == "long")
                print(json.dumps(results["inference"][key]["ratios"]), flush=True)
                save()
        results["agreement"] = agreement(paths["base" if "base" in paths else "tiny"], short)
        save()
    if "disk" not in skip:
        results["disk"] = {size: disk_sizes(p) for size, p in paths.items()}
        save()
    if "rss" not in skip:
        size = "base" if "base" in paths else budget.sizes[0]
        print(f"[bench] peak RSS ({size})", flush=True)
        rss_names = runnable(budget.rss_contenders)
        results["rss"] = {f"{size}/short": bench_rss(paths[size], short, rss_names,
                                                     64, False, args.threads)}
        if budget.rss_long:
            results["rss"][f"{size}/long"] = bench_rss(paths[size], long, rss_names,
                                                       8, True, args.threads)
        save()
    if "training" not in skip:
        results["training"] = {}
        for size in budget.train_sizes:
            print(f"[bench] training throughput ({size})", flush=True)
            train_model = paths[size].model if size in paths else model_dir(work, size, data)
            results["training"][size] = bench_training(train_model, data, budget.train_steps,
                                                       32)
            save()
    if budget.accuracy and "accuracy" not in skip:
        print("[bench] accuracy (full mode)", flush=True)
        results["accuracy"] = {}
        bench_accuracy(work, data, budget, results["accuracy"], save)
    save(final=True)
    print(f"[bench] wrote {out_dir / (name + '.json')}"
          + (f" and {BENCHMARKS_MD}" if out_dir.resolve() == RESULTS.resolve() else "")
          + f" in {results['meta']['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
