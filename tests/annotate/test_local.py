"""Batch annotation that loses nothing: order, ids, error records, resume after a kill.

Memory: `annotate_file` holds one batch of records at a time and reads the input and
the output in fixed-size pieces, so memory does not grow with the file; that is a
property of the code (see `spacy_albert.annotate.local`), not timed or measured here.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from spacy_albert.annotate.local import (
    ResumeError,
    annotate_file,
    count_complete_records,
    doc_to_record,
    encode_record,
    error_record,
    iter_input_records,
)

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    json.loads(line)["text"]
    for line in (ROOT / "corpus" / "en" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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


# --- pure helpers -------------------------------------------------------------------


def test_doc_to_record_and_error_record() -> None:
    nlp = spacy.blank("en")
    doc = nlp("Alice met Bob in Paris.")
    doc.ents = [doc.char_span(0, 5, label="PER"), doc.char_span(17, 22, label="LOC")]
    doc.cats = {"POSITIVE": 0.25, "NEGATIVE": 0.75}
    record = doc_to_record(doc, 7)
    assert record == {
        "id": 7,
        "text": "Alice met Bob in Paris.",
        "cats": {"POSITIVE": 0.25, "NEGATIVE": 0.75},
        "ents": [
            {"start": 0, "end": 5, "label": "PER", "text": "Alice"},
            {"start": 17, "end": 22, "label": "LOC", "text": "Paris"},
        ],
    }
    assert error_record("x", "boom") == {"id": "x", "error": "boom"}


def test_encode_record_is_one_utf8_line() -> None:
    line = encode_record({"id": 1, "text": "多行\ntext\u2028here 😀"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"id": 1, "text": "多行\ntext\u2028here 😀"}
    assert "多行".encode() in line  # written as UTF-8, not \u escapes
    # A lone surrogate (valid in JSON input) cannot be UTF-8: falls back to escapes.
    line = encode_record({"id": "\ud800", "error": "x"})
    assert json.loads(line) == {"id": "\ud800", "error": "x"}


def test_iter_input_records_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "one"}\n'
        b'{"text": "two, no id"}\n'
        b"not json\n"
        b'{"id": "d"}\n'
        b'{"id": "e", "text": 5}\n'
        b"[1, 2]\n"
        b"\n"
        b'{"id": null, "text": "null id"}\r\n'
        b'{"id": 9, "text": "bad \xff utf8"}\n'
        b'{"id": "j", "text": "no final newline \xe2\x80\xa8 kept"}'
    )
    records = list(iter_input_records(path))
    assert [r.line for r in records] == list(range(1, 11))
    assert [r.id for r in records] == ["a", 2, 3, "d", "e", 6, 7, 8, 9, "j"]
    assert [r.text for r in records] == [
        "one", "two, no id", None, None, None, None, None, "null id", None,
        "no final newline \u2028 kept",
    ]
    errors = [r.error for r in records]
    assert errors[2].startswith("invalid JSON")
    assert errors[3] == "missing text field 'text'"
    assert "must be a string, got int" in errors[4]
    assert "expected a JSON object" in errors[5]
    assert "blank line" in errors[6]
    assert errors[8].startswith("invalid UTF-8")
    assert records[-1].end_offset == path.stat().st_size
    # start skips lines without parsing them.
    assert [r.id for r in iter_input_records(path, start=8)] == [9, "j"]


def test_iter_input_records_fields_and_text(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.ndjson", ['{"key": 1, "body": "x"}', '{"body": "y"}'])
    records = list(iter_input_records(path, text_field="body", id_field="key"))
    assert [(r.id, r.text) for r in records] == [(1, "x"), (2, "y")]
    text = tmp_path / "in.txt"
    text.write_bytes(b"first line\n\n  spaced  \r\n{\"text\": \"not parsed\"}\nlast")
    records = list(iter_input_records(text))
    assert [(r.id, r.text) for r in records] == [
        (1, "first line"), (2, ""), (3, "  spaced  "), (4, '{"text": "not parsed"}'), (5, "last"),
    ]
    assert list(iter_input_records(text, input_format="jsonl"))[0].error is not None


def test_count_complete_records_truncates_torn_tail(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert count_complete_records(out) == (0, None)
    good = [encode_record({"id": i, "error": "x"}) for i in range(3)]
    out.write_bytes(b"".join(good) + b'{"id": 3, "te')
    assert count_complete_records(out) == (3, {"id": 2, "error": "x"})
    assert out.read_bytes() == b"".join(good)
    out.write_bytes(b'{"id": 0, "tex')
    assert count_complete_records(out) == (0, None)
    assert out.read_bytes() == b""


# --- annotate_file --------------------------------------------------------------------


def test_order_ids_and_errors(en_nlp: Language, tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"r{i}", "text": SENTENCES[i]}) for i in range(10)]
    lines[3] = "{broken json"
    lines[5] = json.dumps({"id": "no-text"})
    lines[7] = json.dumps({"id": "int-text", "text": 12})
    lines[8] = json.dumps({"text": "No id here, Alice."})
    lines.append(json.dumps({"id": "too-long", "text": "x " * (en_nlp.max_length // 2 + 1)}))
    lines.append(json.dumps({"id": "surrogate", "text": "lone \ud800 surrogate"}))
    lines.append(json.dumps({"id": "last", "text": ""}))
    inp = write_lines(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    counts = annotate_file(en_nlp, inp, out, batch_size=4)
    assert counts == {"skipped": 0, "written": 13, "errors": 5}
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [
        "r0", "r1", "r2", 4, "r4", "no-text", "r6", "int-text", 9, "r9",
        "too-long", "surrogate", "last",
    ]
    errors = {r["id"]: r["error"] for r in records if "error" in r}
    assert set(errors) == {4, "no-text", "int-text", "too-long", "surrogate"}
    assert errors[4].startswith("invalid JSON")
    assert "E088" in errors["too-long"]
    for record in records:
        if "error" not in record:
            assert set(record) == {"id", "text", "cats", "ents"}
            assert_valid_record(record, record["text"])
    # A second run finds everything done.
    assert annotate_file(en_nlp, inp, out, batch_size=4)["written"] == 0
    assert len(read_jsonl(out)) == 13


def test_plain_text_input(en_nlp: Language, tmp_path: Path) -> None:
    lines = [SENTENCES[0], "", "   ", SENTENCES[1], "\u200b😀"]
    inp = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.jsonl"
    annotate_file(en_nlp, inp, out, batch_size=2)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    for record, text in zip(records, lines):
        assert_valid_record(record, text)


def test_batch_size_does_not_change_output(en_nlp: Language, tmp_path: Path) -> None:
    inp = jsonl_input(tmp_path / "in.jsonl", 40, with_ids=False)
    outputs = []
    for batch_size in (1, 7, 64):
        out = tmp_path / f"out-{batch_size}.jsonl"
        annotate_file(en_nlp, inp, out, batch_size=batch_size)
        outputs.append(read_jsonl(out))
    assert [r["id"] for r in outputs[0]] == list(range(1, 41))
    assert_same_records(outputs[0], outputs[1])
    assert_same_records(outputs[0], outputs[2])


def assert_same_records(got: list[dict], expected: list[dict]) -> None:
    """Same ids, texts, entities and errors; cats equal up to float noise across batch
    compositions (padding changes the matmul shapes)."""
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for record, exp in zip(got, expected):
        assert {k: v for k, v in record.items() if k != "cats"} == {
            k: v for k, v in exp.items() if k != "cats"
        }
        assert record.get("cats", {}) == pytest.approx(exp.get("cats", {}), abs=1e-5)


def test_resume_after_torn_write(en_nlp: Language, tmp_path: Path) -> None:
    inp = jsonl_input(tmp_path / "in.jsonl", 30)
    full = tmp_path / "full.jsonl"
    annotate_file(en_nlp, inp, full, batch_size=8)
    data = full.read_bytes()
    lines = data.splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[:11]) + lines[11][:17])  # a kill mid-write
    counts = annotate_file(en_nlp, inp, partial, batch_size=8)
    assert counts["skipped"] == 11 and counts["written"] == 19
    assert_same_records(read_jsonl(partial), read_jsonl(full))


def test_resume_refuses_another_input(en_nlp: Language, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    annotate_file(en_nlp, jsonl_input(tmp_path / "a.jsonl", 5), out)
    other = write_lines(tmp_path / "b.jsonl", [json.dumps({"id": "z", "text": "x"})] * 8)
    with pytest.raises(ResumeError, match="no-resume"):
        annotate_file(en_nlp, other, out)
    shorter = jsonl_input(tmp_path / "c.jsonl", 3)
    with pytest.raises(ResumeError):
        annotate_file(en_nlp, shorter, out)
    # --no-resume starts over.
    assert annotate_file(en_nlp, other, out, resume=False)["written"] == 8
    assert [r["id"] for r in read_jsonl(out)] == ["z"] * 8


# --- multiprocessing and failing docs ---------------------------------------------------


@spacy.Language.component("test_annotate_boom")
def boom(doc: Doc) -> Doc:
    """Fails on docs that contain BOOM; gives every other doc cats."""
    if "BOOM" in doc.text:
        raise RuntimeError("boom in the pipeline")
    doc.cats = {"A": 1.0, "B": 0.0}
    return doc


@pytest.mark.parametrize("n_process", [1, 2])
def test_a_failing_doc_becomes_one_error_record(tmp_path: Path, n_process: int) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("test_annotate_boom")
    texts = [f"text {i}" + (" BOOM" if i in (3, 11, 12) else "") for i in range(25)]
    inp = write_lines(tmp_path / "in.txt", texts)
    out = tmp_path / "out.jsonl"
    counts = annotate_file(nlp, inp, out, batch_size=4, n_process=n_process)
    assert counts["errors"] == 3
    records = read_jsonl(out)
    assert [r["id"] for r in records] == list(range(1, 26))
    for i, record in enumerate(records):
        if i in (3, 11, 12):
            assert record == {"id": i + 1, "error": "RuntimeError: boom in the pipeline"}
        else:
            assert record["cats"] == {"A": 1.0, "B": 0.0} and record["text"] == texts[i]


# --- the CLI, killed and resumed -------------------------------------------------------


def run_cli(pipeline: Path, inp: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy_albert", "annotate", str(pipeline), str(inp), str(out),
         "--batch-size", "16", *extra],
        capture_output=True, text=True, timeout=300, env=cli_env(),
    )


def cli_env() -> dict[str, str]:
    # One torch thread: on a shared, oversubscribed CPU two threads can be 10x slower.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1"}


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_cli_kill_and_resume(en_pipeline_dir: Path, tmp_path: Path) -> None:
    n = 2000
    lines = [json.dumps({"id": f"doc-{i:05d}", "text": SENTENCES[i % len(SENTENCES)]})
             for i in range(n)]
    lines[100] = "{not json"
    lines[1500] = json.dumps({"id": "missing-text"})
    inp = write_lines(tmp_path / "in.jsonl", lines)

    reference = tmp_path / "reference.jsonl"
    start = time.perf_counter()
    done = run_cli(en_pipeline_dir, inp, reference, "--no-progress")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    print(f"\nannotate CLI: {n} docs in {seconds:.1f} s including start-up")

    out = tmp_path / "out.jsonl"
    stderr_file = tmp_path / "stderr.txt"
    with open(stderr_file, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spacy_albert", "annotate", str(en_pipeline_dir), str(inp),
             str(out), "--batch-size", "16"],
            stdout=subprocess.DEVNULL, stderr=stderr, env=cli_env(),
        )
        try:
            deadline = time.monotonic() + 240
            while count_lines(out) < 300 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert proc.poll() is None, "finished (or died) before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    progress = stderr_file.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == -signal.SIGKILL
    assert "B/s" in progress or "%" in progress  # the progress bar went to stderr
    n_before = count_lines(out)
    assert 0 < n_before < n

    resumed = run_cli(en_pipeline_dir, inp, out, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "skipped" in resumed.stdout + resumed.stderr
    records, expected = read_jsonl(out), read_jsonl(reference)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == n
    assert ids == [r["id"] for r in expected]
    assert ids[100] == 101 and "error" in records[100] and "error" in records[1500]
    assert_same_records(records, expected)


@pytest.mark.slow
def test_cli_n_process_2_matches_one_process(
    en_pipeline_dir: Path, en_nlp: Language, tmp_path: Path
) -> None:
    """Worker processes forked after torch ran finish and give the same records; the
    subprocess's timeout turns a hang into a failure."""
    inp = jsonl_input(tmp_path / "in.jsonl", 60)
    expected = tmp_path / "expected.jsonl"
    annotate_file(en_nlp, inp, expected, batch_size=8)
    out = tmp_path / "out.jsonl"
    env = {key: value for key, value in cli_env().items() if key != "OMP_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-m", "spacy_albert", "annotate", str(en_pipeline_dir), str(inp),
         str(out), "--batch-size", "8", "--n-process", "2", "--no-progress"],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_records(read_jsonl(out), read_jsonl(expected))
