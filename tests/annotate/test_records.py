"""Output records: the same dicts and the same bytes whichever engine makes them."""

import json

import spacy

from spacy_albert.annotate.records import (
    InputRecord,
    annotate_item,
    doc_to_record,
    encode_record,
    error_record,
)


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


def test_annotate_item_never_raises() -> None:
    nlp = spacy.blank("en")
    nlp.max_length = 10
    assert annotate_item(nlp, InputRecord(1, "a", "short", None))["text"] == "short"
    assert annotate_item(nlp, InputRecord(2, 2, None, "invalid JSON")) == {
        "id": 2, "error": "invalid JSON"
    }
    too_long = annotate_item(nlp, InputRecord(3, "b", "x" * 11, None))
    assert set(too_long) == {"id", "error"} and "E088" in too_long["error"]
