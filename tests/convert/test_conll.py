"""CoNLL column NER -> Docs: doc separators, tag schemes, columns, bad input, atomic output."""

from pathlib import Path

import pytest
from spacy.tokens import Doc

from spacy_albert.cli import app
from spacy_albert.convert import (
    ConversionError,
    ConversionStats,
    read_conll,
    write_docbin,
)

from .util import FIXTURES, flat, load, runner


def ents(doc: Doc) -> list:
    return [(ent.text, ent.label_) for ent in doc.ents]


@pytest.mark.parametrize("name", ["conll_docstart_xx.txt", "conll_docstart_xo.txt"])
def test_docstart_lines_separate_documents_and_never_become_docs(name: str) -> None:
    stats = ConversionStats()
    docs = list(read_conll(FIXTURES / name, stats=stats))
    assert [[t.text for t in doc] for doc in docs] == [
        ["EU", "rejects", "German", "call", "."],
        ["Peter", "Blackburn"],
        ["BRUSSELS", "1996-08-22"],
    ]
    assert stats.skipped_separators == 2
    assert stats.n_sents == 3
    assert ents(docs[0]) == [("EU", "ORG"), ("German", "MISC")]
    assert ents(docs[1]) == [("Peter Blackburn", "PER")]
    assert ents(docs[2]) == [("BRUSSELS", "LOC")]
    assert not any("DOCSTART" in doc.text for doc in docs)


def test_both_docstart_forms_give_the_same_docs() -> None:
    a = list(read_conll(FIXTURES / "conll_docstart_xx.txt"))
    b = list(read_conll(FIXTURES / "conll_docstart_xo.txt"))
    assert [(d.text, ents(d)) for d in a] == [(d.text, ents(d)) for d in b]


def test_n_sents_groups_sentences_but_not_across_docstart() -> None:
    stats = ConversionStats()
    docs = list(read_conll(FIXTURES / "conll_docstart_xx.txt", n_sents=10, stats=stats))
    # Document 1 has two sentences, document 2 one: never merged across -DOCSTART-.
    assert [len(doc) for doc in docs] == [7, 2]
    assert [s.text for s in docs[0].sents] == ["EU rejects German call .", "Peter Blackburn"]
    assert ents(docs[0]) == [("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER")]
    assert stats.n_sents == 3


def test_iob1_and_iob2_give_identical_spans() -> None:
    iob1 = list(read_conll(FIXTURES / "iob1.txt"))
    iob2 = list(read_conll(FIXTURES / "iob2.txt", scheme="iob2"))
    expected = [
        ("European Commission", "ORG"),
        ("Peter Blackburn", "PER"),
        ("Anna Smith", "PER"),
        ("John", "PER"),
        ("Bonn", "LOC"),
    ]
    assert len(iob1) == len(iob2) == 1
    assert ents(iob1[0]) == expected
    assert ents(iob2[0]) == expected
    assert [(e.start, e.end) for e in iob1[0].ents] == [(e.start, e.end) for e in iob2[0].ents]
    # The explicit IOB1 scheme agrees with auto.
    assert ents(next(read_conll(FIXTURES / "iob1.txt", scheme="iob1"))) == expected


def test_wnut_whitespace_only_lines_are_sentence_breaks() -> None:
    docs = list(read_conll(FIXTURES / "wnut.tsv"))
    assert [[t.text for t in doc] for doc in docs] == [
        ["RT", "@user", ":", "new", "York", "City"],
        ["is", "great"],
        ["Barack", "Obama"],
    ]
    assert ents(docs[0]) == [("York City", "location")]
    assert ents(docs[2]) == [("Barack Obama", "person")]


@pytest.mark.parametrize(
    "name,scheme", [("resume_bioes.txt", "bioes"), ("resume_bmes.txt", "bmes")]
)
def test_bioes_and_bmes(name: str, scheme: str) -> None:
    for used in ("auto", scheme):
        docs = list(read_conll(FIXTURES / name, scheme=used, lang="zh"))
        joined = [[("".join(t.text for t in e), e.label_) for e in doc.ents] for doc in docs]
        assert joined == [
            [("高勇", "NAME"), ("中国国籍", "CONT"), ("硕", "EDU")],
            [("王", "NAME"), ("北京大学", "ORG")],
        ]


def test_word_and_tag_columns() -> None:
    docs = list(read_conll(FIXTURES / "swapped_cols.txt", word_col=1, tag_col=0))
    assert [t.text for t in docs[0]] == ["Angela", "Merkel", "visited", "Paris", "."]
    assert ents(docs[0]) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    # Negative indices count from the end: -2 is the word column of a 3-column file.
    again = list(read_conll(FIXTURES / "swapped_cols.txt", word_col=-2, tag_col=0))
    assert ents(again[0]) == ents(docs[0])


def test_word_and_tag_columns_cli(tmp_path: Path) -> None:
    out = tmp_path / "out.spacy"
    args = ["convert", "conll", str(FIXTURES / "swapped_cols.txt"), str(out)]
    result = runner.invoke(app, [*args, "--word-col", "1", "--tag-col", "0"])
    assert result.exit_code == 0, result.output
    (doc,) = load(out)
    assert ents(doc) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    # The default tag column (-1) is the POS column here: its tags are no NER tags.
    result = runner.invoke(app, [*args, "--word-col", "1"])
    assert result.exit_code == 1
    assert f"{FIXTURES / 'swapped_cols.txt'}:1:" in flat(result.output)
    assert "unknown NER tag 'NNP'" in flat(result.output)


def test_every_token_annotated_and_no_cats_after_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "train.spacy"
    stats = write_docbin(read_conll(FIXTURES / "conll_docstart_xx.txt"), out)
    assert stats.n_docs == 3 and stats.n_tokens == 9
    assert dict(stats.ents) == {"ORG": 1, "MISC": 1, "PER": 1, "LOC": 1}
    docs = load(out)
    assert len(docs) == 3
    for doc in docs:
        assert doc.cats == {}
        assert all(token.ent_iob_ in ("B", "I", "O") for token in doc)
    assert [t.ent_iob_ for t in docs[0]] == ["B", "O", "B", "O", "O"]
    assert ents(docs[1]) == [("Peter Blackburn", "PER")]


def test_cli_report(tmp_path: Path) -> None:
    out = tmp_path / "train.spacy"
    result = runner.invoke(
        app, ["convert", "conll", str(FIXTURES / "conll_docstart_xo.txt"), str(out)]
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Wrote 3 docs (9 tokens)" in text
    assert "Skipped document separators (-DOCSTART-): 2" in text
    assert len(load(out)) == 3


def test_output_into_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", "conll", str(FIXTURES / "iob2.txt"), str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(load(tmp_path / "iob2.spacy")) == 1


# Bad input: file content, CLI options (and the same as read_conll kwargs), the line the
# error must name, and words the error must contain.
BAD_INPUTS = {
    "wrong-column-count": ("EU NNP B-ORG\nrejects VBZ\n", {}, 2, "expected 3 columns"),
    "unknown-prefix": ("EU X-ORG\nrejects O\n", {}, 1, "unknown NER tag 'X-ORG'"),
    "i-in-bmes": ("中 B-LOC\n国 I-LOC\n", {"scheme": "bmes"}, 2, "does not use"),
    "lowercase-tag": ("EU b-org\n", {}, 1, "unknown NER tag 'b-org'"),
    "column-out-of-range": ("EU B-ORG\n", {"word_col": 3}, 1, "--word-col 3 is out of range"),
    "same-column": ("EU B-ORG\n", {"word_col": 1}, 1, "name the same column"),
    "invalid-utf8": (b"ok O\n\xed\xa0\xbd O\n", {}, 2, "--encoding-errors replace"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_with_file_and_line_and_leaves_no_output(tmp_path: Path, case: str) -> None:
    content, kwargs, line, words = BAD_INPUTS[case]
    src = tmp_path / "in.conll"
    src.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "bad.spacy"
    options = [x for k, v in kwargs.items() for x in ("--" + k.replace("_", "-"), str(v))]
    result = runner.invoke(app, ["convert", "conll", str(src), str(out), *options])
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert f"{src}:{line}:" in text
    assert words in text
    assert list(out_dir.iterdir()) == []  # neither the output nor a temp file
    with pytest.raises(ConversionError) as err:
        list(read_conll(src, **kwargs))
    assert err.value.line == line
    assert err.value.path == str(src)


def test_failed_conversion_keeps_an_existing_output_untouched(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_text("EU B-ORG\nrejects O\n\nBonn E-LOC\n", encoding="utf-8")
    out = tmp_path / "out.spacy"
    out.write_bytes(b"previous")
    result = runner.invoke(app, ["convert", "conll", str(src), str(out), "--strict"])
    assert result.exit_code == 1
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "out.spacy"]


def test_file_of_only_separators_is_an_error_not_an_empty_docbin(tmp_path: Path) -> None:
    src = tmp_path / "empty.txt"
    src.write_text("-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- O O\n\n", encoding="utf-8")
    stats = ConversionStats()
    assert list(read_conll(src, stats=stats)) == []
    assert stats.skipped_separators == 2
    result = runner.invoke(app, ["convert", "conll", str(src), str(tmp_path / "o.spacy")])
    assert result.exit_code == 1
    assert "no documents" in flat(result.output)
    assert not (tmp_path / "o.spacy").exists()


# Malformed tag sequences: content, options, the line of the (first) repair, the words the
# --strict refusal names, and the entities the default repair gives.
MALFORMED_INPUTS = {
    "e-without-b": (
        "the O\nEU E-ORG\n",
        {},
        2,
        "ends an entity that was never begun",
        [("EU", "ORG")],
    ),
    "m-without-b": ("中 O\n国 M-LOC\n", {}, 2, "does not continue an entity", [("国", "LOC")]),
    "m-after-other-type": (
        "中 B-PER\n国 M-LOC\n",
        {},
        2,
        "does not continue an entity",
        [("中", "PER"), ("国", "LOC")],
    ),
    "i-after-o-iob2": (
        "the O\nEU I-ORG\n",
        {"scheme": "iob2"},
        2,
        "must start with B-",
        [("EU", "ORG")],
    ),
    "unclosed-bioes": (
        "EU B-ORG\nx O\n",
        {"scheme": "bioes"},
        2,
        "not closed by E-ORG",
        [("EU", "ORG")],
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_INPUTS))
def test_malformed_tags_repaired_by_default_refused_with_strict(tmp_path: Path, case: str) -> None:
    content, kwargs, line, words, expected_ents = MALFORMED_INPUTS[case]
    src = tmp_path / "in.conll"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out.spacy"
    options = [x for k, v in kwargs.items() for x in ("--" + k.replace("_", "-"), str(v))]
    args = ["convert", "conll", str(src), str(out), *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Repaired 1 malformed tag sequence(s)" in text
    assert f"{src}:{line}:" in text
    assert [ents(doc) for doc in load(out)] == [expected_ents]
    out.unlink()
    result = runner.invoke(app, [*args, "--strict"])
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert f"{src}:{line}:" in text and words in text
    assert not out.exists()
    with pytest.raises(ConversionError) as err:
        list(read_conll(src, strict=True, **kwargs))
    assert (err.value.path, err.value.line) == (str(src), line)


RESUME_MALFORMED = FIXTURES / "resume_malformed.bmes"
# The entity 北京大学 runs across the sentence break after line 5 (as in Resume NER's
# train.char.bmes), 硕 has a lone E-EDU, and 国籍 is M-LOC/E-LOC after B-CONT.
RESUME_MALFORMED_ENTS = [
    [("高勇", "NAME"), ("北京", "ORG")],
    [("大学", "ORG")],
    [("硕", "EDU"), ("中", "CONT"), ("国籍", "LOC")],
]


def test_resume_style_bmes_converts_with_a_repair_report(tmp_path: Path) -> None:
    stats = ConversionStats()
    docs = list(read_conll(RESUME_MALFORMED, lang="zh", stats=stats))
    assert [[("".join(t.text for t in e), e.label_) for e in d.ents] for d in docs] == (
        RESUME_MALFORMED_ENTS
    )
    assert [(r.line, r.kind) for r in stats.repairs] == [
        (7, "continuation"),
        (12, "continuation"),
        (15, "continuation"),
    ]
    assert (
        "'M-ORG' does not continue an entity of type 'ORG' (previous tag: the start of the "
        "sentence): started a new ORG entity here" == stats.repairs[0].message
    )
    out = tmp_path / "resume.spacy"
    result = runner.invoke(
        app, ["convert", "conll", str(RESUME_MALFORMED), str(out), "--lang", "zh"]
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Wrote 3 docs (14 tokens)" in text
    assert "Repaired 3 malformed tag sequence(s) (--strict refuses them)" in text
    for line in (7, 12, 15):
        assert f"{RESUME_MALFORMED}:{line}:" in text
    # Counts to check against the file: 3 blank-line separated sentences, 3 entities begun
    # by B-/S- tags (grep -c ' [BS]-' gives 3), 3 begun by the repairs listed.
    assert "Sentences: 3 read, 3 in the docs written" in text
    assert "Entities: 6 written; 3 begun by the file's tags" in text
    assert "3 by a repair" in text
    assert sum(len(doc.ents) for doc in load(out, "zh")) == 6


def test_named_scheme_also_repairs_unclosed_entities() -> None:
    stats = ConversionStats()
    docs = list(read_conll(RESUME_MALFORMED, scheme="bmes", lang="zh", stats=stats))
    assert [[("".join(t.text for t in e), e.label_) for e in d.ents] for d in docs] == (
        RESUME_MALFORMED_ENTS
    )
    assert [(r.line, r.kind) for r in stats.repairs] == [
        (5, "unclosed"),
        (7, "continuation"),
        (12, "continuation"),
        (15, "continuation"),
        (15, "unclosed"),
    ]
    assert stats.n_ents_repaired == 3
    assert (
        "'B-ORG' (line 4) is not closed by E-ORG before the end of the sentence: the "
        "entity ends at line 5" == stats.repairs[0].message
    )


def test_strict_refuses_the_resume_style_file_at_the_first_malformed_line(tmp_path: Path) -> None:
    out = tmp_path / "resume.spacy"
    args = ["convert", "conll", str(RESUME_MALFORMED), str(out), "--lang", "zh", "--strict"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    text = flat(result.output)
    assert f"{RESUME_MALFORMED}:7: 'M-ORG' does not continue an entity" in text
    assert not out.exists()
    result = runner.invoke(app, [*args, "--scheme", "bmes"])
    assert result.exit_code == 1
    assert f"{RESUME_MALFORMED}:5: 'B-ORG' (line 4) is not closed by E-ORG" in flat(result.output)


def test_bioes_repairs() -> None:
    stats = ConversionStats()
    docs = list(read_conll(FIXTURES / "malformed.bioes", scheme="bioes", stats=stats))
    assert [ents(doc) for doc in docs] == [
        [("John Smith", "PER"), ("New York", "LOC")],
        [("City", "LOC")],
    ]
    assert [(r.line, r.kind) for r in stats.repairs] == [(5, "unclosed"), (7, "continuation")]
    with pytest.raises(ConversionError) as err:
        list(read_conll(FIXTURES / "malformed.bioes", scheme="bioes", strict=True))
    assert err.value.line == 5 and "not closed by E-LOC" in str(err.value)


def test_repair_list_is_capped_but_the_total_is_printed(tmp_path: Path) -> None:
    src = tmp_path / "many.bmes"
    src.write_text("".join(f"w{i} O\nx{i} M-ORG\n\n" for i in range(25)), encoding="utf-8")
    result = runner.invoke(app, ["convert", "conll", str(src), str(tmp_path / "o.spacy")])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Repaired 25 malformed tag sequence(s)" in text
    assert f"{src}:59:" in text and f"{src}:62:" not in text  # the 20th is listed, the 21st not
    assert "... and 5 more" in text
    assert "Entities: 25 written; 0 begun by the file's tags" in text
