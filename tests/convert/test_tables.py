"""CSV and TSV text classification files: label and text columns, headers, quoting."""

import csv
from pathlib import Path

import pytest

from spacy_albert.cli import app
from spacy_albert.convert import ConversionError, ConversionStats, read_textcat

from .util import FIXTURES, load, runner

SENTIMENT = "0:NEGATIVE,1:POSITIVE"


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


def test_header_found_where_csv_sniffer_misses_it(tmp_path: Path) -> None:
    content = "sentiment,tweet\npos,good day\nnegative,bad day\npos,fine\n"
    # csv.Sniffer().has_header votes only on columns whose cells share a type or a length;
    # word labels of different lengths and free texts give it no vote, so it says "no
    # header". That is why looks_like_header does not use it.
    assert csv.Sniffer().has_header(content) is False
    src = tmp_path / "tweets.csv"
    src.write_text(content, encoding="utf-8")
    stats = ConversionStats()
    docs = list(read_textcat(src, label_col="first", stats=stats))
    assert [doc.text for doc in docs] == ["good day", "bad day", "fine"]
    assert stats.labels == ("negative", "pos")
    assert any("Line 1 taken as a header (sentiment | tweet)" in note for note in stats.notes)
