"""Bad input never crashes the joint pipeline, and every doc keeps its invariants.

Each case checks: a Doc comes back with the input text, entities lie on token
boundaries, exclusive cats sum to 1, the transformer's wordpiece rows fit the 512
position table, and the alignment covers every token.
"""

import copy
import json
import pickle
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy
import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import get_words_and_spaces
from spacy_transformers.data_classes import WordpieceBatch
from spacy_transformers.layers.transformer_model import huggingface_tokenize

from spacy_albert.annotate.records import annotate_text, validate_text
from spacy_albert.models import encoder as encoder_module
from spacy_albert.models.memory import release_freed_heap
from spacy_albert.models.tokenization import (
    encodable,
    tokenize_batch,
    tokenize_in_chunks,
    without_uniform_token_types,
)
from spacy_albert.pipeline.tokenizer import (
    LinearCharChineseTokenizer,
    LoneSurrogateWarning,
    SurrogateSafeTokenizer,
    char_words_and_spaces,
)

ROOT = Path(__file__).resolve().parent.parent
MAX_PIECES = 512
GIB = 1 << 30

BAD_TEXTS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "whitespace": "   \u00a0\u2003\u3000  ",
    "newlines_tabs": "\n\t\r\n\t\t\n\x0b\x0c",
    "control_chars": "".join(chr(c) for c in range(0x20)) + "\x7f",
    "control_in_text": "Alice\x00 met\x07 Bob\x1b[31m in\x7f Paris.\x1f",
    "zero_width": "Zero\u200bwidth\u200c non\u200djoiners \ufeffBOM \u2060joiner \u200e\u200f",
    "zero_width_only": "\u200b\u200c\u200d\ufeff\u2060",
    "emoji": "👨‍👩‍👧‍👦 families, 🇫🇷🇯🇵🏴󠁧󠁢󠁳󠁣󠁴󠁿 flags, 👍🏽👋🏿 tones, 🏳️‍🌈 and 👩🏾‍💻!",
    "emoji_only": "👨‍👩‍👧‍👦🇫🇷👍🏽🏳️‍🌈",
    "combining": "Cafe\u0301 nai\u0308ve Z\u0336\u0321a\u0337\u0322l\u0338g\u0335o\u0334 text",
    "combining_only": "\u0301\u0302\u0303\u0308",
    "rtl": "مرحبا بالعالم! שלום עולם. Mixed العربية with English and עברית 123.",
    "bidi_controls": "\u202eabc\u202c \u2067שלום\u2069 \u061c",
    "mixed_cjk_latin_digits": "华星科技2024年在杭州发布iPhone15，售价5999元 and Apple rose 3.5%.",
    "fullwidth": "ＡＢＣ　ｄｅｆ　１２３！？　（テスト）ｈｔｔｐ：／／ｘ．ｙ",
    "long_word": "a" * 10_000,
    "long_word_mixed": ("x7中😀" * 2_500),
    "urls": (
        "See https://example.com/a/b?c=d&e=f#g, http://xn--n3h.com/☃, ftp://x.y/z.tar.gz, "
        "www.spacy.io and mailto:user@example.org or "
        "https://very.long.example.org/" + "path/" * 200
    ),
    "punctuation_run": "!?" * 3_000,
    "numbers": "3.14159 -42 1e10 0x1F 1,000,000 ½ ⅔ ² ٣ ৩",
}


@pytest.fixture(scope="module", params=["en", "zh"])
def nlp(request: pytest.FixtureRequest) -> Language:
    """The trained joint pipeline for each language."""
    return request.getfixturevalue(f"{request.param}_nlp")


def check_doc(nlp: Language, doc: Doc, text: str) -> None:
    """Assert the invariants every prediction must keep."""
    assert isinstance(doc, Doc)
    assert doc.text == text
    for ent in doc.ents:
        assert 0 <= ent.start < ent.end <= len(doc)
        assert ent.start_char == doc[ent.start].idx
        last = doc[ent.end - 1]
        assert ent.end_char == last.idx + len(last.text)
        span = doc.char_span(ent.start_char, ent.end_char)
        assert span is not None and (span.start, span.end) == (ent.start, ent.end)
        assert ent.label_
    labels = nlp.get_pipe("textcat").labels
    assert set(doc.cats) == set(labels)
    assert all(0.0 <= score <= 1.0 for score in doc.cats.values()), doc.cats
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4), doc.cats
    trf_data = doc._.trf_data
    input_ids = trf_data.wordpieces.input_ids
    if input_ids is not None and input_ids.size:
        assert input_ids.shape[1] <= MAX_PIECES
        assert trf_data.align.lengths.shape[0] == len(doc)


@pytest.mark.parametrize("case", sorted(BAD_TEXTS))
def test_bad_text_one_doc(nlp: Language, case: str) -> None:
    text = BAD_TEXTS[case]
    check_doc(nlp, nlp(text), text)


def test_bad_texts_in_one_batch(nlp: Language) -> None:
    """The same texts batched together (empty docs next to long ones)."""
    texts = list(BAD_TEXTS.values())
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=8)):
        check_doc(nlp, doc, text)


def test_cats_do_not_depend_on_the_batch(nlp: Language) -> None:
    """A doc without tokens gets the same cats alone as in a batch with others."""
    alone = nlp("").cats
    in_batch = next(iter(nlp.pipe(["", "Alice works for Nordvale Energy."]))).cats
    assert alone == pytest.approx(in_batch, abs=1e-6)


@pytest.mark.parametrize(
    "texts",
    [[" "], ["  ", "\n\n"], ["\t", "Alice met Bob in Paris.", "   "], ["\u200b", "x"]],
    ids=["space", "whitespace_batch", "mixed", "zero_width"],
)
def test_pooling_tokens_without_pieces(nlp: Language, texts: list[str]) -> None:
    """Tokens that get no wordpiece (whitespace, zero-width) pool without crashing
    (spaCy#11905) and the heads still see a finite vector."""
    for text, doc in zip(texts, nlp.pipe(texts)):
        check_doc(nlp, doc, text)
        if text.isspace():
            # The case of spaCy#11905: tokens aligned to no piece at all.
            assert int(doc._.trf_data.align.lengths.sum()) == 0


@pytest.mark.parametrize("value", [None, 42, 3.5, ["text"], {"text": "x"}])
def test_non_str_input_spacy_error(nlp: Language, value: Any) -> None:
    """spaCy's own error for non-text input is clear (E1041 names the type)."""
    with pytest.raises(ValueError, match="E1041"):
        nlp(value)


def test_bytes_input(nlp: Language) -> None:
    """spaCy reads bytes as a serialized Doc and fails with a msgpack error, which does
    not say what is wrong; the annotate API raises a TypeError that does."""
    with pytest.raises(ValueError):
        nlp(b"Alice met Bob.")
    with pytest.raises(TypeError, match="decode"):
        annotate_text(nlp, b"Alice met Bob.")
    for value in (None, 42, ["x"]):
        with pytest.raises(TypeError, match=type(value).__name__):
            validate_text(value)


def test_annotate_text_record(nlp: Language) -> None:
    record = annotate_text(nlp, "Alice met Bob in Paris.", id="a")
    assert record["id"] == "a"
    assert sum(record["cats"].values()) == pytest.approx(1.0, abs=1e-4)
    for ent in record["ents"]:
        assert record["text"][ent["start"] : ent["end"]] == ent["text"]
    json.dumps(record)


@given(text=st.text(max_size=300))
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_unicode(nlp: Language, text: str) -> None:
    check_doc(nlp, nlp(text), text)


@given(
    texts=st.lists(
        st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Z", "P", "S", "M"]),
                max_size=120),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_unicode_batches(nlp: Language, texts: list[str]) -> None:
    for text, doc in zip(texts, nlp.pipe(texts)):
        check_doc(nlp, doc, text)


def million_char_text(lang: str) -> str:
    """Exactly 1,000,000 characters of corpus text (spaCy's default nlp.max_length)."""
    lines = (ROOT / "corpus" / lang / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    sep = " " if lang == "en" else ""
    text = sep.join(json.loads(line)["text"] for line in lines) + sep
    return (text * (1_000_000 // len(text) + 1))[:1_000_000]


# Peak RSS of a fresh process (imports, loading and the doc) that annotates a 1M-character
# doc with the tiny joint pipeline, as installed without the `eval` extra: seqeval brings
# scikit-learn and SciPy, which transformers then imports (~180 MB) though nothing here
# uses them. The child reads its peak before importing the checks (pytest, hypothesis).
# Measured in a freshly installed venv (CI), where torch's shared libraries map ~80 MiB
# more pages than in a long-used one: en 0.68 GiB; zh 1,004-1,011 MiB (0.99 GiB), of
# which imports 467 MiB, the Doc 120 and `doc._.trf_data` ~370 (330 of hidden states
# for 10,413 overlapping windows). Before: zh 1.03-1.04 GiB, and 2.2 GiB before the
# heads read long docs in segments; en 1.33 GiB (4.5 GiB with stock spacy-transformers).
# See docs/guarantees.md.
PEAK_RSS_BOUND = 1.0 * GIB

MILLION_CHAR_CHILD = """
import json, sys, time
for absent in ("sklearn", "scipy"):  # as in an install without the eval extra
    sys.modules[absent] = None
import spacy
nlp = spacy.load(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as text_file:
    text = text_file.read()
start = time.perf_counter()
doc = nlp(text)
seconds = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child forked from a
# big pytest process would report the parent's size.
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
sys.path.insert(0, sys.argv[3])
from tests.test_robustness import check_doc
check_doc(nlp, doc, text)
print(json.dumps({"peak": peak, "seconds": seconds, "tokens": len(doc),
                  "row_pieces": int(doc._.trf_data.wordpieces.input_ids.shape[1])}))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_million_character_doc_peak_rss_in_a_fresh_process(
    nlp: Language, request: pytest.FixtureRequest, record_property: Callable, tmp_path: Path
) -> None:
    """A 1M-character doc: checked like any doc, rows fit the position table, and the
    whole process (imports included) stays under the bound."""
    lang = nlp.lang
    pipeline_dir = request.getfixturevalue(f"{lang}_pipeline_dir")
    text_path = tmp_path / f"{lang}-1m.txt"
    text_path.write_text(million_char_text(lang), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", MILLION_CHAR_CHILD, str(pipeline_dir), str(text_path), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    record_property(f"{lang}_1m_seconds", round(measured["seconds"], 1))
    record_property(f"{lang}_1m_peak_rss_mib", measured["peak"] >> 20)
    print(f"\n{lang}: 1M chars, {measured['tokens']} tokens, {measured['seconds']:.1f} s, "
          f"peak RSS {measured['peak'] >> 20} MiB (bound {PEAK_RSS_BOUND / 2**20:.0f})")
    assert measured["row_pieces"] <= MAX_PIECES
    assert measured["peak"] <= PEAK_RSS_BOUND


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_is_released_on_glibc() -> None:
    assert release_freed_heap() is True


# --- the pieces that keep long docs linear and bounded -----------------------------------


@given(text=st.text(alphabet=st.sampled_from(list(" \t\n\u3000\u00a0\u200bab中文😀\u0301.")),
                    max_size=40))
@settings(max_examples=200, deadline=None)
def test_linear_char_segmenter_matches_spacy(text: str) -> None:
    """The zh tokenizer's linear char segmentation gives spaCy's words and spaces."""
    assert char_words_and_spaces(text) == get_words_and_spaces(list(text), text)


def test_zh_tokenizer_is_linear(zh_nlp: Language) -> None:
    assert isinstance(zh_nlp.tokenizer.tokenizer, LinearCharChineseTokenizer)
    text = "中文 ab\u3000" * 100_000  # 600k characters; spaCy's own takes minutes
    start = time.perf_counter()
    doc = zh_nlp.make_doc(text)
    assert time.perf_counter() - start < 30
    assert doc.text == text


def test_tokenize_batch_and_chunks_equal_upstream(nlp: Language) -> None:
    tokenizer = nlp.get_pipe("transformer").model.tokenizer
    texts = [text[:200] for text in BAD_TEXTS.values()] * 3
    whole = huggingface_tokenize(tokenizer, texts)
    for ours in (tokenize_batch(tokenizer, texts), tokenize_in_chunks(tokenizer, texts, 5)):
        assert set(ours) == set(whole.keys())
        for key in whole.keys():
            if key in ("input_texts", "pad_token"):
                assert ours[key] == whole[key], key
            else:
                assert ours[key].dtype == whole[key].dtype
                numpy.testing.assert_array_equal(ours[key], whole[key], err_msg=key)


def test_predict_in_chunks_equals_one_call(
    nlp: Language, request: pytest.FixtureRequest
) -> None:
    """A long doc predicted a few rows at a time (the config's `inference_max_pieces`)
    gives what one call gives."""
    doc = nlp.make_doc(million_char_text(nlp.lang)[:6_000])
    transformer = nlp.get_pipe("transformer")
    transformer.model.attrs["inference_max_pieces"] = 10**9
    whole = transformer.predict([doc])
    small = {"components": {"transformer": {"model": {"inference_max_pieces": 1000}}}}
    pipeline_dir = request.getfixturevalue(f"{nlp.lang}_pipeline_dir")
    chunked_nlp = spacy.load(pipeline_dir, config=small)
    chunked = chunked_nlp.get_pipe("transformer").predict([doc])
    assert whole.wordpieces.input_ids.shape[0] > 2 * 1000 // whole.wordpieces.input_ids.shape[1]
    for key, value in whole.model_output.items():
        numpy.testing.assert_allclose(
            chunked.model_output[key].numpy(), value.numpy(), atol=1e-5, err_msg=key
        )


def test_uniform_token_types_are_dropped_and_change_nothing(nlp: Language) -> None:
    """All-zero token types are what the encoder assumes without any: dropping them
    (8 bytes a piece) gives the same hidden states; other types are kept."""
    transformer = nlp.get_pipe("transformer")
    tokenizer = transformer.model.tokenizer
    encoding = tokenize_in_chunks(tokenizer, ["Alice met Bob.", "华星科技在杭州。 😀"])
    assert not encoding["token_type_ids"].any()
    dropped = without_uniform_token_types(encoding)
    assert "token_type_ids" not in dropped and set(dropped) == set(encoding) - {"token_type_ids"}
    encoder = transformer.model.layers[0]
    with_types = encoder.predict(WordpieceBatch.from_batch_encoding(encoding))
    without = encoder.predict(WordpieceBatch.from_batch_encoding(dropped))
    numpy.testing.assert_array_equal(
        without["last_hidden_state"].numpy(), with_types["last_hidden_state"].numpy()
    )
    second_segment = dict(encoding, token_type_ids=encoding["token_type_ids"].copy())
    second_segment["token_type_ids"][0, 2:] = 1
    assert without_uniform_token_types(second_segment) is second_segment


def test_only_long_batches_trim_the_heap_between_calls(
    nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`malloc_trim` after every encoder call keeps a long doc's peak low but costs
    throughput on ordinary batches, which therefore never trim."""
    transformer = nlp.get_pipe("transformer")
    short_texts = ("Alice met Bob in Paris.", "华星科技在杭州。", "Hi")
    short_docs = [nlp.make_doc(text) for text in short_texts]
    short_rows = transformer.predict(short_docs).wordpieces.input_ids
    # One row per call: three calls for the short batch, one per window for the long doc.
    monkeypatch.setitem(transformer.model.attrs, "inference_max_pieces", short_rows.shape[1])
    trims: list[int] = []
    monkeypatch.setattr(encoder_module, "release_freed_heap", lambda: trims.append(1))
    transformer.predict(short_docs)
    assert trims == []
    long_doc = nlp.make_doc(million_char_text(nlp.lang)[:16_000])
    calls = transformer.predict([long_doc]).wordpieces.input_ids.shape[0]
    assert calls >= encoder_module.LONG_BATCH_CALLS
    assert len(trims) == calls + 2  # before, between (after each) and after the calls


def test_doc_cleaner_drops_trf_data(en_pipeline_dir: Path, en_nlp: Language) -> None:
    """The documented long-run setting: drop `doc._.trf_data` once the heads ran."""
    texts = ["Omar Saleh met Nordvale Energy in Kingsport.", "", BAD_TEXTS["emoji"]]
    nlp = spacy.load(en_pipeline_dir)
    nlp.add_pipe("doc_cleaner", config={"attrs": {"_.trf_data": None, "tensor": None}})
    for doc, expected in zip(nlp.pipe(texts), en_nlp.pipe(texts)):
        assert doc._.trf_data is None
        assert doc.cats == pytest.approx(expected.cats, abs=1e-6)
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [
            (e.start, e.end, e.label_) for e in expected.ents
        ]


# --- lone surrogates (text read with errors="surrogateescape") ------------------------


@pytest.mark.parametrize("text", ["bad \udcff byte", "\ud800", "Nordvale 中文\udc80测试 \udfff"])
def test_lone_surrogates_are_replaced_at_the_same_offsets(nlp: Language, text: str) -> None:
    with pytest.warns(LoneSurrogateWarning, match="lone surrogate"):
        doc = nlp(text)
    assert doc.text == encodable(text)
    assert len(doc.text) == len(text)
    assert all(a == b for a, b in zip(doc.text, text) if b != "\ufffd" and a != "\ufffd")
    check_doc(nlp, doc, doc.text)


def test_one_surrogate_text_does_not_lose_its_batch(nlp: Language) -> None:
    texts = ["Omar Saleh met Nordvale Energy in Kingsport.", "bad \udcff byte", "fine"]
    with pytest.warns(LoneSurrogateWarning):
        docs = list(nlp.pipe(texts, batch_size=3))
    assert [doc.text for doc in docs] == [encodable(text) for text in texts]
    for text, doc in zip(texts, docs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LoneSurrogateWarning)
            single = nlp(text)
        assert doc.cats == pytest.approx(single.cats, abs=1e-5)
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [
            (e.start, e.end, e.label_) for e in single.ents
        ]


def test_surrogate_safe_tokenizer_pickles_and_copies(nlp: Language) -> None:
    """Spawned `nlp.pipe` workers and `copy.deepcopy(nlp)` pickle the tokenizer."""
    text = "Omar Saleh met Nordvale Energy in Kingsport."
    expected = [t.text for t in nlp(text)]
    for tokenizer in (pickle.loads(pickle.dumps(nlp.tokenizer)), copy.deepcopy(nlp.tokenizer)):
        assert isinstance(tokenizer, SurrogateSafeTokenizer)
        assert [t.text for t in tokenizer(text)] == expected


def test_surrogate_safe_tokenizer_round_trips(nlp: Language, tmp_path: Path) -> None:
    assert isinstance(nlp.tokenizer, SurrogateSafeTokenizer)
    nlp.tokenizer.to_disk(tmp_path / "tokenizer")
    blank = spacy.blank(nlp.lang, config={"nlp": {"tokenizer": {
        "@tokenizers": "spacy-albert.LanguageDefaultTokenizer.v1"}}})
    blank.tokenizer.from_disk(tmp_path / "tokenizer")
    text = "Omar Saleh met Nordvale Energy in Kingsport."
    assert [t.text for t in blank(text)] == [t.text for t in nlp(text)]
