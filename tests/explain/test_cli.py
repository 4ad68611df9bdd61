"""`python -m spacy_albert explain`: console, HTML and JSON output, and its errors."""

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from spacy_albert.cli import app
from tests.conftest import ROOT
from tests.explain.conftest import TEXT


def test_cli_end_to_end(en_pipeline_dir, tmp_path):
    page, data = tmp_path / "page.html", tmp_path / "out.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "spacy_albert", "explain", str(en_pipeline_dir), TEXT,
         "--label", "NEGATIVE", "--label", "PER", "--out", str(page), "--json", str(data),
         "--steps", "8"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "textcat: NEGATIVE" in result.stdout and "PER" in result.stdout
    saved = json.loads(data.read_text(encoding="utf8"))
    assert {t["label"] for t in saved["targets"]} == {"NEGATIVE", "PER"}
    assert "Marcus" in page.read_text(encoding="utf8")


def test_cli_unknown_label(en_pipeline_dir):
    result = CliRunner().invoke(app, ["explain", str(en_pipeline_dir), TEXT, "--label", "NOPE"])
    assert result.exit_code == 1
    assert "Unknown labels" in result.output


def test_cli_unknown_baseline(en_pipeline_dir):
    result = CliRunner().invoke(app, ["explain", str(en_pipeline_dir), TEXT,
                                      "--baseline", "mask"])
    assert result.exit_code == 1
    assert "--baseline must be one of pad, zero" in result.output
