"""Int8 kernel speed: albert-base's encoder in float32 and in int8 on each kernel.

    python -m bench.kernels [--emulate-avx2] [--threads 1] [--rounds 3] [--texts 64]

Same weights, same length-sorted batches of short CoNLL texts, one process, interleaved
rounds (as bench.run): the float32 encoder as our pipelines run it (fused GELU), and its
`quantize_model` copy pinned to each int8 kernel that passes its probe here. Ratios over
float32 are taken per round (median reported) and best round vs best round, on CPU time
with one thread (the default: other processes on a shared machine then barely move the
ratios) or on wall time with more. With
`--emulate-avx2` the run is repeated with oneDNN, fbgemm, MKL and ATen capped to AVX2 (see
spacy_albert.models.cpu.AVX2_EMULATION), as on an AVX2-only cloud CPU; the meta block says so.
The model is `python -m spacy_albert init-model DIR --corpus corpus/en/pretrain.txt --lang en
--size base`. Writes `<out>/kernels[-avx2-emulated].json` and rebuilds BENCHMARKS.md's tables.
"""

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import torch
from spacy.util import minibatch
from transformers import AutoModel, AutoTokenizer

from spacy_albert.models.cpu import current_cpu
from spacy_albert.models.int8 import quantize_model, use_int8_kernel
from spacy_albert.models.int8_kernels import available_kernels, default_choice
from spacy_albert.models.loading import use_fused_gelu

from .data import count_words, find_data_dir, short_texts
from .meta import (
    EMULATE_FLAG,
    add_location_args,
    command_line,
    load_average,
    reexec_emulated,
    results_meta,
)
from .render import write_markdown
from .settings import RESULTS, ROOT

Batch = dict[str, torch.Tensor]


def base_model(work: Path) -> Path:
    """init-model --size base on corpus/en/pretrain.txt (built once in work)."""
    from spacy_albert.checkpoints.builder import init_model

    out = work / "albert-base-pretrain-corpus"
    if not (out / "model.safetensors").is_file():
        init_model(out, ROOT / "corpus" / "en" / "pretrain.txt", lang="en", size="base")
    return out


def encoder_batches(model: Path, texts: Sequence[str], batch_size: int) -> list[Batch]:
    """The texts tokenized once, sorted by length and padded per batch."""
    tokenizer = AutoTokenizer.from_pretrained(str(model), use_fast=True)
    encoded = tokenizer(list(texts), truncation=True, max_length=512)["input_ids"]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = []
    for index in minibatch(order, size=batch_size):
        width = max(len(encoded[i]) for i in index)
        ids = torch.full((len(index), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(index), width), dtype=torch.long)
        for row, i in enumerate(index):
            ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, : len(encoded[i])] = 1
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


def encoders(model: Path) -> dict[str, torch.nn.Module]:
    """fp32, then one int8 copy pinned to each kernel that runs here ("int8_<kernel>")."""
    fp32 = use_fused_gelu(AutoModel.from_pretrained(str(model)).eval())
    int8 = quantize_model(copy.deepcopy(fp32))
    out = {"fp32": fp32}
    for kernel in available_kernels():
        pinned = copy.deepcopy(int8)
        use_int8_kernel(pinned, kernel)
        out[f"int8_{kernel}"] = pinned
    return out


def time_rounds(models: dict[str, torch.nn.Module], batches: list[Batch],
                rounds: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds per pass over the batches, per clock; even rounds in order,
    odd rounds reversed."""
    names = list(models)
    warm_up = {key: value[:8] for key, value in batches[0].items()}
    times: dict[str, dict[str, list[float]]] = {"wall": {n: [] for n in names},
                                                "cpu": {n: [] for n in names}}
    with torch.inference_mode():
        for name in names:  # packing, allocators, oneDNN primitives
            models[name](**warm_up)
        for r in range(rounds):
            for name in names if r % 2 == 0 else reversed(names):
                wall, cpu = time.perf_counter(), time.process_time()
                for batch in batches:
                    models[name](**batch)
                times["cpu"][name].append(time.process_time() - cpu)
                times["wall"][name].append(time.perf_counter() - wall)
    return times


def ratios_over(times: dict[str, list[float]], base: str = "fp32") -> dict[str, dict[str, float]]:
    """Speed over `base` per contender: median of per-round ratios, and best vs best round."""
    return {
        name: {"median": round(statistics.median(b / t for b, t in zip(times[base], seconds)), 3),
               "best": round(min(times[base]) / min(seconds), 3)}
        for name, seconds in times.items() if name != base
    }


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.kernels",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument(EMULATE_FLAG, action="store_true",
                        help="Re-run with every library capped to AVX2 (AVX2-only CPU).")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: ratios from CPU time, robust on a busy box).")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--name", default=None,
                        help="Results file stem (default: kernels, or kernels-avx2-emulated).")
    add_location_args(parser, RESULTS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.emulate_avx2:
        reexec_emulated("bench.kernels", argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    cpu = current_cpu()
    print(f"[kernels] {cpu.summary()}; load {load_start}", flush=True)
    texts = short_texts(find_data_dir(args.data_dir), args.texts)
    model = base_model(Path(args.work_dir))
    batches = encoder_batches(model, texts, batch_size=len(texts))
    times = time_rounds(encoders(model), batches, args.rounds)
    words = count_words(texts)
    choice = default_choice()
    # With one thread, CPU time is the kernel's own work, whatever else the machine runs;
    # with more, idle OpenMP threads spin and wall time is the fairer clock.
    clock = "cpu" if args.threads == 1 else "wall"
    results = {
        "kernels": {
            "model": "init-model --corpus corpus/en/pretrain.txt --lang en --size base",
            "texts": len(texts), "words": words, "batch_size": len(texts),
            "rounds": args.rounds, "clock": clock, "default": choice.kernel,
            "choice": choice.describe(), "available": list(available_kernels()),
            "words_per_s_best": {n: round(words / min(t), 1)
                                 for n, t in times[clock].items()},
            "seconds": {c: {n: [round(x, 3) for x in t] for n, t in by_name.items()}
                        for c, by_name in times.items()},
            "over_fp32": ratios_over(times[clock]),
            "over_fp32_wall": ratios_over(times["wall"]),
        },
    }
    results["meta"] = results_meta(command_line("bench.kernels", argv), args.threads, started,
                                   load_start)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or ("kernels-avx2-emulated" if cpu.emulated else "kernels")
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if out.resolve() == RESULTS.resolve():
        write_markdown(out)
    print(json.dumps(results["kernels"]["over_fp32"]), flush=True)
    print(f"[kernels] {choice.describe()}; wrote {out / (name + '.json')}", flush=True)


if __name__ == "__main__":
    main()
