"""Annotation records: what one input line is, and the one output record it becomes.

Every input line gives exactly one output record:

- a result record `{"id", "text", "cats", "ents": [{"start", "end", "label", "text"}]}`
  (`start`/`end` are character offsets into `text`; each entity also has a `score` in
  [0, 1] when the pipeline has `albert_entity_scorer`), or
- an error record `{"id", "error"}` for a line that cannot be annotated.

These helpers are pure and engine-independent, so every executor (one process, several,
Ray actors, an HTTP server) produces the same records and the same bytes.
"""

import json
from dataclasses import dataclass
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..confidence.entity_scores import entity_score

Record = dict[str, Any]


@dataclass(frozen=True)
class InputRecord:
    """One input line: a text to annotate, or the reason it cannot be annotated.

    line (int): 1-based line (or Parquet row) number in the input file.
    id (Any): The record's id (the id field's value, else the line number).
    text (Optional[str]): The text, or None when `error` is set.
    error (Optional[str]): Why the line cannot be annotated.
    end_offset (int): Byte offset just past this line (for progress; 0 for Parquet).
    """

    line: int
    id: Any
    text: Optional[str]
    error: Optional[str]
    end_offset: int = 0


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
        "ents": [_entity(ent) for ent in doc.ents],
    }


def _entity(ent: Span) -> Record:
    entity: Record = {
        "start": ent.start_char,
        "end": ent.end_char,
        "label": ent.label_,
        "text": ent.text,
    }
    score = entity_score(ent)
    if score is not None:  # set by `albert_entity_scorer` (and `albert_calibrator`)
        entity["score"] = score
    return entity


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


def annotate_item(nlp: Language, item: InputRecord) -> Record:
    """The record for one input record, never raising: a doc that fails is an error record.

    nlp (Language): The pipeline.
    item (InputRecord): The input record.
    RETURNS (Record): Its result record, or its error record.
    """
    if item.error is not None:
        return error_record(item.id, item.error)
    try:
        return annotate_text(nlp, item.text, item.id)
    except Exception as err:  # noqa: BLE001 - one bad doc must not stop the job
        return error_record(item.id, f"{type(err).__name__}: {err}")


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
