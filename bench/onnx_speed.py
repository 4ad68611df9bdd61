"""ONNX vs torch: size on disk and words/s of the joint textcat+ner pipeline on this CPU.

    python -m bench.onnx_speed [--sizes tiny,base] [--texts 128] [--rounds 3] [--threads 1]

For each size an untrained joint pipeline is built from an init-model ALBERT learned on
corpus/en/pretrain.txt (speed does not depend on training), then: torch fp32, torch int8
(`quantize`), ONNX fp32 and ONNX int8 (`export-onnx [--int8]`). The four run in
interleaved rounds over the same texts (batch 64) with the same thread count (torch and
onnxruntime intra-op threads = --threads); best and
median words/s are reported, plus how closely each matches torch fp32's predictions.
Writes bench/results/onnx.json.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import spacy  # noqa: E402
import torch  # noqa: E402

import spacy_albert.models.onnx  # noqa: E402,F401 - registers the ONNX architecture
from spacy_albert.checkpoints.builder import init_model  # noqa: E402
from spacy_albert.models.onnx_export import export_onnx_pipeline  # noqa: E402

from .data import count_words  # noqa: E402
from .meta import load_average, run_meta  # noqa: E402
from .pipelines import build_pipeline, dir_size, quantized_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "en"
CONTENDERS = ("torch_fp32", "torch_int8", "onnx_fp32", "onnx_int8")


def bench_texts(n: int) -> list[str]:
    lines = (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    return [texts[i % len(texts)] for i in range(n)]


def build(work: Path, size: str) -> dict[str, Path]:
    """The four pipelines of one size (reused when already in `work`)."""
    model = work / f"albert-{size}"
    if not (model / "config.json").is_file():
        init_model(model, CORPUS / "pretrain.txt", lang="en", size=size, seed=0)
    torch_fp32 = build_pipeline("textcat_ner.cfg", model, work / f"{size}-torch-fp32")
    paths = {
        "torch_fp32": torch_fp32,
        "torch_int8": quantized_pipeline(torch_fp32, work / f"{size}-torch-int8"),
    }
    for name, int8 in (("onnx_fp32", False), ("onnx_int8", True)):
        out = work / f"{size}-{name.replace('_', '-')}"
        if not (out / "config.cfg").is_file():
            export_onnx_pipeline(torch_fp32, out, int8=int8)
        paths[name] = out
    return paths


def predictions(nlp: Any, texts: list[str]) -> list[tuple[dict[str, float], list]]:
    return [(dict(doc.cats), [(e.start_char, e.end_char, e.label_) for e in doc.ents])
            for doc in nlp.pipe(texts, batch_size=64)]


def agreement(expected: list, got: list) -> dict[str, float]:
    top = [max(c, key=c.__getitem__) if c else None for c, _ in expected]
    return {
        "same_top_cat": sum(t == (max(c, key=c.__getitem__) if c else None)
                            for t, (c, _) in zip(top, got)) / len(got),
        "same_ents": sum(e == g for (_, e), (_, g) in zip(expected, got)) / len(got),
        "max_cat_prob_diff": max(
            (abs(c[k] - ec[k]) for (c, _), (ec, _) in zip(got, expected) for k in ec),
            default=0.0,
        ),
    }


def load(path: Path, name: str, threads: int) -> Any:
    """A contender with `threads` intra-op threads (torch's are set process-wide)."""
    if name.startswith("onnx"):
        return spacy.load(path, config={"components": {"transformer": {"model": {
            "num_threads": threads}}}})
    return spacy.load(path)


def bench_size(paths: dict[str, Path], texts: list[str], rounds: int, threads: int
               ) -> dict[str, Any]:
    nlps = {name: load(paths[name], name, threads) for name in CONTENDERS}
    words = count_words(texts)
    for nlp in nlps.values():  # warm-up: first-call allocations, session set-up
        predictions(nlp, texts[:16])
    seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    outputs: dict[str, list] = {}
    for _ in range(rounds):
        for name, nlp in nlps.items():
            start = time.perf_counter()
            outputs[name] = predictions(nlp, texts)
            seconds[name].append(time.perf_counter() - start)
    result: dict[str, Any] = {"texts": len(texts), "words": words, "rounds": rounds,
                              "contenders": {}}
    for name in CONTENDERS:
        best, median = min(seconds[name]), statistics.median(seconds[name])
        result["contenders"][name] = {
            "words_per_s_best": words / best,
            "words_per_s_median": words / median,
            "pipeline_mb": dir_size(paths[name]) / 1e6,
            "transformer_mb": dir_size(paths[name] / "transformer") / 1e6,
            "vs_torch_fp32": agreement(outputs["torch_fp32"], outputs[name]),
        }
    base = result["contenders"]["torch_fp32"]["words_per_s_best"]
    for row in result["contenders"].values():
        row["speedup_vs_torch_fp32"] = row["words_per_s_best"] / base
    return result


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.onnx_speed",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="tiny,base")
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and onnxruntime intra-op threads (1 on a shared machine).")
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) /
                                                  "spacy-albert-onnx-bench"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "onnx.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    texts = bench_texts(args.texts)
    results: dict[str, Any] = {"sizes": {}}
    for size in args.sizes.split(","):
        print(f"[onnx] building {size}", flush=True)
        paths = build(work, size)
        print(f"[onnx] timing {size}", flush=True)
        results["sizes"][size] = bench_size(paths, texts, args.rounds, args.threads)
        print(json.dumps({k: round(v["words_per_s_best"]) for k, v in
                          results["sizes"][size]["contenders"].items()}), flush=True)
    import onnxruntime

    results["run"] = run_meta(
        "bench.onnx_speed", started, load_start, args.threads,
        onnxruntime=onnxruntime.__version__, batch_size=64,
        note="Heads are untrained (speed does not depend on training), so the agreement "
        "columns check the encoder path only; trained-pipeline equality is tested in "
        "tests/models/test_onnx.py.",
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"[onnx] wrote {out}", flush=True)


if __name__ == "__main__":
    main()
