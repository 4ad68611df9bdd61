"""Text classification (CSV, TSV, JSONL) -> Docs: label layouts, label maps, entities,
missing annotation kept missing, and bad input."""

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example
from typer.testing import CliRunner

from spacy_albert.cli import app
from spacy_albert.convert import (
    ConversionError,
    ConversionStats,
    parse_label_map,
    read_conll,
    read_textcat,
    write_docbin,
)
from spacy_albert.convert.errors import blank_nlp

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()
SENTIMENT = "0:NEGATIVE,1:POSITIVE"


def flat(output: str) -> str:
    return " ".join(output.split())


def load(path: Path, lang: str = "en") -> list:
    return list(DocBin().from_disk(path).get_docs(blank_nlp(lang).vocab))


def test_tsv_label_first_with_header_and_label_map() -> None:
    stats = ConversionStats()
    docs = list(read_textcat(FIXTURES / "labels_first.tsv", label_map=SENTIMENT, stats=stats))
    assert [doc.text for doc in docs] == [
        "hide new secretions from the parental units",
        "the greatest musicians",
        "contains no wit , only labored gags",
    ]
    assert [doc.cats for doc in docs] == [
        {"NEGATIVE": 1.0, "POSITIVE": 0.0},
        {"NEGATIVE": 0.0, "POSITIVE": 1.0},
        {"NEGATIVE": 1.0, "POSITIVE": 0.0},
    ]
    assert stats.labels == ("NEGATIVE", "POSITIVE")
    assert any("taken as a header" in note for note in stats.notes)


def test_tsv_without_map_uses_raw_labels_and_explicit_options_agree() -> None:
    auto = list(read_textcat(FIXTURES / "labels_first.tsv"))
    explicit = list(
        read_textcat(FIXTURES / "labels_first.tsv", label_col="first", header=True, text_col=1)
    )
    assert [d.cats for d in auto] == [d.cats for d in explicit]
    assert auto[1].cats == {"0": 0.0, "1": 1.0}
    by_name = list(read_textcat(FIXTURES / "labels_first.tsv", label_col="label"))
    assert [d.text for d in by_name] == [d.text for d in auto]


def test_csv_label_last_without_header() -> None:
    stats = ConversionStats()
    docs = list(read_textcat(FIXTURES / "labels_last_noheader.csv", stats=stats))
    assert [doc.text for doc in docs] == [
        "Stocks rally, then fall",
        "Team wins the final",
        'Markets "surge" on news',
    ]
    assert [max(doc.cats, key=doc.cats.get) for doc in docs] == ["business", "sports", "business"]
    assert all(set(doc.cats) == {"business", "sports"} for doc in docs)
    assert any("Label column: 1" in note for note in stats.notes)
    assert any("taken as data" in note for note in stats.notes)
    explicit = list(
        read_textcat(FIXTURES / "labels_last_noheader.csv", label_col="last", header=False)
    )
    assert [d.cats for d in explicit] == [d.cats for d in docs]


def test_csv_label_first_header_crlf_and_quoted_newline(tmp_path: Path) -> None:
    src = tmp_path / "ag.csv"
    src.write_bytes(
        b"label,title,description\r\n"
        b'3,Fears for pension,"Unions say\r\nthey are ""disappointed""."\r\n'
        b"4,Space race,A second team\r\n"
        b"1,Talks fail,Leaders leave"
    )
    out = tmp_path / "ag.spacy"
    result = runner.invoke(
        app,
        [
            "convert",
            "textcat",
            str(src),
            str(out),
            "--label-map",
            "1:World,2:Sports,3:Business,4:Sci/Tech",
        ],
    )
    assert result.exit_code == 0, result.output
    docs = load(out)
    assert [doc.text for doc in docs] == [
        'Fears for pension Unions say\nthey are "disappointed".',
        "Space race A second team",
        "Talks fail Leaders leave",
    ]
    assert [max(d.cats, key=d.cats.get) for d in docs] == ["Business", "Sci/Tech", "World"]
    assert list(docs[0].cats) == ["World", "Sports", "Business", "Sci/Tech"]
    assert docs[0].cats["Sports"] == 0.0
    # Line numbers follow the file, quoted newlines included: the third record is line 4.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(src.read_bytes().replace(b"4,Space", b"9,Space"))
    with pytest.raises(ConversionError) as err:
        list(read_textcat(bad, label_map="1:World,2:Sports,3:Business,4:Sci/Tech"))
    assert err.value.line == 4
    assert "label '9' is not in --label-map" in str(err.value)


def test_tsv_crlf_and_text_column_by_name(tmp_path: Path) -> None:
    src = tmp_path / "train.tsv"
    src.write_bytes(b"label\ttext_a\r\n1\tgood hotel\r\n0\tbad room\r\n")
    docs = list(read_textcat(src, text_col="text_a", label_map=SENTIMENT))
    assert [(d.text, d.cats["POSITIVE"]) for d in docs] == [("good hotel", 1.0), ("bad room", 0.0)]


def test_zh_texts_are_tokenized_per_character(tmp_path: Path) -> None:
    src = tmp_path / "dev.txt"
    src.write_text("体验2D巅峰\t8\n同步A股首秀\t2\n", encoding="utf-8")
    names = tmp_path / "class.txt"
    names.write_text("\n".join(f"c{i}" for i in range(10)), encoding="utf-8")
    docs = list(read_textcat(src, lang="zh", label_map=str(names)))
    assert [t.text for t in docs[0]] == ["体", "验", "2", "D", "巅", "峰"]
    assert docs[0].cats["c8"] == 1.0 and docs[1].cats["c2"] == 1.0
    assert len(docs[0].cats) == 10


def test_label_map_forms(tmp_path: Path) -> None:
    as_dict = tmp_path / "map.json"
    as_dict.write_text(json.dumps({"0": "NEGATIVE", "1": "POSITIVE"}), encoding="utf-8")
    as_list = tmp_path / "names.json"
    as_list.write_text(json.dumps(["NEGATIVE", "POSITIVE"]), encoding="utf-8")
    expected = {"0": "NEGATIVE", "1": "POSITIVE"}
    assert parse_label_map(SENTIMENT) == expected
    assert parse_label_map(str(as_dict)) == expected
    assert parse_label_map(as_list) == expected
    assert parse_label_map({0: "NEGATIVE", 1: "POSITIVE"}) == expected
    assert parse_label_map(None) is None
    with pytest.raises(ConversionError, match="RAW:NAME"):
        parse_label_map("0=NEGATIVE")
    result = runner.invoke(
        app,
        [
            "convert",
            "textcat",
            str(FIXTURES / "labels_first.tsv"),
            str(tmp_path / "o.spacy"),
            "--label-map",
            str(as_dict),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [d.cats["POSITIVE"] for d in load(tmp_path / "o.spacy")] == [0.0, 1.0, 0.0]


def test_multilabel_csv(tmp_path: Path) -> None:
    docs = list(read_textcat(FIXTURES / "multilabel.csv", exclusive=False))
    assert [doc.cats for doc in docs] == [
        {"BUSINESS": 1.0, "POLITICS": 1.0, "SPORTS": 0.0},
        {"BUSINESS": 0.0, "POLITICS": 0.0, "SPORTS": 1.0},
        {"BUSINESS": 0.0, "POLITICS": 0.0, "SPORTS": 0.0},
    ]
    src = tmp_path / "pipes.tsv"
    src.write_text("x|y\tfirst text\ny\tsecond text\n", encoding="utf-8")
    out = tmp_path / "o.spacy"
    args = ["convert", "textcat", str(src), str(out), "--multilabel", "--label-sep", "|"]
    result = runner.invoke(app, [*args, "--label-col", "0", "--no-header"])
    assert result.exit_code == 0, result.output
    assert [d.cats for d in load(out)] == [{"x": 1.0, "y": 1.0}, {"x": 0.0, "y": 1.0}]
    # The same file read as exclusive: "x|y" is one label.
    result = runner.invoke(app, ["convert", "textcat", str(src), str(out), "--no-header"])
    assert result.exit_code == 0, result.output
    assert [d.cats for d in load(out)] == [{"x|y": 1.0, "y": 0.0}, {"x|y": 0.0, "y": 1.0}]


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


def test_missing_annotation_stays_missing_after_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "mixed.spacy"
    stats = write_docbin(read_textcat(FIXTURES / "mixed.jsonl"), out)
    assert (stats.n_docs, stats.n_docs_with_cats, stats.n_docs_with_ents) == (5, 3, 2)
    assert dict(stats.cats) == {"POSITIVE": 2, "NEGATIVE": 1}
    assert dict(stats.ents) == {"PER": 1, "LOC": 2}
    docs = load(out)
    # Textcat-only docs: NER missing on every token (not O).
    for doc in (docs[1], docs[2], docs[4]):
        assert [t.ent_iob_ for t in doc] == [""] * len(doc)
        assert not doc.has_annotation("ENT_IOB")
    # NER-only doc and the doc with neither: no cats keys at all.
    assert docs[3].cats == {} and docs[4].cats == {}
    assert docs[3].has_annotation("ENT_IOB")
    # CoNLL docs: no cats, and every token annotated.
    conll = tmp_path / "conll.spacy"
    write_docbin(read_conll(FIXTURES / "iob2.txt"), conll)
    (doc,) = load(conll)
    assert doc.cats == {}
    assert "" not in {t.ent_iob_ for t in doc}


def test_missing_ner_annotation_contributes_no_loss(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    out = tmp_path / "mixed.spacy"
    write_docbin(read_textcat(FIXTURES / "mixed.jsonl", nlp=nlp), out)
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    annotated, textcat_only = docs[0], docs[1]
    assert annotated.ents and not textcat_only.has_annotation("ENT_IOB")
    annotated_eg = Example(nlp.make_doc(annotated.text), annotated)
    missing_eg = Example(nlp.make_doc(textcat_only.text), textcat_only)
    nlp.initialize(get_examples=lambda: [annotated_eg])
    losses: dict = {}
    nlp.update([missing_eg], sgd=None, losses=losses)
    assert losses["ner"] == 0.0
    losses = {}
    nlp.update([annotated_eg], sgd=None, losses=losses)
    assert losses["ner"] > 0.0


def test_fixed_label_set(tmp_path: Path) -> None:
    docs = list(
        read_textcat(FIXTURES / "labels_last_noheader.csv", labels=["sports", "business", "tech"])
    )
    assert list(docs[1].cats) == ["sports", "business", "tech"]
    assert docs[1].cats == {"sports": 1.0, "business": 0.0, "tech": 0.0}
    with pytest.raises(ConversionError) as err:
        list(read_textcat(FIXTURES / "labels_last_noheader.csv", labels=["sports"]))
    assert err.value.line == 1 and "not in the label set" in str(err.value)


def test_cli_report_counts(tmp_path: Path) -> None:
    out = tmp_path / "corpus.spacy"
    result = runner.invoke(app, ["convert", "textcat", str(FIXTURES / "mixed.jsonl"), str(out)])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Wrote 5 docs (27 tokens)" in text
    assert "Docs with cats: 3 of 5" in text
    assert "Docs with NER annotation: 2 of 5" in text
    assert "Skipped blank lines: 1" in text


# Bad input: file name, content, CLI options, the line the error must name, words it must hold.
BAD_INPUTS = {
    "empty-text-tsv": ("a.tsv", "1\tgood\n0\t  \n", ["--label-col", "first"], 2, "empty text"),
    "empty-text-jsonl": (
        "a.jsonl",
        '{"text": "ok", "label": "A"}\n{"text": "", "label": "B"}\n',
        [],
        2,
        "empty text",
    ),
    "label-not-in-map": (
        "a.tsv",
        "0\tfine\n2\tbad\n",
        ["--label-map", SENTIMENT],
        2,
        "label '2' is not in --label-map",
    ),
    "bad-json": (
        "a.jsonl",
        '{"text": "ok", "label": "A"}\n{"text": "no", "label": \n',
        [],
        2,
        "bad JSON",
    ),
    "not-an-object": ("a.jsonl", '["text", "A"]\n', [], 1, "expected a JSON object"),
    "no-text-field": ("a.jsonl", '{"body": "x", "label": "A"}\n', [], 1, "has no 'text' field"),
    "wrong-column-count": ("a.tsv", "0\tfine\n1\tgood\textra\n", [], 2, "expected 2 columns"),
    "unterminated-quote": ("a.csv", 'label,text\n1,"open\n', [], 2, "bad CSV"),
    "two-labels-exclusive": (
        "a.jsonl",
        '{"text": "x", "label": ["A", "B"]}\n',
        [],
        1,
        "pass --multilabel",
    ),
    "dict-out-of-range": (
        "a.jsonl",
        '{"text": "x", "label": {"A": 2}}\n',
        [],
        1,
        "number from 0 to 1",
    ),
    "entity-off-boundary": (
        "a.jsonl",
        '{"text": "Anna Smith", "entities": [[0, 3, "PER"]]}\n',
        [],
        1,
        "does not fall on token boundaries",
    ),
    "entity-outside-text": (
        "a.jsonl",
        '{"text": "Anna", "entities": [[0, 9, "PER"]]}\n',
        [],
        1,
        "outside the text",
    ),
    "overlapping-entities": (
        "a.jsonl",
        '{"text": "Anna Smith", "entities": [[0, 10, "PER"], [5, 10, "PER"]]}\n',
        [],
        1,
        "bad entities",
    ),
    "bad-entity-shape": (
        "a.jsonl",
        '{"text": "Anna", "entities": [[0, 4]]}\n',
        [],
        1,
        "[start, end, label]",
    ),
    "invalid-utf8": ("a.tsv", b"1\tok\n0\tcaf\xe9\n", [], 2, "--encoding latin-1"),
    "empty-label": (
        "a.tsv",
        "1\tok\n\tno label\n",
        ["--label-col", "0", "--no-header"],
        2,
        "empty label",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_with_file_and_line_and_leaves_no_output(tmp_path: Path, case: str) -> None:
    name, content, options, line, words = BAD_INPUTS[case]
    src = tmp_path / name
    src.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = runner.invoke(
        app, ["convert", "textcat", str(src), str(out_dir / "x.spacy"), *options]
    )
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert f"{src}:{line}:" in text
    assert words in text
    assert list(out_dir.iterdir()) == []


def test_latin1_file_reads_with_the_right_encoding(tmp_path: Path) -> None:
    src = tmp_path / "a.tsv"
    src.write_bytes(b"1\tok\n0\tcaf\xe9\n")
    docs = list(read_textcat(src, encoding="latin-1", header=False))
    assert docs[1].text == "café"
    docs = list(read_textcat(src, encoding_errors="replace", header=False))
    assert docs[1].text == "caf\ufffd"
