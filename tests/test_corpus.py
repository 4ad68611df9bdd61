"""The committed corpus is exactly what corpus/make_corpus.py writes from corpus/templates/, and
corpus/validate_corpus.py accepts it."""

import importlib.util
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FILES = ["train.jsonl", "dev.jsonl", "pretrain.txt"]


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def make_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_passes_on_the_committed_corpus() -> None:
    result = run_script("corpus/make_corpus.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "corpus is up to date"


def test_generated_files_are_byte_identical_and_check_catches_a_change(tmp_path: Path) -> None:
    result = run_script("corpus/make_corpus.py", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for lang in ("en", "zh"):
        for name in FILES:
            assert (tmp_path / lang / name).read_bytes() == (CORPUS / lang / name).read_bytes()
    stale = tmp_path / "zh" / "dev.jsonl"
    stale.write_bytes(stale.read_bytes().replace(b"\n", b"\r\n", 1))
    result = run_script("corpus/make_corpus.py", "--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"differs: {stale}"]


def test_validate_corpus_accepts_the_committed_corpus() -> None:
    result = run_script("corpus/validate_corpus.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "OK"


def test_templates_hold_every_frame(make_corpus: ModuleType) -> None:
    """The counts corpus/README.md gives: 169 English and 167 Chinese frames, 21 dev-only each."""
    for lang, n_frames in (("en", 169), ("zh", 167)):
        frames = [f for group in make_corpus.load_templates(lang).frames.values() for f in group]
        assert len(frames) == n_frames
        assert sum(f.dev_only for f in frames) == 21


def test_fill_draws_parts_left_to_right(make_corpus: ModuleType) -> None:
    rule = [{"pick": ["$", "€"]},
            {"either": 0.5, "then": [{"int": [1, 9]}, ".", {"int": [1, 9]}, " billion"],
             "else": [{"int": [12, 95], "times": 10, "thousands": True}, " million"]}]
    for seed in range(20):
        rng, expected_rng = random.Random(seed), random.Random(seed)
        currency = expected_rng.choice(["$", "€"])
        if expected_rng.random() < 0.5:
            amount = f"{expected_rng.randint(1, 9)}.{expected_rng.randint(1, 9)} billion"
        else:
            amount = f"{expected_rng.randint(12, 95) * 10:,} million"
        assert make_corpus.fill(rule, rng) == currency + amount


def write_templates(tmp_path: Path, change: dict) -> Path:
    data = json.loads((CORPUS / "templates" / "en.json").read_text(encoding="utf-8"))
    data.update(change)
    (tmp_path / "en.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path / "en.json"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"frames": {"BUSINESS": ["0|{BCO} hired {NOBODY}."]}}, "unknown slot {NOBODY}"),
        ({"frames": {"BUSINESS": ["0|{BCO} was {ADJ}."]}}, "neutral frame"),
        ({"frames": {"BUSINESS": ["{BCO} opened."]}}, "does not start with"),
        ({"frames": {"SHOPPING": []}}, "frames key 'SHOPPING'"),
        ({"fillers": {"N": {"range": [1, 2]}}}, "fillers.N: not a filler rule"),
    ],
)
def test_bad_templates_name_the_file(make_corpus: ModuleType, tmp_path: Path, change: dict,
                                     message: str) -> None:
    path = write_templates(tmp_path, change)
    with pytest.raises(make_corpus.TemplateError) as excinfo:
        make_corpus.load_templates("en", tmp_path)
    assert str(path) in str(excinfo.value)
    assert message in str(excinfo.value)


def test_check_reports_a_bad_template_dir(tmp_path: Path) -> None:
    """A broken template file stops the script with its path, not a traceback."""
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy, ignore=shutil.ignore_patterns("*.jsonl", "*.txt"))
    (copy / "templates" / "zh.json").write_text("{", encoding="utf-8")
    result = subprocess.run([sys.executable, str(copy / "make_corpus.py"), "--check"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert str(copy / "templates" / "zh.json") in result.stderr
    assert "Traceback" not in result.stderr


def test_the_size_limit_counts_only_shipped_files() -> None:
    """Workflows convert real data into corpus/ (git-ignored); the shipped corpus's size
    limit must not count it, or `make test` fails after `spacy project run en-pretrained`."""
    sys.path.insert(0, str(CORPUS))
    try:
        spec = importlib.util.spec_from_file_location("validate_corpus",
                                                      CORPUS / "validate_corpus.py")
        assert spec is not None and spec.loader is not None
        validate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(validate)
    finally:
        sys.path.remove(str(CORPUS))
    assert validate.shipped(CORPUS / "en" / "train.jsonl")
    assert validate.shipped(CORPUS / "templates" / "en.json")
    assert not validate.shipped(CORPUS / "en_train.spacy")
    assert not validate.shipped(CORPUS / "en_pretrained_real" / "sentence" / "train" / "x.spacy")
    assert not validate.shipped(CORPUS / "en" / "__pycache__" / "x.pyc")
