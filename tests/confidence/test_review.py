import json

import pytest
import spacy

from spacy_albert.confidence.review import (
    RecordLayout,
    filter_record_entities,
    read_reviewed,
    record_confidence,
    select_for_review,
    write_review,
)

LAYOUT = RecordLayout(exclusive_groups=(("NEG", "POS"),), thresholds={"SPORTS": 0.3})


def record(id, neg, ents=(), sports=None):
    cats = {"NEG": neg, "POS": 1.0 - neg}
    if sports is not None:
        cats["SPORTS"] = sports
    text = "Laura Chen met Nordwind Energy in Paris ."
    spans = {"Laura Chen": (0, 10, "PER"), "Nordwind Energy": (15, 30, "ORG"),
             "Paris": (34, 39, "LOC")}
    return {
        "id": id,
        "text": text,
        "cats": cats,
        "ents": [
            {"start": spans[t][0], "end": spans[t][1], "label": spans[t][2], "text": t,
             "score": score}
            for t, score in ents
        ],
    }


def test_record_confidence_is_the_least_sure_decision():
    assert record_confidence(record(1, 0.9), LAYOUT) == pytest.approx(0.9)
    assert record_confidence(record(2, 0.9, [("Paris", 0.4)]), LAYOUT) == pytest.approx(0.4)
    # SPORTS at 0.35 with threshold 0.3 is predicted: its confidence is 0.35.
    assert record_confidence(record(3, 0.99, sports=0.35), LAYOUT) == pytest.approx(0.35)
    # Not predicted at 0.1: the decision "not SPORTS" has confidence 0.9.
    assert record_confidence(record(4, 0.99, sports=0.1), LAYOUT) == pytest.approx(0.9)
    assert record_confidence({"id": 5, "text": "x", "cats": {}, "ents": []}) == 1.0


def test_select_for_review_takes_the_lowest_first_and_skips_errors():
    records = [
        record("a", 0.95, [("Paris", 0.99)]),
        {"id": "bad", "error": "not a JSON object"},
        record("b", 0.55),
        record("c", 0.9, [("Laura Chen", 0.2)]),
        record("d", 0.55),
    ]
    lines = select_for_review(iter(records), 3, LAYOUT)
    assert [line["id"] for line in lines] == ["c", "b", "d"]
    assert lines[0]["entities"] == [[0, 10, "PER"]]
    assert lines[0]["cats"] == {"NEG": 1.0, "POS": 0.0}
    assert lines[0]["scores"]["entities"][0]["score"] == 0.2
    assert select_for_review(records, 0, LAYOUT) == []


def test_filter_record_entities_keeps_scores_at_or_above_the_threshold():
    rec = record(1, 0.9, [("Laura Chen", 0.2), ("Paris", 0.5)])
    assert [e["text"] for e in filter_record_entities(rec, 0.5)["ents"]] == ["Paris"]
    assert filter_record_entities(rec, None) is rec
    assert len(rec["ents"]) == 2


def test_corrected_review_reads_back_with_missing_left_missing(tmp_path):
    path = tmp_path / "review.jsonl"
    records = [record("a", 0.6, [("Laura Chen", 0.3)]), record("b", 0.7), record("c", 0.8)]
    assert write_review(records, path, 3, LAYOUT) == 3
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    # The reviewer: fixes a's label and adds Paris, removes b's cats, drops c's entities key.
    lines[0]["entities"] = [[0, 10, "ORG"], [34, 39, "LOC"]]
    lines[0]["cats"] = {"NEG": 0.0, "POS": 1.0}
    del lines[1]["cats"]
    del lines[2]["entities"]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    a, b, c = read_reviewed(path, nlp=spacy.blank("en"))
    assert [(e.text, e.label_) for e in a.ents] == [("Laura Chen", "ORG"), ("Paris", "LOC")]
    assert a.cats == {"NEG": 0.0, "POS": 1.0}
    assert [t.ent_iob_ for t in a][2] == "O"
    assert b.cats == {} and b.has_annotation("ENT_IOB") and not b.ents
    assert {t.ent_iob_ for t in c} == {""} and c.cats == {"NEG": 1.0, "POS": 0.0}


def test_review_lines_follow_what_the_pipeline_predicts(tmp_path):
    ner_only = RecordLayout(has_cats=False)
    (line,) = select_for_review([record("a", 0.6, [("Paris", 0.3)])], 1, ner_only)
    assert "cats" not in line and line["entities"] == [[34, 39, "LOC"]]
    cats_only = RecordLayout(exclusive_groups=(("NEG", "POS"),), has_entities=False)
    (line,) = select_for_review([record("a", 0.6)], 1, cats_only)
    assert "entities" not in line


def test_a_bad_corrected_line_names_file_and_line(tmp_path):
    path = tmp_path / "review.jsonl"
    path.write_text(
        json.dumps({"text": "Paris .", "entities": [[0, 5, "LOC"]]}) + "\n"
        + json.dumps({"text": "Paris .", "entities": [[0, 3, "LOC"]]}) + "\n"
    )
    with pytest.raises(ValueError, match=r"review\.jsonl.*2|line 2"):
        list(read_reviewed(path, nlp=spacy.blank("en")))
