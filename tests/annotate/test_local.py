"""Batch annotation that loses nothing: order, ids, error records, hard inputs, the CLI.

Memory: `annotate_file` holds one batch of records at a time and reads the input and
the output in fixed-size pieces, so memory does not grow with the file; that is a
property of the code (see `spacy_albert.annotate.local`), not timed or measured here.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from spacy_albert.annotate.local import annotate_file
from spacy_albert.annotate.options import AnnotateOptions, AnnotateStats
from tests.annotate.helpers import (
    SENTENCES,
    assert_same_records,
    assert_valid_record,
    jsonl_input,
    read_jsonl,
    write_lines,
)

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
    stats = annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=4))
    assert stats == AnnotateStats(skipped=0, written=13, errors=4)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [
        "r0", "r1", "r2", 4, "r4", "no-text", "r6", "int-text", 9, "r9",
        "too-long", "surrogate", "last",
    ]
    errors = {r["id"]: r["error"] for r in records if "error" in r}
    assert set(errors) == {4, "no-text", "int-text", "too-long"}
    # Lone surrogates become U+FFFD at the same offsets (the pipeline's tokenizer).
    surrogate = next(r for r in records if r["id"] == "surrogate")
    assert surrogate["text"] == "lone \ufffd surrogate"
    assert errors[4].startswith("invalid JSON")
    assert "E088" in errors["too-long"]
    for record in records:
        if "error" not in record:
            assert set(record) == {"id", "text", "cats", "ents"}
            assert_valid_record(record, record["text"])
    # A second run finds everything done.
    assert annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=4)).written == 0
    assert len(read_jsonl(out)) == 13


def test_plain_text_input(en_nlp: Language, tmp_path: Path) -> None:
    lines = [SENTENCES[0], "", "   ", SENTENCES[1], "\u200b😀"]
    inp = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.jsonl"
    annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=2))
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    for record, text in zip(records, lines):
        assert_valid_record(record, text)


def test_batch_size_does_not_change_output(en_nlp: Language, tmp_path: Path) -> None:
    inp = jsonl_input(tmp_path / "in.jsonl", 40, with_ids=False)
    outputs = []
    for batch_size in (1, 7, 64):
        out = tmp_path / f"out-{batch_size}.jsonl"
        annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=batch_size))
        outputs.append(read_jsonl(out))
    assert [r["id"] for r in outputs[0]] == list(range(1, 41))
    assert_same_records(outputs[0], outputs[1])
    assert_same_records(outputs[0], outputs[2])


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
    stats = annotate_file(nlp, inp, out, AnnotateOptions(batch_size=4), n_process=n_process)
    assert stats.errors == 3
    records = read_jsonl(out)
    assert [r["id"] for r in records] == list(range(1, 26))
    for i, record in enumerate(records):
        if i in (3, 11, 12):
            assert record == {"id": i + 1, "error": "RuntimeError: boom in the pipeline"}
        else:
            assert record["cats"] == {"A": 1.0, "B": 0.0} and record["text"] == texts[i]


# --- inputs real files have (issue 13) -------------------------------------------------

HUGE_TEXT = "word " * (1 << 20)  # 5 MiB


def hard_input(path: Path) -> tuple[Path, list]:
    """JSONL with invalid UTF-8, JSON values that are not objects and a 5 MB text among
    good lines; returns the file and the ids its records must have, in order."""
    lines = [json.dumps({"id": f"r{i}", "text": SENTENCES[i]}).encode() for i in range(8)]
    lines[1] = b'{"id": "latin1", "text": "caf\xe9"}'
    lines[2] = b"[1, 2, 3]"
    lines[3] = b'"just a string"'
    lines[5] = json.dumps({"id": "huge", "text": HUGE_TEXT}).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, ["r0", 2, 3, 4, "r4", "huge", "r6", "r7"]


def test_hard_inputs_real_pipeline(en_nlp: Language, tmp_path: Path) -> None:
    """Each hard line is one error record (the 5 MB text exceeds `nlp.max_length`), the
    lines around it are annotated, and a rerun finds nothing left to do."""
    inp, ids = hard_input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    stats = annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=4))
    assert stats == AnnotateStats(skipped=0, written=8, errors=4)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == ids
    errors = {r["id"]: r["error"] for r in records if "error" in r}
    assert errors[2].startswith("invalid UTF-8")
    assert errors[3] == "expected a JSON object, got list"
    assert errors[4] == "expected a JSON object, got str"
    assert "E088" in errors["huge"] and len(errors["huge"]) < 2000
    for record in records:
        if "error" not in record:
            assert_valid_record(record, SENTENCES[int(record["id"][1:])])
    assert annotate_file(en_nlp, inp, out, AnnotateOptions(batch_size=4)).written == 0


@pytest.mark.parametrize("n_process", [1, 2])
def test_hard_inputs_5mb_text_processed(tmp_path: Path, n_process: int) -> None:
    """With `max_length` above it, the 5 MB text is annotated like any other, in one
    process and through worker processes, and the output is resumed past it."""
    nlp = spacy.blank("en")
    nlp.max_length = 6_000_000
    nlp.add_pipe("test_annotate_boom")
    inp, ids = hard_input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    stats = annotate_file(nlp, inp, out, AnnotateOptions(batch_size=4), n_process=n_process)
    assert stats == AnnotateStats(skipped=0, written=8, errors=3)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == ids
    assert records[5]["text"] == HUGE_TEXT and records[5]["cats"] == {"A": 1.0, "B": 0.0}
    assert annotate_file(nlp, inp, out, AnnotateOptions(batch_size=4)).skipped == 8


WRITER_STARTED = threading.Event()
WRITER_DONE = threading.Event()


@spacy.Language.component("test_annotate_wait_for_writer")
def wait_for_writer(doc: Doc) -> Doc:
    """Holds the first doc until the test's writer thread has appended its lines."""
    WRITER_STARTED.set()
    assert WRITER_DONE.wait(timeout=60), "the writer thread did not finish"
    doc.cats = {"A": 1.0}
    return doc


def test_a_file_that_grows_during_the_run(tmp_path: Path) -> None:
    """Lines a thread appends while the run is under way are annotated in order in the same
    run; lines appended after it ends are picked up by the next (resumed) run."""
    lines = [json.dumps({"id": f"r{i}", "text": f"text {i}"}) for i in range(40)]
    inp = write_lines(tmp_path / "in.jsonl", lines[:10])
    WRITER_STARTED.clear()
    WRITER_DONE.clear()

    def append(new_lines: list[str]) -> None:
        fd = os.open(inp, os.O_WRONLY | os.O_APPEND)
        try:
            for line in new_lines:  # one write per whole line, as a producer would
                os.write(fd, (line + "\n").encode())
                time.sleep(0.002)
        finally:
            os.close(fd)

    def writer() -> None:
        if WRITER_STARTED.wait(timeout=60):
            append(lines[10:30])
        WRITER_DONE.set()

    nlp = spacy.blank("en")
    nlp.add_pipe("test_annotate_wait_for_writer")
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    out = tmp_path / "out.jsonl"
    stats = annotate_file(nlp, inp, out, AnnotateOptions(batch_size=4))
    thread.join(timeout=60)
    assert stats == AnnotateStats(skipped=0, written=30, errors=0)
    assert [r["id"] for r in read_jsonl(out)] == [f"r{i}" for i in range(30)]
    append(lines[30:])
    stats = annotate_file(nlp, inp, out, AnnotateOptions(batch_size=4))
    assert stats == AnnotateStats(skipped=30, written=10, errors=0)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [f"r{i}" for i in range(40)]
    assert [r["text"] for r in records] == [f"text {i}" for i in range(40)]


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
    annotate_file(en_nlp, inp, expected, AnnotateOptions(batch_size=8))
    out = tmp_path / "out.jsonl"
    env = {key: value for key, value in cli_env().items() if key != "OMP_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-m", "spacy_albert", "annotate", str(en_pipeline_dir), str(inp),
         str(out), "--batch-size", "8", "--n-process", "2", "--no-progress"],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_records(read_jsonl(out), read_jsonl(expected))
