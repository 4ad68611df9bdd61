"""Exact piece↔token alignment (spaCy#13730, spacy-transformers PR#425)."""


import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy_transformers.align import get_alignment_via_offset_mapping
from spacy_transformers.layers.transformer_model import huggingface_tokenize
from transformers import AutoTokenizer

from spacy_albert.models.alignment import get_exact_alignment, trim_leading_whitespace

TEXTS_EN = [
    "The quick brown fox jumps over the lazy dog.",
    "Nordwind's CEO didn't say   much about   unbelievably-hyphenated stuff!",
    "Emoji 👨‍👩‍👧‍👦 families, flags 🇫🇷 and skin tones 👍🏽 in one go.",
    "Zero\u200bwidth joiners\u200d and combining e\u0301 marks.",
    "Mixed 中文 and English 2024年 iPhone15.",
]
TEXTS_ZH = ["华星科技在杭州发布了iPhone 15的竞品，用户非常满意😀。", "东海银行 的服务太差了！！"]


def covered_tokens(doc: Doc, start: int, end: int) -> set[int]:
    """Reference: tokens sharing a non-whitespace character with [start, end)."""
    chars = {i for i in range(start, end) if not doc.text[i].isspace()}
    return {t.i for t in doc if chars & set(range(t.idx, t.idx + len(t)))}


def alignment_lists(align, n_tokens: int) -> list[list[int]]:
    out, pos = [], 0
    for length in align.lengths.tolist():
        out.append(align.dataXd[pos : pos + length].tolist())
        pos += length
    assert len(out) == n_tokens
    return out


def check_exact(tokenizer, docs: list[Doc], windows=None) -> None:
    spans = [doc[:] for doc in docs] if windows is None else windows
    encoding = huggingface_tokenize(tokenizer, [span.text for span in spans])
    align = get_exact_alignment(spans, encoding["offset_mapping"])
    per_token = alignment_lists(align, sum(len(doc) for doc in docs))
    row_len = encoding["offset_mapping"].shape[1]
    # Invert: which tokens each flat piece index is aligned to.
    piece_to_tokens: dict = {}
    offsets_by_doc = {}
    base = 0
    for doc in docs:
        offsets_by_doc[id(doc)] = base
        base += len(doc)
    for position, pieces in enumerate(per_token):
        for piece in pieces:
            piece_to_tokens.setdefault(piece, set()).add(position)
    for row, span in enumerate(spans):
        doc_base = offsets_by_doc[id(span.doc)]
        for j, (start, end) in enumerate(encoding["offset_mapping"][row].tolist()):
            expected = {
                doc_base + i
                for i in covered_tokens(span.doc, span.start_char + start, span.start_char + end)
                if span.start <= i < span.end
            } if end > start else set()
            assert piece_to_tokens.get(row * row_len + j, set()) == expected, (
                span.text, j, encoding["input_texts"][row][j], (start, end)
            )


@pytest.fixture(scope="module")
def en_tokenizer(en_model_dir):
    return AutoTokenizer.from_pretrained(str(en_model_dir))


@pytest.fixture(scope="module")
def zh_tokenizer(zh_model_dir):
    return AutoTokenizer.from_pretrained(str(zh_model_dir))


def test_trim_leading_whitespace_moves_start_past_spaces():
    offsets = numpy.array([[0, 3], [3, 7], [7, 8], [8, 8]])
    trimmed = trim_leading_whitespace("abc  de\u3000", offsets)
    assert trimmed.tolist() == [[0, 3], [5, 7], [8, 8], [8, 8]]


@pytest.mark.parametrize("text", TEXTS_EN)
def test_english_pieces_align_only_to_covered_tokens(en_tokenizer, text):
    nlp = spacy.blank("en")
    check_exact(en_tokenizer, [nlp(text)])


@pytest.mark.parametrize("text", TEXTS_ZH)
def test_chinese_chars_align_one_to_one(zh_tokenizer, text):
    nlp = spacy.blank("zh")
    doc = nlp(text)
    check_exact(zh_tokenizer, [doc])
    encoding = huggingface_tokenize(zh_tokenizer, [doc.text])
    align = get_exact_alignment([doc[:]], encoding["offset_mapping"])
    cjk = [t.i for t in doc if "\u4e00" <= t.text <= "\u9fff"]
    lengths = align.lengths.tolist()
    assert cjk and all(lengths[i] == 1 for i in cjk)


def test_upstream_gives_space_prefixed_piece_to_previous_token(en_tokenizer):
    """The bug we fix: upstream aligns '▁said' to 'company' as well as to 'said'."""
    doc = spacy.blank("en")("company said")
    encoding = huggingface_tokenize(en_tokenizer, [doc.text])
    upstream = alignment_lists(
        get_alignment_via_offset_mapping([doc[:]], encoding["offset_mapping"]), 2
    )
    ours = alignment_lists(get_exact_alignment([doc[:]], encoding["offset_mapping"]), 2)
    assert set(upstream[0]) & set(upstream[1]), "upstream no longer shares a piece"
    assert not set(ours[0]) & set(ours[1])
    assert ours[0] and ours[1]


def test_tokens_split_mid_word_share_the_covering_piece(en_tokenizer):
    """spaCy splits "didn't" into "did" + "n't"; a piece spanning both goes to both."""
    doc = spacy.blank("en")("didn't")
    assert [t.text for t in doc] == ["did", "n't"]
    check_exact(en_tokenizer, [doc])


def test_overlapping_windows_and_several_docs(en_tokenizer):
    nlp = spacy.blank("en")
    docs = [nlp(TEXTS_EN[0]), nlp(TEXTS_EN[1])]
    windows = [docs[0][0:6], docs[0][4:10], docs[1][0:8], docs[1][5:]]
    check_exact(en_tokenizer, docs, windows)
    encoding = huggingface_tokenize(en_tokenizer, [span.text for span in windows])
    align = get_exact_alignment(windows, encoding["offset_mapping"])
    lengths = align.lengths.tolist()
    # Token 4 of doc 0 is in two windows, so it gets pieces from both rows.
    row_len = encoding["offset_mapping"].shape[1]
    pieces = alignment_lists(align, len(docs[0]) + len(docs[1]))[4]
    assert {p // row_len for p in pieces} == {0, 1}
    assert lengths[len(docs[0]) + 0] >= 1


def test_whitespace_only_and_empty_spans(en_tokenizer):
    nlp = spacy.blank("en")
    docs = [nlp("   "), nlp("\n\t"), nlp("ok")]
    spans = [doc[:] for doc in docs]
    encoding = huggingface_tokenize(en_tokenizer, [span.text for span in spans])
    align = get_exact_alignment(spans, encoding["offset_mapping"])
    assert align.lengths.tolist()[:-1] == [0] * (len(docs[0]) + len(docs[1]))
    assert align.lengths.tolist()[-1] >= 1


def test_mismatched_batch_sizes_raise():
    doc = spacy.blank("en")("a b")
    with pytest.raises(ValueError, match="Cannot align 1 spans against 2"):
        get_exact_alignment([doc[:]], [numpy.zeros((2, 2)), numpy.zeros((2, 2))])
