"""NER tag schemes: spans from each scheme, the repair of malformed continuations, and
`strict=True` refusing them with the file and line."""

from typing import Any

import pytest
from spacy.training import iob_to_biluo
from spacy.training.iob_utils import tags_to_entities

from spacy_albert.convert import ConversionError, TagRepair, normalize_tags

LINES = list(range(1, 20))


def tags_to_spans(tags: list[str], lines: list[int], **kwargs: Any) -> list[tuple[int, int, str]]:
    """(start, end, label) token spans, as the converters get them: IOB2, then spaCy's BILUO."""
    iob2 = normalize_tags(tags, lines, **kwargs)
    return [(start, end + 1, label) for label, start, end in tags_to_entities(iob_to_biluo(iob2))]


def test_tags_to_spans_rules() -> None:
    assert tags_to_spans(["I-PER", "I-PER", "B-PER", "O"], LINES) == [(0, 2, "PER"), (2, 3, "PER")]
    assert tags_to_spans(["B-X", "I-Y"], LINES) == [(0, 1, "X"), (1, 2, "Y")]
    assert tags_to_spans(["U-X", "B-Y", "L-Y"], LINES, scheme="bilou") == [(0, 1, "X"), (1, 3, "Y")]
    assert tags_to_spans(["B-A", "M-A", "E-A", "S-B"], LINES, scheme="bmes") == [
        (0, 3, "A"),
        (3, 4, "B"),
    ]
    with pytest.raises(ConversionError, match="does not continue"):
        tags_to_spans(["O", "I-PER"], LINES, scheme="iob2", strict=True)
    with pytest.raises(ConversionError, match="not closed by E-PER"):
        tags_to_spans(["B-PER", "O"], LINES, scheme="bioes", strict=True)


def test_well_formed_tags_need_no_repair() -> None:
    repairs: list[TagRepair] = []
    for tags, scheme in [
        (["B-A", "I-A", "O", "B-B"], "iob2"),
        (["I-A", "I-A", "B-A", "O"], "iob1"),
        (["B-A", "I-A", "E-A", "S-B", "O"], "bioes"),
        (["B-A", "L-A", "U-B"], "bilou"),
        (["B-A", "M-A", "E-A", "S-B"], "bmes"),
        (["B-A", "M-A", "E-A", "I-B", "I-B"], "auto"),
    ]:
        normalize_tags(tags, LINES, scheme=scheme, strict=True)
        normalize_tags(tags, LINES, scheme=scheme, repairs=repairs)
    assert repairs == []


# A malformed sentence: its tags, scheme, the IOB2 tags the repair gives, the (line, kind)
# of each repair, and what the refusal under strict=True says (at the first repair's line).
MALFORMED = {
    "m-at-sentence-start": (
        ["M-ORG", "E-ORG", "O"],
        "bmes",
        ["B-ORG", "I-ORG", "O"],
        [(1, "continuation")],
        "'M-ORG' does not continue an entity of type 'ORG' (previous tag: the start",
    ),
    "m-after-o": (
        ["O", "M-LOC", "E-LOC"],
        "auto",
        ["O", "B-LOC", "I-LOC"],
        [(2, "continuation")],
        "an entity must start with B-",
    ),
    "m-after-other-type": (
        ["B-PER", "M-LOC", "O"],
        "auto",
        ["B-PER", "B-LOC", "O"],
        [(2, "continuation")],
        "does not continue an entity of type 'LOC' (previous tag: 'B-PER')",
    ),
    "e-never-begun": (
        ["O", "E-ORG", "E-ORG"],
        "auto",
        ["O", "B-ORG", "B-ORG"],
        [(2, "continuation"), (3, "continuation")],
        "'E-ORG' ends an entity that was never begun",
    ),
    "i-after-o-iob2": (
        ["O", "I-ORG", "I-ORG"],
        "iob2",
        ["O", "B-ORG", "I-ORG"],
        [(2, "continuation")],
        "pass --scheme iob1 if this file is IOB1",
    ),
    "i-after-other-type-iob2": (
        ["B-PER", "I-ORG"],
        "iob2",
        ["B-PER", "B-ORG"],
        [(2, "continuation")],
        "does not continue an entity of type 'ORG'",
    ),
    "unclosed-before-o-bioes": (
        ["B-ORG", "I-ORG", "O", "S-PER"],
        "bioes",
        ["B-ORG", "I-ORG", "O", "B-PER"],
        [(3, "unclosed")],
        "'B-ORG' (line 1) is not closed by E-ORG before 'O'",
    ),
    "unclosed-at-sentence-end-bmes": (
        ["O", "B-ORG", "M-ORG"],
        "bmes",
        ["O", "B-ORG", "I-ORG"],
        [(3, "unclosed")],
        "is not closed by E-ORG before the end of the sentence",
    ),
    "unclosed-and-other-type-bilou": (
        ["B-ORG", "I-PER", "L-PER"],
        "bilou",
        ["B-ORG", "B-PER", "I-PER"],
        [(2, "continuation"), (2, "unclosed")],
        "'I-PER' does not continue an entity of type 'PER'",
    ),
    "e-after-s-bioes": (
        ["S-LOC", "E-LOC"],
        "bioes",
        ["B-LOC", "B-LOC"],
        [(2, "continuation")],
        "'E-LOC' ends an entity that was never begun (previous tag: 'S-LOC')",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_continuations_are_repaired_and_recorded(case: str) -> None:
    tags, scheme, expected, expected_repairs, _ = MALFORMED[case]
    repairs: list[TagRepair] = []
    iob2 = normalize_tags(tags, LINES, scheme=scheme, path="in.txt", repairs=repairs)
    assert iob2 == expected
    assert [(r.line, r.kind) for r in repairs] == expected_repairs
    assert all(str(r).startswith(f"in.txt:{r.line}: ") for r in repairs)
    continuation = [r for r in repairs if r.kind == "continuation"]
    assert all("started a new" in r.message or "one-token" in r.message for r in continuation)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_strict_refuses_malformed_continuations_with_file_and_line(case: str) -> None:
    tags, scheme, _, expected_repairs, words = MALFORMED[case]
    with pytest.raises(ConversionError) as err:
        normalize_tags(tags, LINES, scheme=scheme, path="in.txt", strict=True)
    assert err.value.line == expected_repairs[0][0]
    assert str(err.value).startswith(f"in.txt:{err.value.line}: ")
    assert words in str(err.value)


def test_repairs_and_tags_agree_on_the_entity_count() -> None:
    # Every entity begins either at a B-/S- tag or at a continuation repair.
    tags = ["M-ORG", "E-ORG", "O", "B-PER", "E-PER", "E-PER", "S-LOC", "O", "M-LOC"]
    repairs: list[TagRepair] = []
    spans = tags_to_spans(tags, LINES, scheme="bmes", repairs=repairs)
    begun_by_tags = sum(tag[0] in "BS" for tag in tags)
    assert len(spans) == begun_by_tags + sum(r.kind == "continuation" for r in repairs)
    assert spans == [(0, 2, "ORG"), (3, 5, "PER"), (5, 6, "PER"), (6, 7, "LOC"), (8, 9, "LOC")]


@pytest.mark.parametrize(
    "tags,scheme,words",
    [
        (["B-LOC", "I-LOC"], "bmes", "does not use"),
        (["b-org"], "auto", "unknown NER tag 'b-org'"),
        (["X-ORG"], "auto", "unknown NER tag"),
    ],
)
def test_wrong_scheme_or_unknown_tag_is_never_repaired(tags: list, scheme: str, words: str) -> None:
    for strict in (False, True):
        with pytest.raises(ConversionError, match=words):
            normalize_tags(tags, LINES, scheme=scheme, strict=strict, repairs=[])


def test_unknown_scheme() -> None:
    with pytest.raises(ConversionError, match="unknown tag scheme 'bio'"):
        normalize_tags(["O"], LINES, scheme="bio")  # type: ignore[arg-type]
