"""JSONL records: labels as str, list or object, and entities as char offsets."""

import json
from pathlib import Path

from spacy_albert.convert import ConversionStats, read_textcat

from .util import FIXTURES


def test_jsonl_str_list_dict_labels_and_entities() -> None:
    stats = ConversionStats()
    docs = list(read_textcat(FIXTURES / "mixed.jsonl", stats=stats))
    assert stats.skipped_blank_lines == 1
    assert [doc.cats for doc in docs] == [
        {"NEGATIVE": 0.0, "POSITIVE": 1.0},
        {"NEGATIVE": 1.0, "POSITIVE": 0.0},
        {"NEGATIVE": 0.0, "POSITIVE": 1.0},
        {},
        {},
    ]
    assert [(e.text, e.label_) for e in docs[0].ents] == [("Anna Smith", "PER"), ("Berlin", "LOC")]
    assert [t.ent_iob_ for t in docs[0]] == ["B", "I", "O", "B", "O"]
    assert [(e.text, e.label_) for e in docs[3].ents] == [("Paris", "LOC")]
    assert [t.ent_iob_ for t in docs[3]] == ["O", "B", "O", "O", "O"]


def test_jsonl_multilabel_list_and_no_entities(tmp_path: Path) -> None:
    src = tmp_path / "topics.jsonl"
    rows = [
        {"text": "Vote on the budget", "topics": ["POLITICS", "BUSINESS"], "entities": []},
        {"text": "A great match", "topics": ["SPORTS"], "entities": [[8, 13, "EVT"]]},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    docs = list(read_textcat(src, label_field="topics", exclusive=False, use_entities=False))
    assert [d.cats for d in docs] == [
        {"BUSINESS": 1.0, "POLITICS": 1.0, "SPORTS": 0.0},
        {"BUSINESS": 0.0, "POLITICS": 0.0, "SPORTS": 1.0},
    ]
    assert all(t.ent_iob_ == "" for d in docs for t in d)
    # With entities, an empty list means "annotated, no entities": every token is O.
    docs = list(read_textcat(src, label_field="topics", exclusive=False))
    assert [t.ent_iob_ for t in docs[0]] == ["O"] * 4
    assert [(e.text, e.label_) for e in docs[1].ents] == [("match", "EVT")]
