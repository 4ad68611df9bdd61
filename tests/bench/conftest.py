"""Shared pieces of the bench tests."""

from typing import Any


def run_block(command: str, threads: int = 2) -> dict[str, Any]:
    """A machine block as bench.meta.results_meta writes it (the fields the renderers read)."""
    summary = "AMD EPYC, 2 cores, avx2 fma"
    return {"command": command, "date": "2026-11-30 03:00", "cpu": summary,
            "cpu_info": {"flags": ["avx2", "fma"], "summary": summary}, "emulated": False,
            "threads": threads, "loadavg_start": "1.0 / 1.0 / 1.0"}
