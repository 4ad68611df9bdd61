"""Peak resident memory per contender, each measured in a fresh child process.

A process's peak cannot go down, so each contender runs alone in `python -m bench.run
--rss-child SPEC`, which loads it, runs it once over the texts and prints its peaks as JSON.
"""

import dataclasses
import json
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .contenders import make_contender
from .pipelines import PipelinePaths
from .settings import ROOT


def peak_rss_mb() -> float:
    """This process's peak RSS in MB.

    Read from VmHWM: psutil reports only the current RSS on Linux, and `ru_maxrss` would
    include the parent's peak, which Linux carries across exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(spec: dict[str, Any]) -> None:
    """Run one contender once in this (fresh) process and print its peak RSS (MB) as JSON.

    spec (dict[str, Any]): name, paths (PipelinePaths fields as strings), texts, batch_size,
        long and threads, as `bench_rss` writes it.
    """
    torch.set_num_threads(spec["threads"])
    paths = PipelinePaths(**{k: Path(v) for k, v in spec["paths"].items()})
    before = peak_rss_mb()
    contender = make_contender(spec["name"], paths, spec["batch_size"], spec["long"])
    loaded = peak_rss_mb()
    contender(spec["texts"])
    print(json.dumps({"after_imports_mb": before, "after_load_mb": loaded,
                      "peak_mb": peak_rss_mb()}))


def bench_rss(paths: PipelinePaths, texts: list[str], names: Sequence[str], batch_size: int,
              long: bool, threads: int) -> dict[str, Any]:
    """Peak RSS after imports, after loading and after the run, per contender (MB).

    A child that fails gets {"error": <the end of its stderr>} instead.
    """
    out: dict[str, Any] = {}
    for name in names:
        spec = {"name": name, "paths": {k: str(v) for k, v in dataclasses.asdict(paths).items()},
                "texts": texts, "batch_size": batch_size, "long": long, "threads": threads}
        proc = subprocess.run(
            [sys.executable, "-m", "bench.run", "--rss-child", json.dumps(spec)],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            out[name] = {"error": proc.stderr[-500:]}
            continue
        out[name] = {k: round(v, 1) for k, v in json.loads(lines[-1]).items()}
    return out
