"""Batch annotation that loses nothing: JSONL or plain text in, one JSONL record out per line.

Every input line gives exactly one output line, in input order:

- a result record `{"id", "text", "cats", "ents": [{"start", "end", "label", "text"}]}`
  (`start`/`end` are character offsets into `text`), or
- an error record `{"id", "error"}` for a line that is not valid UTF-8, not a JSON
  object, lacks a string text field, or whose doc raised in the pipeline.

The job never aborts on bad input, and it is resumable: output is appended a batch at a
time (flushed and fsynced), so after a kill the output holds N complete records plus
possibly one torn line. A rerun truncates the torn line, checks that record N's id is
the id of input line N, skips N input lines and carries on: no duplicates, no gaps.

Memory is constant in the size of the input and output: the input is read one line at a
time, at most one batch of records (`batch_size` for one process, what spaCy keeps in
flight for several) is held at once, and resuming scans the output in fixed-size
chunks. Only a single line is ever held whole, so one enormous line costs its own size.

The record helpers (`doc_to_record`, `error_record`, `iter_input_records`,
`encode_record`) are pure and engine-independent, so another executor (e.g. Ray) can
produce byte-identical output.
"""

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc

Record = dict[str, Any]
PathLike = Union[str, Path]

INPUT_FORMATS = ("auto", "jsonl", "text")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_READ_CHUNK = 1 << 20


class ResumeError(ValueError):
    """The existing output cannot be continued from this input."""


@dataclass(frozen=True)
class InputRecord:
    """One input line: a text to annotate, or the reason it cannot be annotated.

    line (int): 1-based line number in the input file.
    id (Any): The record's id (the id field's value, else the line number).
    text (Optional[str]): The text, or None when `error` is set.
    error (Optional[str]): Why the line cannot be annotated.
    end_offset (int): Byte offset just past this line (for progress reporting).
    """

    line: int
    id: Any
    text: Optional[str]
    error: Optional[str]
    end_offset: int


def validate_text(value: Any, what: str = "text") -> str:
    """Return `value` if it is a str, else raise a TypeError that says what to do.

    spaCy's `nlp(...)` reads bytes as a serialized Doc and fails with a msgpack
    error (`ExtraData`), so bytes deserve their own message.

    value (Any): The candidate text.
    what (str): How to name the value in the message.
    RETURNS (str): The text, unchanged.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"{what} must be a str, got {type(value).__name__}: decode it first, "
            "e.g. value.decode('utf-8')"
        )
    raise TypeError(f"{what} must be a str, got {type(value).__name__}")


def doc_to_record(doc: Doc, id: Any) -> Record:
    """The output record for an annotated doc.

    doc (Doc): A doc the pipeline has processed.
    id (Any): The input record's id (JSON-serializable).
    RETURNS (Record): {"id", "text", "cats", "ents"}; ent offsets are characters.
    """
    return {
        "id": id,
        "text": doc.text,
        "cats": {label: float(score) for label, score in doc.cats.items()},
        "ents": [
            {
                "start": ent.start_char,
                "end": ent.end_char,
                "label": ent.label_,
                "text": ent.text,
            }
            for ent in doc.ents
        ],
    }


def error_record(id: Any, message: str) -> Record:
    """The output record for an input that could not be annotated.

    id (Any): The input record's id (or its line number when it has none).
    message (str): What went wrong.
    RETURNS (Record): {"id", "error"}.
    """
    return {"id": id, "error": message}


def annotate_text(nlp: Language, text: Any, id: Any = None) -> Record:
    """Annotate one text and return its output record.

    nlp (Language): The pipeline.
    text (Any): The text; anything but a str raises a TypeError.
    id (Any): The id to put in the record.
    RETURNS (Record): The record `doc_to_record` gives.
    """
    return doc_to_record(nlp(validate_text(text)), id)


def encode_record(record: Record) -> bytes:
    """One JSONL line (UTF-8, newline-terminated) for a record.

    Non-ASCII text is written as is; a record that cannot be UTF-8 encoded (lone
    surrogates from JSON `\\ud800` escapes) falls back to ASCII escapes.

    record (Record): The record.
    RETURNS (bytes): The encoded line; the newline is its only newline byte.
    """
    line = json.dumps(record, ensure_ascii=False)
    try:
        return line.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True).encode("ascii") + b"\n"


def resolve_format(path: PathLike, input_format: str = "auto") -> str:
    """'jsonl' or 'text': the given format, or one decided from the file suffix."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, got {input_format!r}")
    if input_format != "auto":
        return input_format
    return "jsonl" if Path(path).suffix.lower() in JSONL_SUFFIXES else "text"


def _parse_jsonl(line: str, line_no: int, text_field: str, id_field: str) -> tuple[Any, Any, Any]:
    """(id, text, error) for one JSONL line."""
    if not line.strip():
        return line_no, None, "blank line: expected a JSON object"
    try:
        data = json.loads(line)
    except ValueError as err:
        return line_no, None, f"invalid JSON: {err}"
    if not isinstance(data, dict):
        return line_no, None, f"expected a JSON object, got {type(data).__name__}"
    record_id = data.get(id_field)
    if record_id is None:
        record_id = line_no
    if text_field not in data:
        return record_id, None, f"missing text field {text_field!r}"
    text = data[text_field]
    if not isinstance(text, str):
        return record_id, None, (
            f"text field {text_field!r} must be a string, got {type(text).__name__}"
        )
    return record_id, text, None


def iter_input_records(
    path: PathLike,
    text_field: str = "text",
    id_field: str = "id",
    start: int = 0,
    input_format: str = "auto",
) -> Iterator[InputRecord]:
    """Stream the records of a JSONL or plain-text file, one per line, lazily.

    JSONL: each line is an object with a string `text_field` and an optional
    `id_field` (missing or null: the 1-based line number). Plain text: each line is
    one doc, its id the line number (a blank line is an empty doc). Lines end at
    b"\\n" only (a trailing "\\r" is dropped), so text with U+2028 or form feeds stays
    one record. Bad lines become records with `error` set.

    path (PathLike): The input file.
    text_field (str): JSONL field with the text.
    id_field (str): JSONL field with the id.
    start (int): Number of lines to skip (not parsed), e.g. those already annotated.
    input_format (str): 'jsonl', 'text' or 'auto' (by suffix: .jsonl/.ndjson/.json).
    YIELDS (InputRecord): One per line from line `start + 1` on.
    """
    fmt = resolve_format(path, input_format)
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
            if fmt == "text":
                yield InputRecord(line_no, line_no, line, None, offset)
            else:
                record_id, text, error = _parse_jsonl(line, line_no, text_field, id_field)
                yield InputRecord(line_no, record_id, text, error, offset)


def count_complete_records(path: PathLike, repair: bool = True) -> tuple[int, Optional[Record]]:
    """Count an output file's complete records, truncating a torn last line.

    A kill can leave the last line partly written (no final newline, or not valid
    JSON); it is cut off when `repair` is set. The file is read in fixed-size chunks.

    path (PathLike): An output JSONL file (need not exist).
    repair (bool): Truncate the torn tail in place.
    RETURNS (tuple[int, Optional[Record]]): The number of complete records and the
        last of them (None when there are none).
    """
    path = Path(path)
    if not path.exists():
        return 0, None
    with open(path, "r+b" if repair else "rb") as file:
        size = file.seek(0, os.SEEK_END)
        end = _last_newline_end(file, size)
        while end > 0:
            start = _last_newline_end(file, end - 1)
            file.seek(start)
            try:
                last = json.loads(file.read(end - start).decode("utf-8"))
            except ValueError:
                last = None
            if isinstance(last, dict) and "id" in last:
                break
            end = start  # A damaged line: drop it too.
        else:
            last = None
        if repair and end < size:
            file.truncate(end)
        file.seek(0)
        count = 0
        while file.tell() < end:
            chunk = file.read(min(_READ_CHUNK, end - file.tell()))
            count += chunk.count(b"\n")
    return count, last


def _last_newline_end(file: IO[bytes], limit: int) -> int:
    """Offset just past the last b"\\n" before `limit` (0 if none)."""
    pos = limit
    while pos > 0:
        step = min(_READ_CHUNK, pos)
        file.seek(pos - step)
        index = file.read(step).rfind(b"\n")
        if index >= 0:
            return pos - step + index + 1
        pos -= step
    return 0


def _same_id(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def resume_point(
    items_for: Callable[[int], Iterator[InputRecord]], input_path: PathLike, output_path: Path
) -> tuple[int, Optional[InputRecord], Iterator[InputRecord]]:
    """Where to go on with an output that already holds records.

    The input record of the output's last complete record (the anchor) must carry that
    record's id, so a run never appends to another input's output.

    items_for (Callable[[int], Iterator[InputRecord]]): Opens the input at a record index.
    input_path (PathLike): The input file, for the error message.
    output_path (Path): The existing (or missing) output.
    RETURNS (tuple): (records already done, the anchor or None, the input after it).
    RAISES (ResumeError): The output's last record does not match the input.
    """
    done, last = count_complete_records(output_path)
    items = items_for(max(done - 1, 0))
    if not done:
        return 0, None, items
    anchor = next(items, None)
    if anchor is None or last is None or not _same_id(anchor.id, last.get("id")):
        found = "fewer lines" if anchor is None else f"id {anchor.id!r} on line {done}"
        raise ResumeError(
            f"{output_path} has {done} records, the last with id "
            f"{None if last is None else last.get('id')!r}, but {input_path} has "
            f"{found}: it is not this input's output. Pass resume=False "
            "(--no-resume) to start over, or choose another output file."
        )
    return done, anchor, items


def _annotate_one(nlp: Language, item: InputRecord) -> Record:
    if item.error is not None:
        return error_record(item.id, item.error)
    try:
        return doc_to_record(nlp(validate_text(item.text)), item.id)
    except Exception as err:  # noqa: BLE001 - one bad doc must not stop the job
        return error_record(item.id, f"{type(err).__name__}: {err}")


def _batches(items: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    batch: list[InputRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def annotate_records(
    nlp: Language, items: Iterable[InputRecord], batch_size: int = 64
) -> Iterator[tuple[InputRecord, Record]]:
    """Annotate input records in one process, one batch at a time, in order.

    A batch goes through `nlp.pipe`; if that raises, its records are redone one at a
    time so that only the docs that fail become error records.

    nlp (Language): The pipeline.
    items (Iterable[InputRecord]): The input records.
    batch_size (int): Docs per batch.
    YIELDS (tuple[InputRecord, Record]): Each input with its output record.
    """
    for batch in _batches(items, batch_size):
        good = [item for item in batch if item.error is None]
        try:
            docs = iter(nlp.pipe([item.text for item in good], batch_size=batch_size))
            records = {id(item): doc_to_record(doc, item.id) for item, doc in zip(good, docs)}
        except Exception:  # noqa: BLE001 - fall back to one doc at a time
            records = {id(item): _annotate_one(nlp, item) for item in good}
        for item in batch:
            yield item, records.get(id(item)) or _annotate_one(nlp, item)


def _skip_failed_worker_batch(
    name: Optional[str], proc: Any, docs: Optional[list[Doc]], error: Exception
) -> None:
    """Error handler for `nlp.pipe(n_process>1)`: skip a worker's failed batch (the
    parent calls it with no component) and raise for anything else, so that component
    errors still reach the worker's or `_annotate_one`'s error handling."""
    if name is None and proc is None:
        return None
    raise error


def annotate_records_multiprocess(
    nlp: Language, items: Iterable[InputRecord], batch_size: int = 64, n_process: int = 2
) -> Iterator[tuple[InputRecord, Record]]:
    """Annotate input records with `nlp.pipe(n_process=...)`, in order.

    spaCy drops a worker's whole batch when one of its docs raises; such gaps are
    detected from the records' positions and redone here one doc at a time.

    nlp (Language): The pipeline.
    items (Iterable[InputRecord]): The input records.
    batch_size (int): Docs per worker batch.
    n_process (int): Worker processes.
    YIELDS (tuple[InputRecord, Record]): Each input with its output record.
    """
    pending: deque[tuple[int, InputRecord]] = deque()

    def feed() -> Iterator[tuple[str, int]]:
        for position, item in enumerate(items):
            pending.append((position, item))
            if item.error is None:
                yield item.text, position  # type: ignore[misc]

    previous = nlp.default_error_handler
    nlp.default_error_handler = _skip_failed_worker_batch
    try:
        stream = nlp.pipe(feed(), as_tuples=True, batch_size=batch_size, n_process=n_process)
        for doc, position in stream:
            while pending[0][0] < position:
                item = pending.popleft()[1]
                yield item, _annotate_one(nlp, item)
            item = pending.popleft()[1]
            yield item, doc_to_record(doc, item.id)
        while pending:
            item = pending.popleft()[1]
            yield item, _annotate_one(nlp, item)
    finally:
        nlp.default_error_handler = previous


def annotate_file(
    nlp: Language,
    input_path: PathLike,
    output_path: PathLike,
    batch_size: int = 64,
    n_process: int = 1,
    resume: bool = True,
    text_field: str = "text",
    id_field: str = "id",
    input_format: str = "auto",
    progress: Optional[Callable[[int, int], None]] = None,
) -> dict[str, int]:
    """Annotate a JSONL or plain-text file into a JSONL file, resumably.

    nlp (Language): The pipeline.
    input_path (PathLike): Input JSONL (see `iter_input_records`) or text file.
    output_path (PathLike): Output JSONL; appended to when resuming.
    batch_size (int): Docs per batch; output is flushed and fsynced per batch.
    n_process (int): Worker processes for `nlp.pipe` (1: this process only).
    resume (bool): Continue an existing output (else overwrite it).
    text_field (str): JSONL field with the text.
    id_field (str): JSONL field with the id.
    input_format (str): 'jsonl', 'text' or 'auto' (by suffix).
    progress (Optional[Callable[[int, int], None]]): Called after every write with
        (bytes of input consumed, records written in this run).
    RETURNS (dict[str, int]): Counts: 'skipped' (already done), 'written', 'errors'.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    input_path, output_path = Path(input_path), Path(output_path)
    fmt = resolve_format(input_path, input_format)

    def items_for(start: int) -> Iterator[InputRecord]:
        return iter_input_records(input_path, text_field, id_field, start=start, input_format=fmt)

    if resume:
        done, anchor, items = resume_point(items_for, input_path, output_path)
    else:
        done, anchor, items = 0, None, items_for(0)
    offset = anchor.end_offset if anchor is not None else 0
    annotate = (
        annotate_records(nlp, items, batch_size)
        if n_process == 1
        else annotate_records_multiprocess(nlp, items, batch_size, n_process)
    )
    counts = {"skipped": done, "written": 0, "errors": 0}
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with open(output_path, "ab" if resume else "wb") as out:
        buffer: list[bytes] = []
        if progress is not None:
            progress(offset, 0)

        def write() -> None:
            out.write(b"".join(buffer))
            out.flush()
            os.fsync(out.fileno())
            counts["written"] += len(buffer)
            buffer.clear()
            if progress is not None:
                progress(offset, counts["written"])

        for item, record in annotate:
            buffer.append(encode_record(record))
            counts["errors"] += "error" in record
            offset = item.end_offset
            if len(buffer) >= batch_size:
                write()
        if buffer:
            write()
    return counts
