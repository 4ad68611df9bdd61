"""Side-by-side benchmarks: spacy-albert vs the Hugging Face way, on the same weights.

    python -m bench.run [--quick] [--out bench/results] [--work-dir DIR] [--threads 2]

Every speed contender runs in this one process, on the same ALBERT weights, the same
texts and the same thread count, in interleaved rounds so that load from other processes
hits them alike; ratios are taken per round and the median is reported, next to the
best-round words/s. Peak RSS is measured in one child process per contender. Results go to
`<out>/<name>.json`, and the tables in BENCHMARKS.md (between the `bench:` markers) are
rebuilt from every results file present.

Sections: inference speed (spaCy joint textcat+ner, spaCy ner-only, HF pipelines, HF raw
forward; fp32, bf16, int8), peak RSS, on-disk size, training throughput, and (full mode)
accuracy on CoNLL-2003 + SST-2 for spacy-albert, the HF loop and spaCy's CNN pipeline,
plus the gain from domain MLM pretraining. Real data is read from `--data-dir`
(default ../shared/data or /work/shared/data) and never copied into the repository;
models, DocBins and trained pipelines go to `--work-dir` (default: a temp folder).
"""

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from .accuracy import bench_accuracy  # noqa: E402
from .data import count_words, find_data_dir, long_docs, short_texts  # noqa: E402
from .inference import agreement, bench_inference  # noqa: E402
from .pipelines import disk_sizes, model_dir, prepare  # noqa: E402
from .render import targets, write_markdown  # noqa: E402
from .rss import bench_rss, rss_child  # noqa: E402
from .settings import BENCHMARKS_MD, FULL, QUICK, RESULTS  # noqa: E402
from .training import bench_training  # noqa: E402

SECTIONS = ("inference", "rss", "disk", "training", "accuracy")


def cpu_name() -> str:
    """The CPU model and core count, for the results' meta block."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.machine()


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small budget (< 3 min).")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) /
                                                  "spacy-albert-bench"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", default="", help="Comma-separated sections to skip: "
                        f"{','.join(SECTIONS)}.")
    parser.add_argument("--name", default=None,
                        help="Results file stem (default: quick or full), e.g. to run the "
                        "accuracy section alone next to another run.")
    parser.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = {s.strip() for s in args.skip.split(",") if s.strip()} - set(SECTIONS)
    if unknown:
        parser.error(f"--skip: unknown section(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(SECTIONS)}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.rss_child:
        rss_child(json.loads(args.rss_child))
        return
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    mode = "quick" if args.quick else "full"
    name = args.name or mode
    data = find_data_dir(args.data_dir)
    work = Path(args.work_dir)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_start = load_average()
    print(f"[bench] {mode} mode, work dir {work}, {args.threads} threads, load {load_start}",
          flush=True)
    paths = prepare(work, data, budget.sizes)
    results: dict[str, Any] = {}

    def save(final: bool = False) -> None:
        results["meta"] = {
            "command": "python -m bench.run" + (" --quick" if args.quick else "")
            + (f" --skip {args.skip}" if args.skip else "")
            + (f" --name {args.name}" if args.name else ""),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "cpu": cpu_name(),
            "torch": torch.__version__,
            "threads": args.threads,
            "loadavg_start": load_start,
            "loadavg_end": load_average(),
            "seconds": time.perf_counter() - started,
            "skipped": sorted(skip),
            "complete": final,
        }
        (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        write_markdown(out_dir)

    short = short_texts(data, budget.short_texts)
    long = long_docs(data, budget.long_docs)
    if "inference" not in skip:
        results["inference"] = {}
        for size in budget.sizes:
            runs = [("short", short, 64, False)]
            if size in budget.long_sizes:
                runs.append(("long", long, 8, True))
            for kind, texts, batch_size, is_long in runs:
                key = f"{size}/{kind}"
                print(f"[bench] inference {key} ({count_words(texts)} words)", flush=True)
                results["inference"][key] = bench_inference(
                    paths[size], texts, budget.names, batch_size, budget.rounds, is_long)
                print(json.dumps(results["inference"][key]["ratios"]), flush=True)
                results["targets"] = targets(results["inference"])
                save()
        results["agreement"] = agreement(paths["base" if "base" in paths else "tiny"], short)
        save()
    if "disk" not in skip:
        results["disk"] = {size: disk_sizes(p) for size, p in paths.items()}
        save()
    if "rss" not in skip:
        size = "base" if "base" in paths else budget.sizes[0]
        print(f"[bench] peak RSS ({size})", flush=True)
        results["rss"] = {f"{size}/short": bench_rss(paths[size], short, budget.rss_contenders,
                                                     64, False, args.threads)}
        if budget.rss_long:
            results["rss"][f"{size}/long"] = bench_rss(paths[size], long, budget.rss_contenders,
                                                       8, True, args.threads)
        save()
    if "training" not in skip:
        print(f"[bench] training throughput ({budget.train_size})", flush=True)
        train_model = (paths[budget.train_size].model if budget.train_size in paths
                       else model_dir(work, budget.train_size, data))
        results["training"] = bench_training(train_model, data, budget.train_steps, 32)
        results["training"]["model"] = f"init-model --size {budget.train_size}"
        save()
    if budget.accuracy and "accuracy" not in skip:
        print("[bench] accuracy (full mode)", flush=True)
        results["accuracy"] = {}
        bench_accuracy(work, data, budget, results["accuracy"], save)
    save(final=True)
    print(f"[bench] wrote {out_dir / (name + '.json')} and {BENCHMARKS_MD} "
          f"in {results['meta']['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
