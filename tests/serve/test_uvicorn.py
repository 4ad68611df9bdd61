"""`python -m spacy_albert serve` in a real process: uvicorn on a free loopback port."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from bench.serve_load import free_port, stop_server
from spacy_albert.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_serve_command_answers_over_http(en_pipeline_dir: Path):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "spacy_albert", "serve", str(en_pipeline_dir),
               "--host", "127.0.0.1", "--port", str(port), "--max-batch", "8",
               "--no-access-log"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=base, timeout=30) as client:
            while True:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the server did not get ready"
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            assert client.get("/healthz").json() == {"status": "ok"}
            texts = ["Omar Saleh said the final in Kingsport was a disaster.", ""]
            response = client.post("/v1/annotate", json={"text": texts})
            assert response.status_code == 200
            records = response.json()["records"]
            assert [r["text"] for r in records] == texts
            assert all(abs(sum(r["cats"].values()) - 1.0) < 1e-4 for r in records)
            bad = client.post("/v1/annotate", content=b"{oops")
            assert bad.status_code == 422 and "not valid JSON" in bad.json()["error"]
            assert client.get("/v1/meta").json()["pipeline"] == ["transformer", "ner", "textcat"]
    finally:
        stop_server(server)


def test_inconsistent_limits_fail_before_serving(en_pipeline_dir: Path):
    result = CliRunner().invoke(
        app, ["serve", str(en_pipeline_dir), "--max-queue", "4", "--max-texts", "8"]
    )
    assert result.exit_code == 1 and "must not exceed max_queue" in result.output
