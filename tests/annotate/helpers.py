"""Inputs and comparisons the annotate tests share."""

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    json.loads(line)["text"]
    for line in (ROOT / "corpus" / "en" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
]


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSONL file (split on "\\n" only: texts may hold U+2028)."""
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def jsonl_input(path: Path, n: int, with_ids: bool = True) -> Path:
    records = []
    for i in range(n):
        record: dict[str, Any] = {"text": SENTENCES[i % len(SENTENCES)]}
        if with_ids:
            record["id"] = f"doc-{i:05d}"
        records.append(json.dumps(record, ensure_ascii=False))
    return write_lines(path, records)


def assert_valid_record(record: dict, text: str) -> None:
    assert record["text"] == text
    assert sum(record["cats"].values()) == pytest.approx(1.0, abs=1e-4)
    for ent in record["ents"]:
        assert text[ent["start"] : ent["end"]] == ent["text"]
        assert ent["label"]


def assert_same_records(got: list[dict], expected: list[dict]) -> None:
    """Same ids, texts, entities and errors; cats equal up to float noise across batch
    compositions (padding changes the matmul shapes)."""
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for record, exp in zip(got, expected):
        assert {k: v for k, v in record.items() if k != "cats"} == {
            k: v for k, v in exp.items() if k != "cats"
        }
        assert record.get("cats", {}) == pytest.approx(exp.get("cats", {}), abs=1e-5)
