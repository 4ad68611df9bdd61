"""Redaction: replaced text, offsets into the redacted text, pseudonyms, and edge cases
(overlapping and adjacent entities, emoji before/inside entities) on en and zh pipelines."""

import pytest
from spacy.language import Language
from spacy.tokens import Span

from spacy_albert.annotate.records import doc_to_record, error_record
from spacy_albert.annotate.redact import (
    RedactedRecord,
    check_labels,
    entity_labels,
    recall_by_label,
    redact_doc,
    redact_record,
    redact_spans,
)


def assert_consistent(result: RedactedRecord, original: str, spans: list[tuple[int, int, str]],
                      labels: set[str]) -> None:
    """Every entity's offsets point at its text in the redacted text; no redacted
    surface form is left; undoing the replacements gives the original back."""
    for ent in result.ents:
        assert result.text[ent.start:ent.end] == ent.text
        assert ent.redacted == (ent.label in labels)
    for start, end, label in spans:
        surface = original[start:end]
        if label in labels and original.count(surface) == 1:
            assert surface not in result.text
    restored, cursor = [], 0
    redacted_regions = iter(sorted((s, e) for s, e, label in _merged(spans, labels)))
    for ent in (e for e in result.ents if e.redacted):
        start, end = next(redacted_regions)
        restored.append(result.text[cursor:ent.start])
        restored.append(original[start:end])
        cursor = ent.end
    restored.append(result.text[cursor:])
    assert "".join(restored) == original


def _merged(spans: list[tuple[int, int, str]], labels: set[str]) -> list[tuple[int, int, str]]:
    """The regions a redaction must replace: overlapping spans with a redacted member."""
    regions: list[list] = []
    for start, end, label in sorted(spans, key=lambda s: (s[0], -s[1])):
        if regions and start < regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], end)
            regions[-1][2] |= label in labels
        else:
            regions.append([start, end, label in labels])
    return [(s, e, "") for s, e, hit in regions if hit]


def test_label_mode_replaces_and_shifts_offsets():
    text = "Omar Saleh met Lena Fox in Kingsport."
    spans = [(0, 10, "PER"), (15, 23, "PER"), (27, 36, "LOC")]
    result = redact_spans(text, spans, {"PER"})
    assert result.text == "[PER] met [PER] in Kingsport."
    assert [(e.start, e.end, e.label, e.text, e.redacted) for e in result.ents] == [
        (0, 5, "PER", "[PER]", True),
        (10, 15, "PER", "[PER]", True),
        (19, 28, "LOC", "Kingsport", False),
    ]
    assert_consistent(result, text, spans, {"PER"})


def test_pseudonyms_are_stable_per_entity_and_numbered_per_label():
    text = "Omar met Lena. Omar left Kingsport for Lena's town, Dunmore."
    spans = [(0, 4, "PER"), (9, 13, "PER"), (15, 19, "PER"), (25, 34, "LOC"), (39, 43, "PER"),
             (52, 59, "LOC")]
    result = redact_spans(text, spans, {"PER", "LOC"}, mode="pseudonym")
    assert result.text == "[PER_1] met [PER_2]. [PER_1] left [LOC_1] for [PER_2]'s town, [LOC_2]."
    assert_consistent(result, text, spans, {"PER", "LOC"})


def test_adjacent_entities_stay_separate():
    text = "AnnaBerlinParis"
    spans = [(0, 4, "PER"), (4, 10, "LOC"), (10, 15, "LOC")]
    result = redact_spans(text, spans, {"PER", "LOC"}, mode="pseudonym")
    assert result.text == "[PER_1][LOC_1][LOC_2]"
    assert [(e.start, e.end) for e in result.ents] == [(0, 7), (7, 14), (14, 21)]
    assert_consistent(result, text, spans, {"PER", "LOC"})


def test_overlapping_spans_are_merged_so_nothing_leaks():
    text = "Dr. Anna Maria Berg from Oslo"
    # 'Anna Maria' (PER) overlaps 'Maria Berg' (PER) and 'Maria' (ORG, not redacted).
    spans = [(4, 14, "PER"), (9, 19, "PER"), (9, 14, "ORG"), (25, 29, "LOC")]
    result = redact_spans(text, spans, {"PER"})
    assert result.text == "Dr. [PER] from Oslo"
    assert [(e.label, e.text, e.redacted) for e in result.ents] == [
        ("PER", "[PER]", True), ("LOC", "Oslo", False)
    ]
    for leaked in ("Anna", "Maria", "Berg"):
        assert leaked not in result.text
    assert_consistent(result, text, spans, {"PER"})


def test_overlapping_kept_spans_are_all_kept():
    text = "New York City Hall"
    spans = [(0, 13, "LOC"), (9, 18, "ORG")]
    result = redact_spans(text, spans, {"PER"})
    assert result.text == text
    assert [(e.start, e.end, e.text) for e in result.ents] == [(0, 13, "New York City"),
                                                               (9, 18, "City Hall")]


def test_emoji_offsets_are_code_points():
    # Skin-tone and ZWJ emoji are several code points; offsets count code points.
    text = "👋🏽 Hi Zoë 👨‍👩‍👧 from Kraków 🇵🇱!"
    start_per = text.index("Zoë")
    start_loc = text.index("Kraków")
    spans = [(start_per, start_per + 3, "PER"), (start_loc, start_loc + 6, "LOC")]
    result = redact_spans(text, spans, {"PER"}, mode="pseudonym")
    assert result.text == "👋🏽 Hi [PER_1] 👨‍👩‍👧 from Kraków 🇵🇱!"
    loc = result.ents[1]
    assert result.text[loc.start:loc.end] == "Kraków"
    assert_consistent(result, text, spans, {"PER"})
    # An emoji inside an entity is replaced with it.
    emoji_ent = [(0, len("Zoë 😀"), "PER")]
    assert redact_spans("Zoë 😀 ok", emoji_ent, {"PER"}).text == "[PER] ok"


def test_nothing_to_redact_keeps_the_text():
    assert redact_spans("plain", [], {"PER"}).text == "plain"
    assert redact_spans("", [], {"PER"}) == RedactedRecord("", ())


@pytest.mark.parametrize("span", [(-1, 2, "PER"), (3, 3, "PER"), (2, 99, "PER"), (4, 2, "PER")])
def test_bad_spans_raise_with_the_span(span):
    with pytest.raises(ValueError, match="outside the text"):
        redact_spans("short", [span], {"PER"})


def test_unknown_mode_raises():
    with pytest.raises(ValueError, match="mode"):
        redact_spans("x", [], {"PER"}, mode="hash")  # type: ignore[arg-type]


def test_record_helper_matches_doc_helper_and_passes_errors(en_nlp: Language):
    doc = en_nlp("Omar Saleh said the final in Kingsport was a disaster.")
    record = doc_to_record(doc, "r1")
    labels = {ent.label_ for ent in doc.ents}
    assert labels, "the trained pipeline should find an entity here"
    redacted = redact_record(record, labels, mode="pseudonym")
    from_doc = redact_doc(doc, labels, mode="pseudonym")
    assert redacted["text"] == from_doc.text
    assert redacted["id"] == "r1" and redacted["cats"] == record["cats"]
    assert [(e["start"], e["end"], e["text"]) for e in redacted["ents"]] == [
        (e.start, e.end, e.text) for e in from_doc.ents
    ]
    assert record["text"] == doc.text  # the input record is not modified
    failed = error_record(7, "bad line")
    assert redact_record(failed, labels) is failed


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pipeline_docs_adjacent_overlapping_and_emoji(request, lang: str):
    nlp: Language = request.getfixturevalue(f"{lang}_nlp")
    text = {
        "en": "😀 Omar Saleh visited Kingsport 👨‍👩‍👧 with Nordvale Energy.",
        "zh": "😀韩志军在黄浦江👨‍👩‍👧附近见了长风物流。",
    }[lang]
    doc = nlp(text)
    # Predicted entities, whatever the tiny model finds.
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    labels = {"PER", "LOC", "ORG"}
    assert_consistent(redact_doc(doc, labels), text, spans, labels)
    # Adjacent entities on the pipeline's own tokens (no character between them), and
    # an emoji token as an entity.
    i = next(t.i for t in doc[:-1] if t.is_alpha and not t.whitespace_
             and not doc[t.i + 1].is_space)
    emoji = next(t.i for t in doc if "👨" in t.text)
    ents = {Span(doc, i, i + 1, label="PER"), Span(doc, i + 1, i + 2, label="LOC")}
    if emoji not in (i, i + 1):
        ents.add(Span(doc, emoji, emoji + 1, label="ORG"))
    doc.ents = sorted(ents)
    adjacent = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    result = redact_doc(doc, labels)
    assert "[PER][LOC]" in result.text
    assert len(result.ents) == len(adjacent)
    assert_consistent(result, text, adjacent, labels)
    # Overlapping spans (span groups may overlap, doc.ents may not).
    doc.spans["names"] = [Span(doc, 1, 3, label="PER"), Span(doc, 2, 4, label="ORG"),
                          Span(doc, 5, 6, label="LOC")]
    overlapping = [(s.start_char, s.end_char, s.label_) for s in doc.spans["names"]]
    result = redact_doc(doc, {"PER"}, spans_key="names")
    assert [e.label for e in result.ents] == ["PER", "LOC"]
    assert_consistent(result, text, overlapping, {"PER"})


def test_recall_by_label_reads_the_pipeline_meta(en_nlp: Language):
    recall = recall_by_label(en_nlp.meta, ["PER", "NOPE"])
    assert 0.0 <= recall["PER"] <= 1.0
    assert recall["NOPE"] is None
    assert recall_by_label({}, ["PER"]) == {"PER": None}


def test_entity_labels_and_label_check(en_nlp: Language, zh_nlp: Language):
    assert entity_labels(en_nlp) == sorted(en_nlp.get_pipe("ner").labels)
    assert entity_labels(zh_nlp) == sorted(zh_nlp.get_pipe("ner").labels)
    check_labels(["PER"], entity_labels(en_nlp))
    with pytest.raises(ValueError, match=r"unknown entity label\(s\) \['PERSON'\].*'PER'"):
        check_labels(["PER", "PERSON"], entity_labels(en_nlp))
