"""Load test of `serve`: requests/s and latency at 1, 8 and 32 clients, and whether the
server's memory stays flat over 10,000 requests.

    python -m bench.serve_load --pipeline DIR [--total 10000] [--phase-seconds 10]

Starts `python -m spacy_albert serve DIR` on a free 127.0.0.1 port (nothing else is
contacted), waits for /readyz, then with a small asyncio + httpx client:
1. 100 requests at 32 clients, then the server's RSS (`rss_after_100`);
2. a timed phase each at 1, 8 and 32 concurrent clients: sustained requests/s and
   p50/p99 latency;
3. more requests at 32 clients until `--total` were sent, sampling RSS on the way
   (`rss_after_total`); flat means at most +5 % over `rss_after_100`.
Every request is one text from corpus/en/dev.jsonl plus a never-seen word, so a
vocabulary that grew with new strings would show. Writes bench/results/serve_load.json.
"""

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import httpx
import psutil

from .meta import load_average, run_meta

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 8, 32)
WARM_REQUESTS = 100
RSS_LIMIT = 1.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_server(server: subprocess.Popen) -> None:
    """Terminate a server process; kill it if it has not exited after 30 s."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


def texts() -> list[str]:
    lines = (ROOT / "corpus" / "en" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


class LoadClient:
    """Sends numbered requests from N concurrent tasks and records their latencies."""

    def __init__(self, client: httpx.AsyncClient, corpus: list[str]):
        self.client = client
        self.corpus = corpus
        self.sent = 0
        self.statuses: dict[int, int] = {}

    async def one(self) -> float:
        number = self.sent
        self.sent += 1
        text = f"{self.corpus[number % len(self.corpus)]} Ref Q{number}x{number * 7919 % 10007}."
        start = time.perf_counter()
        response = await self.client.post("/v1/annotate", json={"text": text})
        latency = time.perf_counter() - start
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return latency

    async def run(self, clients: int, count: Optional[int] = None,
                  seconds: Optional[float] = None) -> dict[str, Any]:
        """`clients` tasks send requests until `count` were sent or `seconds` passed."""
        latencies: list[float] = []
        stop_at = self.sent + count if count is not None else None
        deadline = time.perf_counter() + seconds if seconds is not None else None

        async def worker() -> None:
            while (stop_at is None or self.sent < stop_at) and (
                deadline is None or time.perf_counter() < deadline
            ):
                latencies.append(await self.one())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        ordered = sorted(latencies)
        return {
            "clients": clients,
            "requests": len(latencies),
            "seconds": elapsed,
            "requests_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        }


def start_server(pipeline: str, port: int, args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-m", "spacy_albert", "serve", pipeline, "--host", "127.0.0.1",
               "--port", str(port), "--max-batch", str(args.max_batch), "--threads",
               str(args.server_threads), "--no-access-log"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def wait_ready(client: httpx.AsyncClient, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            response = await client.get("/readyz")
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 200:
            return
        if "failed" in response.json().get("error", ""):
            raise RuntimeError(response.json()["error"])
        await asyncio.sleep(0.2)
    raise TimeoutError("the server did not get ready")


def rss_mb(server: subprocess.Popen) -> float:
    return psutil.Process(server.pid).memory_info().rss / 1e6


async def load_test(args: argparse.Namespace, server: subprocess.Popen, port: int
                    ) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=max(CONCURRENCY), max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                 limits=limits) as client:
        await wait_ready(client, server, timeout=300)
        load = LoadClient(client, texts())
        await load.run(max(CONCURRENCY), count=WARM_REQUESTS)
        rss_100 = rss_mb(server)
        phases = []
        for clients in CONCURRENCY:
            phases.append(await load.run(clients, seconds=args.phase_seconds))
            print(f"[serve_load] {json.dumps(phases[-1])}", flush=True)
        rss_samples = {str(load.sent): rss_mb(server)}
        while load.sent < args.total:
            await load.run(max(CONCURRENCY), count=min(1000, args.total - load.sent))
            rss_samples[str(load.sent)] = rss_mb(server)
        rss_total = rss_mb(server)
        meta = (await client.get("/v1/meta")).json()
    return {
        "phases": phases,
        "memory": {
            "rss_after_100_mb": rss_100,
            f"rss_after_{load.sent}_mb": rss_total,
            "ratio": rss_total / rss_100,
            "flat": rss_total / rss_100 <= RSS_LIMIT,
            "samples_mb": rss_samples,
        },
        "requests_sent": load.sent,
        "statuses": {str(k): v for k, v in load.statuses.items()},
        "pipeline": {key: meta[key] for key in ("lang", "pipeline", "entity_labels", "limits")},
    }


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_load",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", required=True, help="Pipeline directory to serve.")
    parser.add_argument("--total", type=int, default=10_000, help="Requests in all.")
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--server-threads", type=int, default=1,
                        help="torch threads in the server (0: torch's default).")
    parser.add_argument("--note", default="", help="What the pipeline is, for the results.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "serve_load.json"))
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), load_average()
    port = free_port()
    server = start_server(args.pipeline, port, args)
    try:
        results = asyncio.run(load_test(args, server, port))
    finally:
        stop_server(server)
    config = json.loads((Path(args.pipeline) / "meta.json").read_text())
    results["run"] = run_meta("bench.serve_load", started, load_start, args.server_threads,
                               server="uvicorn, 1 worker; the client runs on the same CPU",
                               pipeline=args.pipeline, note=args.note,
                               pipeline_components=config.get("components"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"[serve_load] RSS {results['memory']['rss_after_100_mb']:.0f} MB after 100, "
          f"ratio {results['memory']['ratio']:.3f} after {results['requests_sent']}; wrote {out}",
          flush=True)


if __name__ == "__main__":
    main()
