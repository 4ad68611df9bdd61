"""Reading annotation input: one record per line or row, bad lines as error records."""

import json
import os
from pathlib import Path

import pytest

from spacy_albert.annotate.inputs import iter_input_records, resolve_format
from spacy_albert.annotate.options import AnnotateOptions
from tests.annotate.helpers import write_lines


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
    records = list(iter_input_records(path, AnnotateOptions(text_field="body", id_field="key")))
    assert [(r.id, r.text) for r in records] == [(1, "x"), (2, "y")]
    text = tmp_path / "in.txt"
    text.write_bytes(b"first line\n\n  spaced  \r\n{\"text\": \"not parsed\"}\nlast")
    records = list(iter_input_records(text))
    assert [(r.id, r.text) for r in records] == [
        (1, "first line"), (2, ""), (3, "  spaced  "), (4, '{"text": "not parsed"}'), (5, "last"),
    ]
    jsonl = AnnotateOptions(input_format="jsonl")
    assert list(iter_input_records(text, jsonl))[0].error is not None


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    """Every JSON value that is not an object is one error record naming its type."""
    lines = ['[1, 2]', '"a string"', "42", "null", "true", '{"id": "ok", "text": "fine"}']
    records = list(iter_input_records(write_lines(tmp_path / "in.jsonl", lines)))
    assert [r.id for r in records] == [1, 2, 3, 4, 5, "ok"]
    assert [r.error for r in records] == [
        "expected a JSON object, got list",
        "expected a JSON object, got str",
        "expected a JSON object, got int",
        "expected a JSON object, got NoneType",
        "expected a JSON object, got bool",
        None,
    ]


def test_invalid_utf8_is_one_error_record_per_line(tmp_path: Path) -> None:
    """Latin-1 bytes, a truncated multi-byte sequence and a lone continuation byte, in
    JSONL and in plain text: each line is one error record; the next line is read."""
    bad = [b'{"id": "x", "text": "caf\xe9"}', b'{"id": "y", "text": "\xe4\xb8"}', b"\x80"]
    for name in ("in.jsonl", "in.txt"):
        path = tmp_path / name
        path.write_bytes(b"\n".join([*bad, b'{"id": "z", "text": "ok"}']) + b"\n")
        records = list(iter_input_records(path))
        assert [r.line for r in records] == [1, 2, 3, 4]
        assert [r.id for r in records[:3]] == [1, 2, 3]  # the id field could not be read
        assert all(r.error.startswith("invalid UTF-8") for r in records[:3])
        assert records[3].error is None


def test_a_5mb_line_is_one_record(tmp_path: Path) -> None:
    text = "word " * (1 << 20)  # 5 MiB
    path = write_lines(tmp_path / "in.jsonl", [
        json.dumps({"id": "before", "text": "a"}),
        json.dumps({"id": "huge", "text": text}),
        json.dumps({"id": "after", "text": "b"}),
    ])
    records = list(iter_input_records(path))
    assert [r.id for r in records] == ["before", "huge", "after"]
    assert records[1].text == text and records[1].error is None


def test_a_growing_file_is_read_to_its_current_end(tmp_path: Path) -> None:
    """Lines appended while the reader is part-way through are read in the same pass."""
    path = write_lines(tmp_path / "in.jsonl", [json.dumps({"text": f"t{i}"}) for i in range(3)])
    records = iter_input_records(path)
    assert next(records).text == "t0"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(3, 6):
            os.write(fd, (json.dumps({"text": f"t{i}"}) + "\n").encode())
    finally:
        os.close(fd)
    assert [r.text for r in records] == ["t1", "t2", "t3", "t4", "t5"]


def test_parquet_input(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "in.parquet"
    table = pa.table({"id": ["a", None, "c"], "text": ["one", "two", None], "other": [1, 2, 3]})
    pq.write_table(table, path, row_group_size=2)
    records = list(iter_input_records(path))
    assert [(r.line, r.id, r.text) for r in records] == [
        (1, "a", "one"), (2, 2, "two"), (3, "c", None)
    ]
    assert records[2].error == "text field 'text' must be a string, got NoneType"
    assert [r.id for r in iter_input_records(path, start=2)] == ["c"]
    no_text = list(iter_input_records(path, AnnotateOptions(text_field="body")))
    assert [r.error for r in no_text] == ["missing text field 'body'"] * 3


def test_formats_and_options() -> None:
    assert resolve_format("a.JSONL") == "jsonl" and resolve_format("a.ndjson") == "jsonl"
    assert resolve_format("a.parquet") == "parquet" and resolve_format("a.pq") == "parquet"
    assert resolve_format("a.txt") == "text" and resolve_format("a.txt", "jsonl") == "jsonl"
    with pytest.raises(ValueError, match="input_format"):
        AnnotateOptions(input_format="csv")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        AnnotateOptions(batch_size=0)
