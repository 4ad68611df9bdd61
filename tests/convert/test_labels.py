"""Label maps and label sets: every doc's cats get the same keys."""

import json
from pathlib import Path

import pytest

from spacy_albert.cli import app
from spacy_albert.convert import ConversionError, parse_label_map, read_textcat

from .util import FIXTURES, load, runner

SENTIMENT = "0:NEGATIVE,1:POSITIVE"


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


def test_fixed_label_set(tmp_path: Path) -> None:
    docs = list(
        read_textcat(FIXTURES / "labels_last_noheader.csv", labels=["sports", "business", "tech"])
    )
    assert list(docs[1].cats) == ["sports", "business", "tech"]
    assert docs[1].cats == {"sports": 1.0, "business": 0.0, "tech": 0.0}
    with pytest.raises(ConversionError) as err:
        list(read_textcat(FIXTURES / "labels_last_noheader.csv", labels=["sports"]))
    assert err.value.line == 1 and "not in the label set" in str(err.value)
