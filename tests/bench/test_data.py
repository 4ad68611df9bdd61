"""The benchmark's data helpers, on small CoNLL and SST-2 files written by the tests."""

from pathlib import Path

import pytest
import spacy

from bench.data import (
    conll_sentences,
    count_words,
    epoch_batches,
    interleave,
    iob_tags,
    long_docs,
    read_conll_documents,
    read_sst,
    sample,
    short_texts,
    spacy_examples,
)

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O

The DT B-NP O
European NNP I-NP B-ORG
Commission NNP I-NP I-ORG
said VBD B-VP O
Peter NNP B-NP B-PER
Paul NNP I-NP B-PER
"""


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    (tmp_path / "conll2003").mkdir()
    for split in ("train", "test"):
        (tmp_path / "conll2003" / f"{split}.txt").write_text(CONLL, encoding="utf-8")
    sst = tmp_path / "sst2" / "stsa_sentence_level"
    sst.mkdir(parents=True)
    (sst / "stsa.binary.train").write_text("1 a gripping film .\n\n0 dull , lifeless .\n",
                                           encoding="utf-8")
    return tmp_path


def test_documents_split_at_docstart_with_iob2_tags(data: Path) -> None:
    documents = read_conll_documents(data / "conll2003" / "train.txt")
    assert [[s.words for s in doc] for doc in documents] == [
        [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]],
        [["BRUSSELS", "1996-08-22"], ["The", "European", "Commission", "said", "Peter", "Paul"]],
    ]
    assert [s.tags for s in documents[1]] == [
        ["B-LOC", "O"], ["O", "B-ORG", "I-ORG", "O", "B-PER", "B-PER"]]
    sentences = conll_sentences(data, "train")
    assert [s.words for s in sentences] == [s.words for doc in documents for s in doc]


def test_iob_tags_of_predicted_and_missing_annotation() -> None:
    nlp = spacy.blank("en")
    doc = nlp.make_doc("Peter Paul flew to Paris")
    assert iob_tags(doc) == ["O"] * 5  # no annotation at all counts as "O"
    doc.ents = [doc.char_span(0, 5, "PER"), doc.char_span(6, 10, "PER"),
                doc.char_span(19, 24, "LOC")]
    assert iob_tags(doc) == ["B-PER", "B-PER", "O", "O", "B-LOC"]


def test_count_words() -> None:
    assert count_words([]) == 0
    assert count_words(["EU rejects  German call .", " Peter\tBlackburn\n", ""]) == 7


def test_short_texts_join_sentences_to_22_words(data: Path) -> None:
    texts = short_texts(data, 2)
    # 15 words in the file: no text reaches 22 words, so none is made.
    assert texts == []
    (data / "conll2003" / "test.txt").write_text(CONLL * 3, encoding="utf-8")
    texts = short_texts(data, 1)
    assert len(texts) == 1
    assert count_words(texts) >= 22
    assert texts[0].startswith("EU rejects German call . Peter Blackburn BRUSSELS")


def test_long_docs_join_documents_and_cap_the_length(data: Path) -> None:
    assert long_docs(data, 1, words=10) == [
        "EU rejects German call . Peter Blackburn BRUSSELS 1996-08-22 The European Commission "
        "said Peter Paul"]
    (data / "conll2003" / "test.txt").write_text(CONLL * 10, encoding="utf-8")
    docs = long_docs(data, 2, words=40)
    assert len(docs) == 2
    assert all(40 <= count_words([doc]) <= 90 for doc in docs)


def test_read_sst(data: Path) -> None:
    assert read_sst(data, "train") == [("a gripping film .", 1), ("dull , lifeless .", 0)]
    path = data / "sst2" / "stsa_sentence_level" / "stsa.binary.dev"
    path.write_text("1 fine .\npositive great\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"stsa.binary.dev:2: expected"):
        read_sst(data, "dev")


def test_sample_is_seeded_and_keeps_small_inputs() -> None:
    rows = list(range(100))
    assert sample(rows, 10, seed=3) == sample(rows, 10, seed=3)
    assert sample(rows, 10, seed=3) != sample(rows, 10, seed=4)
    assert sample(rows, 0) == rows
    assert sample(rows, 500) == rows


def test_epoch_batches_are_seeded_shuffled_passes() -> None:
    batches = epoch_batches(10, 4, seed=0)
    first_pass = [next(batches) for _ in range(3)]
    assert [len(b) for b in first_pass] == [4, 4, 2]
    assert sorted(i for b in first_pass for i in b) == list(range(10))
    second_pass = [next(batches) for _ in range(3)]
    assert sorted(i for b in second_pass for i in b) == list(range(10))
    assert second_pass != first_pass
    again = epoch_batches(10, 4, seed=0)
    assert [next(again) for _ in range(6)] == first_pass + second_pass


def test_interleave_and_spacy_examples(data: Path) -> None:
    conll = conll_sentences(data, "train")
    sst = read_sst(data, "train")
    steps = interleave(conll, sst, batch=2, steps=3, seed=0)
    assert [(len(c), len(s)) for c, s in steps] == [(2, 2)] * 3
    nlp = spacy.blank("en")
    examples = spacy_examples(nlp, steps[0][0], steps[0][1])
    for example, sentence in zip(examples, steps[0][0]):
        assert [t.text for t in example.reference] == sentence.words
        assert iob_tags(example.reference) == sentence.tags
        assert example.reference.cats == {}
    for example, (text, label) in zip(examples[2:], steps[0][1]):
        assert example.reference.text == text
        assert example.reference.cats == {"POSITIVE": float(label), "NEGATIVE": 1.0 - label}
        assert not example.reference.has_annotation("ENT_IOB")
