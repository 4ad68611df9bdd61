"""Chinese char-level NER -> Docs: Weibo position digits, exact char tokens, bad bytes."""

from pathlib import Path

import pytest

from spacy_albert.cli import app
from spacy_albert.convert import (
    ConversionError,
    ConversionStats,
    read_char_bio,
    strip_position_digits,
    write_docbin,
)
from spacy_albert.convert.errors import blank_nlp

from .util import FIXTURES, flat, load, runner

CHARS = [["科", "技", "公", "司", "2", "0", "年"], ["张", "三", "好"]]
ENTS = [[("科技公司", "ORG.NOM")], [("张三", "PER.NAM")]]


@pytest.mark.parametrize(
    "token,char",
    [
        ("科0", "科"),
        ("技1", "技"),
        ("20", "2"),
        ("011", "0"),
        ("年12", "年"),
        ("2", "2"),
        ("科", "科"),
    ],
)
def test_strip_position_digits(token: str, char: str) -> None:
    assert strip_position_digits(token) == char


def test_weibo_position_digits_give_exact_char_tokens() -> None:
    stats = ConversionStats()
    docs = list(
        read_char_bio(FIXTURES / "weibo_positions.conll", strip_position_digits=True, stats=stats)
    )
    assert [[t.text for t in doc] for doc in docs] == CHARS
    assert [doc.text for doc in docs] == ["科技公司20年", "张三好"]
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == ENTS
    assert all(doc.lang_ == "zh" for doc in docs)
    assert all(not t.whitespace_ for doc in docs for t in doc)
    assert stats.n_sents == 2
    # spaCy's zh char segmenter, used at training and inference, gives the same tokens.
    nlp = blank_nlp("zh")
    assert [[t.text for t in nlp.make_doc(doc.text)] for doc in docs] == CHARS


def test_bare_chars_give_the_same_docs() -> None:
    bare = list(read_char_bio(FIXTURES / "weibo_bare.conll"))
    stripped = list(read_char_bio(FIXTURES / "weibo_positions.conll", strip_position_digits=True))
    assert [[t.text for t in d] for d in bare] == [[t.text for t in d] for d in stripped]
    assert [[t.ent_iob_ for t in d] for d in bare] == [[t.ent_iob_ for t in d] for d in stripped]
    assert [t.ent_iob_ for t in bare[0]] == ["B", "I", "I", "I", "O", "O", "O"]


def test_without_strip_the_position_digits_stay() -> None:
    docs = list(read_char_bio(FIXTURES / "weibo_positions.conll"))
    assert [t.text for t in docs[0]][:5] == ["科0", "技1", "公0", "司1", "20"]


def test_strip_on_a_bare_file_is_an_error() -> None:
    with pytest.raises(ConversionError) as err:
        list(read_char_bio(FIXTURES / "weibo_bare.conll", strip_position_digits=True))
    assert err.value.line == 1
    assert "no position digits" in str(err.value)


def test_bmes_chars() -> None:
    docs = list(read_char_bio(FIXTURES / "resume_bmes.txt", scheme="bmes"))
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [
        [("高勇", "NAME"), ("中国国籍", "CONT"), ("硕", "EDU")],
        [("王", "NAME"), ("北京大学", "ORG")],
    ]
    assert docs[1].text == "王在北京大学"


def test_cli_writes_docs_without_cats(tmp_path: Path) -> None:
    out = tmp_path / "weibo.spacy"
    args = ["convert", "char-bio", str(FIXTURES / "weibo_positions.conll"), str(out)]
    result = runner.invoke(app, [*args, "--strip-position-digits"])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 docs (10 tokens)" in flat(result.output)
    docs = load(out, "zh")
    assert [[t.text for t in doc] for doc in docs] == CHARS
    assert [doc.cats for doc in docs] == [{}, {}]
    assert all(t.ent_iob_ in ("B", "I", "O") for doc in docs for t in doc)


# The original Weibo files store emoji as CESU-8 surrogates: invalid UTF-8.
CESU8 = "科\tO\n技\tO\n\n好\tO\n".encode() + b"\xed\xa0\xbd\tO\n" + "天\tO\n".encode()


def test_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "weibo.conll"
    src.write_bytes(CESU8)
    with pytest.raises(ConversionError) as err:
        list(read_char_bio(src))
    assert err.value.path == str(src) and err.value.line == 5
    assert "0xED 0xA0 0xBD" in str(err.value)
    out = tmp_path / "out.spacy"
    result = runner.invoke(app, ["convert", "char-bio", str(src), str(out)])
    assert result.exit_code == 1
    text = flat(result.output)
    assert f"{src}:5:" in text
    assert "--encoding-errors replace" in text and "--encoding latin-1" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weibo.conll"]


def test_invalid_utf8_with_replace(tmp_path: Path) -> None:
    src = tmp_path / "weibo.conll"
    src.write_bytes(CESU8)
    out = tmp_path / "out.spacy"
    result = runner.invoke(
        app, ["convert", "char-bio", str(src), str(out), "--encoding-errors", "replace"]
    )
    assert result.exit_code == 0, result.output
    docs = load(out, "zh")
    assert [[t.text for t in doc] for doc in docs] == [["科", "技"], ["好", "\ufffd" * 3, "天"]]


def test_surrogateescape_is_reported_at_its_line(tmp_path: Path) -> None:
    src = tmp_path / "weibo.conll"
    src.write_bytes(CESU8)
    with pytest.raises(ConversionError) as err:
        list(read_char_bio(src, encoding_errors="surrogateescape"))
    assert err.value.line == 5
    assert "lone surrogates (0xED 0xA0 0xBD" in str(err.value)


def test_missing_trailing_newline_and_crlf(tmp_path: Path) -> None:
    src = tmp_path / "crlf.conll"
    src.write_bytes("北\tB-GPE\r\n京\tI-GPE\r\n\r\n好\tO".encode())
    docs = list(read_char_bio(src))
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [[("北京", "GPE")], []]
    assert docs[1].text == "好"


def test_write_docbin_leaves_nothing_when_the_reader_fails_midway(tmp_path: Path) -> None:
    src = tmp_path / "bad.conll"
    src.write_text("北\tB-GPE\n京\tI-GPE\n\n好\tE-GPE\n", encoding="utf-8")
    out = tmp_path / "sub" / "out.spacy"
    with pytest.raises(ConversionError) as err:
        write_docbin(read_char_bio(src, strict=True), out)
    assert err.value.line == 4
    # The docs are consumed before anything is written: not even the directory is made.
    assert not (tmp_path / "sub").exists()


def test_malformed_bmes_repaired_by_default_refused_with_strict(tmp_path: Path) -> None:
    src = FIXTURES / "resume_malformed.bmes"
    stats = ConversionStats()
    docs = list(read_char_bio(src, stats=stats))
    assert [doc.text for doc in docs] == ["高勇在北京", "大学毕业", "硕士中国籍"]
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [
        [("高勇", "NAME"), ("北京", "ORG")],
        [("大学", "ORG")],
        [("硕", "EDU"), ("中", "CONT"), ("国籍", "LOC")],
    ]
    assert [r.line for r in stats.repairs] == [7, 12, 15]
    out = tmp_path / "resume.spacy"
    result = runner.invoke(app, ["convert", "char-bio", str(src), str(out)])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Repaired 3 malformed tag sequence(s)" in text and f"{src}:12:" in text
    assert "Sentences: 3 read, 3 in the docs written" in text
    assert "Entities: 6 written; 3 begun by the file's tags" in text
    out.unlink()
    result = runner.invoke(app, ["convert", "char-bio", str(src), str(out), "--strict"])
    assert result.exit_code == 1
    assert f"{src}:7: 'M-ORG' does not continue an entity" in flat(result.output)
    assert not out.exists()
