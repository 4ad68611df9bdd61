"""Reading annotation input: JSONL, plain text or Parquet, one `InputRecord` per line or row.

Readers stream: one line (or one Parquet batch) is held at a time, so memory does not grow
with the file, and a bad line becomes a record with `error` set instead of stopping the
read. A file that grows while it is read is read up to the end it has when the reader gets
there.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

from .options import AnnotateOptions
from .records import InputRecord

PathLike = Union[str, Path]

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_READ_ROWS = 1024


def is_parquet(path: PathLike) -> bool:
    """Whether a path names a Parquet file (by suffix: .parquet, .pq)."""
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def resolve_format(path: PathLike, input_format: str = "auto") -> str:
    """'jsonl', 'text' or 'parquet': the given format, or one decided from the suffix.

    path (PathLike): The input file.
    input_format (str): A format of `options.INPUT_FORMATS`.
    RETURNS (str): The format to read the file with.
    """
    if input_format != "auto":
        return input_format
    if is_parquet(path):
        return "parquet"
    return "jsonl" if Path(path).suffix.lower() in JSONL_SUFFIXES else "text"


def iter_input_records(
    path: PathLike, options: AnnotateOptions = AnnotateOptions(), start: int = 0
) -> Iterator[InputRecord]:
    """Stream the records of a JSONL, plain-text or Parquet file, lazily.

    JSONL: each line is an object with a string `options.text_field` and an optional
    `options.id_field` (missing or null: the 1-based line number). Plain text: each line
    is one doc, its id the line number (a blank line is an empty doc). Lines end at
    b"\\n" only (a trailing "\\r" is dropped), so text with U+2028 or form feeds stays one
    record. Parquet: row n is "line" n, with the same fields as columns. Bad lines and
    rows become records with `error` set.

    path (PathLike): The input file.
    options (AnnotateOptions): Fields and format (`text_field`, `id_field`, `input_format`).
    start (int): Number of lines to skip (not parsed), e.g. those already annotated.
    YIELDS (InputRecord): One per line (row) from line `start + 1` on.
    """
    fmt = resolve_format(path, options.input_format)
    if fmt == "parquet":
        return _iter_parquet(path, options, start)
    return _iter_lines(path, options, start, jsonl=fmt == "jsonl")


def _iter_lines(
    path: PathLike, options: AnnotateOptions, start: int, jsonl: bool
) -> Iterator[InputRecord]:
    with open(path, "rb") as file:
        offset = 0
        for line_no, raw in enumerate(file, 1):
            offset += len(raw)
            if line_no <= start:
                continue
            raw = raw[:-1] if raw.endswith(b"\n") else raw
            raw = raw[:-1] if raw.endswith(b"\r") else raw
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                yield InputRecord(line_no, line_no, None, f"invalid UTF-8: {err}", offset)
                continue
            if not jsonl:
                yield InputRecord(line_no, line_no, line, None, offset)
                continue
            record_id, text, error = _parse_jsonl(line, line_no, options)
            yield InputRecord(line_no, record_id, text, error, offset)


def _parse_jsonl(line: str, line_no: int, options: AnnotateOptions) -> tuple[Any, Any, Any]:
    """(id, text, error) for one JSONL line."""
    if not line.strip():
        return line_no, None, "blank line: expected a JSON object"
    try:
        data = json.loads(line)
    except ValueError as err:
        return line_no, None, f"invalid JSON: {err}"
    if not isinstance(data, dict):
        return line_no, None, f"expected a JSON object, got {type(data).__name__}"
    record_id = data.get(options.id_field)
    if record_id is None:
        record_id = line_no
    return (record_id, *_check_text(data, options.text_field))


def _check_text(data: dict[str, Any], text_field: str) -> tuple[Any, Any]:
    """(text, error) for a record's fields: the error wording both formats share."""
    if text_field not in data:
        return None, f"missing text field {text_field!r}"
    text = data[text_field]
    if not isinstance(text, str):
        return None, f"text field {text_field!r} must be a string, got {type(text).__name__}"
    return text, None


def _iter_parquet(path: PathLike, options: AnnotateOptions, start: int) -> Iterator[InputRecord]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    names = set(parquet.schema_arrow.names)
    fields = dict.fromkeys((options.text_field, options.id_field))
    columns = [name for name in fields if name in names]
    row = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_READ_ROWS, columns=columns):
        for data in batch.to_pylist():
            row += 1
            if row <= start:
                continue
            record_id = data.get(options.id_field)
            record_id = row if record_id is None else _jsonable(record_id)
            yield InputRecord(row, record_id, *_check_text(data, options.text_field))


def _jsonable(value: Any) -> Any:
    """A Parquet value as a JSON value: itself, or its str() (dates, decimals, bytes)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)
