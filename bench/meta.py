"""The meta block every results file carries, and re-running a command on an emulated CPU."""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch

from spacy_albert.models.cpu import AVX2_EMULATION, current_cpu

EMULATE_FLAG = "--emulate-avx2"
DEFAULT_WORK_DIR = Path(tempfile.gettempdir()) / "spacy-albert-bench"


def add_location_args(parser: argparse.ArgumentParser, results: Path) -> None:
    """--out (results folder), --work-dir (built models, cached) and --data-dir."""
    parser.add_argument("--out", default=str(results))
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR))
    parser.add_argument("--data-dir", default=None)


def load_average() -> str:
    """The 1/5/15-minute load averages, e.g. "3.1 / 2.8 / 2.5"."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command that reproduces this run, emulation variables first."""
    emulation = " ".join(f"{k}={v}" for k, v in current_cpu().emulation)
    return " ".join(part for part in (emulation, f"python -m {module}", *argv) if part)


def results_meta(command: str, threads: int, started: float, load_start: str,
                 **extra: Any) -> dict[str, Any]:
    """The meta block: command, date, CPU (model, flags, backends, emulation), load, time.

    command (str): The command that wrote the file (see command_line).
    threads (int): torch threads.
    started (float): `time.perf_counter()` at the start of the run.
    load_start (str): load_average() at the start.
    extra (Any): More keys (e.g. skipped sections).
    RETURNS (dict[str, Any]): The block.
    """
    cpu = current_cpu()
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu.summary(),
        "cpu_info": cpu.to_dict(),
        "emulated": cpu.emulated,
        "torch": torch.__version__,
        "threads": threads,
        "loadavg_start": load_start,
        "loadavg_end": load_average(),
        "seconds": time.perf_counter() - started,
        **extra,
    }


def run_meta(module: str, started: float, load_start: str, threads: int, **extra: Any
             ) -> dict[str, Any]:
    """results_meta for a run of `python -m module` with this process's arguments.

    The serve, ONNX, calibration and report benches store it under `run`, not `meta`:
    bench.render builds BENCHMARKS.md's generated block from every file that has a `meta`.
    """
    return results_meta(command_line(module, sys.argv[1:]), threads, started, load_start,
                        **extra)


def reexec_emulated(module: str, argv: Sequence[str]) -> NoReturn:
    """Run `python -m module argv` again in this process with AVX2_EMULATION set.

    The libraries read their caps when they load, so the caps must be in the environment
    before Python starts.
    """
    env = {**os.environ, **AVX2_EMULATION}
    args = [arg for arg in argv if arg != EMULATE_FLAG]
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *args], env)
