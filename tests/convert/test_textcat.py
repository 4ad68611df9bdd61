"""Text classification -> Docs: options, tokenization, missing annotation kept missing,
the report, and bad input in every format."""

from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_albert.cli import app
from spacy_albert.convert import (
    ConversionError,
    TextcatReadOptions,
    read_conll,
    read_textcat,
    write_docbin,
)

from .util import FIXTURES, flat, load, runner

SENTIMENT = "0:NEGATIVE,1:POSITIVE"


def test_zh_texts_are_tokenized_per_character(tmp_path: Path) -> None:
    src = tmp_path / "dev.txt"
    src.write_text("体验2D巅峰\t8\n同步A股首秀\t2\n", encoding="utf-8")
    names = tmp_path / "class.txt"
    names.write_text("\n".join(f"c{i}" for i in range(10)), encoding="utf-8")
    docs = list(read_textcat(src, lang="zh", label_map=str(names)))
    assert [t.text for t in docs[0]] == ["体", "验", "2", "D", "巅", "峰"]
    assert docs[0].cats["c8"] == 1.0 and docs[1].cats["c2"] == 1.0
    assert len(docs[0].cats) == 10


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


CORPUS = Path(__file__).parents[2] / "corpus"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_keyword_call_of_the_test_session(lang: str) -> None:
    # tests/conftest.py builds every session pipeline's data with this call.
    path = CORPUS / lang / "train.jsonl"
    docs = list(read_textcat(path, label_field="cats", exclusive=True, lang=lang))
    assert len(docs) == 320
    assert all(set(doc.cats) == {"NEGATIVE", "POSITIVE"} for doc in docs)
    assert all(sorted(doc.cats.values()) == [0.0, 1.0] for doc in docs)
    assert all(doc.lang_ == lang for doc in docs)
    assert sum(len(doc.ents) for doc in docs) > 0


def test_options_object_and_keywords_agree() -> None:
    path = FIXTURES / "labels_first.tsv"
    options = TextcatReadOptions(label_col="first", header=True, label_map=SENTIMENT)
    by_options = [doc.cats for doc in read_textcat(path, options)]
    by_keywords = [
        doc.cats for doc in read_textcat(path, label_col="first", header=True, label_map=SENTIMENT)
    ]
    assert (
        by_options
        == by_keywords
        == [
            {"NEGATIVE": 1.0, "POSITIVE": 0.0},
            {"NEGATIVE": 0.0, "POSITIVE": 1.0},
            {"NEGATIVE": 1.0, "POSITIVE": 0.0},
        ]
    )
    # A keyword overrides the same field of the options object.
    overridden = list(read_textcat(path, options, label_map="0:BAD,1:GOOD"))
    assert list(overridden[0].cats) == ["BAD", "GOOD"]
    with pytest.raises(TypeError, match="label_column"):
        list(read_textcat(path, label_column="first"))


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"file_format": "xlsx"}, "unknown format 'xlsx'"),
        ({"encoding_errors": "ignore"}, "unknown encoding-errors handler 'ignore'"),
        ({"exclusive": False, "label_sep": ""}, "--label-sep must not be empty"),
    ],
)
def test_bad_options_are_refused_when_built(fields: dict, words: str) -> None:
    with pytest.raises(ConversionError, match=words):
        TextcatReadOptions(**fields)
