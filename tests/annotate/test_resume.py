"""Resume after a kill: a torn tail is dropped, done lines are skipped, other inputs refused."""

import json
from pathlib import Path

import pytest
from spacy.language import Language

from spacy_albert.annotate.local import annotate_file
from spacy_albert.annotate.options import AnnotateOptions
from spacy_albert.annotate.records import encode_record
from spacy_albert.annotate.resume import ResumeError, count_complete_records, resume_point
from tests.annotate.helpers import assert_same_records, jsonl_input, read_jsonl, write_lines


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


def test_records_longer_than_a_read_chunk(tmp_path: Path) -> None:
    """A 5 MB record, complete or torn, is counted and cut across several read chunks."""
    huge = encode_record({"id": "huge", "text": "word " * (1 << 20)})
    small = encode_record({"id": "small", "text": "a"})
    out = tmp_path / "out.jsonl"
    out.write_bytes(small + huge)
    assert count_complete_records(out) == (2, json.loads(huge))
    out.write_bytes(small + huge + huge[:-100])
    assert count_complete_records(out) == (2, json.loads(huge))
    assert out.read_bytes() == small + huge


def test_resume_point(tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [json.dumps({"id": i, "text": "t"}) for i in range(5)])
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(encode_record({"id": i, "error": "x"}) for i in range(2)))
    start = resume_point(inp, out, AnnotateOptions())
    assert start.done == 2 and [r.id for r in start.items] == [2, 3, 4]
    assert start.offset == len(inp.read_bytes().split(b"\n")[0]) * 2 + 2
    fresh = resume_point(inp, out, AnnotateOptions(resume=False))
    assert fresh.done == 0 and [r.id for r in fresh.items] == [0, 1, 2, 3, 4]


def test_resume_after_torn_write(en_nlp: Language, tmp_path: Path) -> None:
    inp = jsonl_input(tmp_path / "in.jsonl", 30)
    full = tmp_path / "full.jsonl"
    options = AnnotateOptions(batch_size=8)
    annotate_file(en_nlp, inp, full, options)
    data = full.read_bytes()
    lines = data.splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[:11]) + lines[11][:17])  # a kill mid-write
    stats = annotate_file(en_nlp, inp, partial, options)
    assert stats.skipped == 11 and stats.written == 19
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
    assert annotate_file(en_nlp, other, out, AnnotateOptions(resume=False)).written == 8
    assert [r["id"] for r in read_jsonl(out)] == ["z"] * 8
