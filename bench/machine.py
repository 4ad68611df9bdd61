"""What a results file says about the machine and the run that produced it.

The serve and ONNX benches store this under `run`, not `meta`: bench.render builds
BENCHMARKS.md's generated block from every results file that has a `meta`.
"""

import shlex
import sys
from pathlib import Path
from typing import Any

from .meta import results_meta

# The flags that decide which kernels torch and onnxruntime can use.
KERNEL_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
                "amx_bf16", "amx_int8", "amx_tile")


def cpu_flags() -> list[str]:
    """All CPU flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line.split(":", 1)[1].split()
    except OSError:
        pass
    return []


def run_meta(module: str, started: float, load_start: str, threads: int, **extra: Any
             ) -> dict[str, Any]:
    """The `run` block: command, date, CPU model and flags, load and duration.

    module (str): The bench module run with `python -m`, e.g. 'bench.onnx_speed'.
    started (float): `time.perf_counter()` at the start of the run.
    load_start (str): `meta.load_average()` at the start of the run.
    threads (int): Threads the measured code ran with.
    extra (Any): More fields (versions, settings).
    RETURNS (dict[str, Any]): The keys of bench/run.py's `meta`, plus the CPU flags.
    """
    flags = cpu_flags()
    return results_meta(
        shlex.join(["python", "-m", module, *sys.argv[1:]]), threads, started, load_start,
        cpu_kernel_flags=[flag for flag in KERNEL_FLAGS if flag in flags],
        cpu_flags=" ".join(flags), **extra,
    )
