"""Span texts to pieces: chunked, length-fitted tokenization that never fails on text.

Strided windows count spaCy tokens, not pieces; these helpers split windows until they
fit the position table, tokenize a chunk of windows at a time to bound memory, and make
every Python string encodable for the Rust tokenizer.
"""

import re
import weakref
from typing import Any, Optional

import numpy
from spacy.tokens import Span
from transformers import PreTrainedTokenizerFast

# Span texts per tokenizer call (see `tokenize_in_chunks`).
DEFAULT_TOKENIZE_CHUNK_SPANS = 256
# Lone UTF-16 surrogates: legal in a Python str (`errors="surrogateescape"` input, e.g.
# `os.fsdecode`), not encodable as UTF-8, which the Rust tokenizer needs.
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def replace_lone_surrogates(text: str) -> tuple[str, int]:
    """The text with each lone surrogate replaced by U+FFFD, one code point for one,
    and how many were replaced. Offsets into the result are offsets into the input.
    """
    return _SURROGATES.subn(REPLACEMENT_CHARACTER, text)


def encodable(text: str) -> str:
    """The text, safe to encode as UTF-8 (see `replace_lone_surrogates`)."""
    return replace_lone_surrogates(text)[0]


def tokenize_fitting(
    tokenizer: Any,
    nested_spans: list[list[Span]],
    max_length: int,
    chunk_size: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
) -> tuple[list[list[Span]], Any]:
    """Tokenize the spans, halving any multi-token span whose pieces exceed max_length.

    Strided windows count spaCy tokens, not pieces, so a window of URLs or emoji can
    outgrow the position table; halving keeps every token represented. A single token
    longer than the table is left to `truncate_oversize_splits`.
    """
    while True:
        flat = [span for doc_spans in nested_spans for span in doc_spans]
        encoding = tokenize_in_chunks(tokenizer, [span.text for span in flat], chunk_size)
        lengths = encoding["attention_mask"].sum(axis=1)
        oversize = {id(s) for s, n in zip(flat, lengths) if n > max_length and len(s) > 1}
        if not oversize:
            return nested_spans, encoding
        nested_spans = [
            [
                part
                for span in doc_spans
                for part in (_halves(span) if id(span) in oversize else [span])
            ]
            for doc_spans in nested_spans
        ]


# Per tokenizer, every id's piece string (see `piece_strings`).
_PIECE_STRINGS: "weakref.WeakKeyDictionary[Any, numpy.ndarray]" = weakref.WeakKeyDictionary()


def piece_strings(tokenizer: Any, ids: numpy.ndarray) -> list:
    """The piece strings of the ids, as nested lists, looked up in an object array of
    every id's piece built once per tokenizer (again when an id is past its end: tokens
    were added). That is ~30x faster than `convert_ids_to_tokens` row by row, and every
    occurrence of a piece is one shared str. (`len(tokenizer)` is not the check: a fast
    tokenizer builds its whole vocab to answer it, ~10 ms on a 30k WordPiece vocab.)
    """
    pieces = _PIECE_STRINGS.get(tokenizer)
    if pieces is None or (ids.size and int(ids.max()) >= len(pieces)):
        pieces = numpy.array(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))),
                             dtype=object)
        _PIECE_STRINGS[tokenizer] = pieces
    return pieces[ids].tolist()


def tokenize_batch(tokenizer: Any, texts: list[str]) -> dict[str, Any]:
    """spacy-transformers' `huggingface_tokenize`: the same keys and values, with the
    piece strings (`input_texts`) looked up in `piece_strings`."""
    encoding = _encode_right_padded(tokenizer, texts)
    if encoding is None:
        encoding = tokenizer(
            texts,
            add_special_tokens=True,
            return_attention_mask=True,
            return_offsets_mapping=isinstance(tokenizer, PreTrainedTokenizerFast),
            return_tensors="np",
            return_token_type_ids=None,  # the model's default
            padding="longest",
        )
    encoding["input_texts"] = piece_strings(tokenizer, encoding["input_ids"])
    encoding["pad_token"] = tokenizer.pad_token
    return encoding


def _encode_right_padded(tokenizer: Any, texts: list[str]) -> Optional[dict[str, Any]]:
    """What `tokenizer(texts, padding="longest", return_offsets_mapping=True,
    return_tensors="np")` returns, from the Rust tokenizer's encodings directly: the
    wrapper's per-text conversion to Python lists and back costs more than the encoding
    itself (on 64 short texts ~10 ms of ~15). None where the wrapper must run: a slow or
    left-padding tokenizer, one without a pad token, no texts.

    The backend's truncation and padding are set as the wrapper sets them for this call
    (it keeps them on the backend between calls too).
    """
    if (not isinstance(tokenizer, PreTrainedTokenizerFast) or not texts
            or tokenizer.pad_token is None or tokenizer.padding_side != "right"):
        return None
    backend = tokenizer.backend_tokenizer
    if backend.truncation is not None:
        backend.no_truncation()
    backend.enable_padding(direction="right", pad_id=tokenizer.pad_token_id,
                           pad_type_id=tokenizer.pad_token_type_id,
                           pad_token=tokenizer.pad_token)
    encodings = backend.encode_batch(texts, add_special_tokens=True)
    encoding = {"input_ids": numpy.array([e.ids for e in encodings], dtype=numpy.int64)}
    if "token_type_ids" in tokenizer.model_input_names:
        encoding["token_type_ids"] = numpy.array([e.type_ids for e in encodings],
                                                 dtype=numpy.int64)
    encoding["attention_mask"] = numpy.array([e.attention_mask for e in encodings],
                                             dtype=numpy.int64)
    encoding["offset_mapping"] = numpy.array([e.offsets for e in encodings],
                                             dtype=numpy.int64).reshape(len(texts), -1, 2)
    return encoding


def tokenize_in_chunks(
    tokenizer: Any, texts: list[str], chunk_size: int = DEFAULT_TOKENIZE_CHUNK_SPANS
) -> dict[str, Any]:
    """`tokenize_batch`, a chunk of texts at a time, padded to one width.

    The tokenizer's per-text `Encoding` objects (piece strings, offsets, word ids...)
    cost far more than the arrays kept from them: a 1M-character Chinese doc (10k
    windows) needed ~430 MB more when tokenized in one call. Each chunk keeps only
    its arrays and piece strings (one object per distinct piece); the result has the
    same keys and values as one call. Lone surrogates are replaced (see `encodable`).

    tokenizer (Any): A (fast) Hugging Face tokenizer.
    texts (List[str]): The span texts.
    chunk_size (int): Texts per tokenizer call.
    RETURNS (Dict[str, Any]): input_ids, attention_mask, offset_mapping, ... as arrays,
        plus input_texts and pad_token.
    """
    texts = [encodable(text) for text in texts]
    if len(texts) <= chunk_size:
        return tokenize_batch(tokenizer, texts)
    parts = []
    for start in range(0, len(texts), chunk_size):
        encoding = tokenize_batch(tokenizer, texts[start : start + chunk_size])
        parts.append({key: encoding[key] for key in encoding.keys() if key != "pad_token"})
        del encoding
    width = max(part["input_ids"].shape[1] for part in parts)
    fills = {
        "input_ids": tokenizer.pad_token_id,
        "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0),
    }
    left = getattr(tokenizer, "padding_side", "right") == "left"
    merged: dict[str, Any] = {"pad_token": tokenizer.pad_token}
    for key in parts[0]:
        if key == "input_texts":
            merged[key] = [
                ([tokenizer.pad_token] * (width - len(row)) + row) if left
                else (row + [tokenizer.pad_token] * (width - len(row)))
                for part in parts
                for row in part[key]
            ]
            continue
        padded = []
        for part in parts:
            array = part[key]
            pad = [(0, 0)] * array.ndim
            pad[1] = (width - array.shape[1], 0) if left else (0, width - array.shape[1])
            padded.append(numpy.pad(array, pad, constant_values=fills.get(key, 0)))
        merged[key] = numpy.concatenate(padded)
    return merged


def without_uniform_token_types(encoding: dict[str, Any]) -> dict[str, Any]:
    """The encoding without `token_type_ids` where every piece (padding included) has
    type 0, which is what the encoder assumes when none are given: single-segment
    windows, i.e. always here. Keeping them costs 8 bytes a piece (10 MiB on a
    1M-character Chinese doc) for nothing.
    """
    types = encoding.get("token_type_ids")
    if types is not None and not numpy.asarray(types).any():
        encoding = {key: value for key, value in encoding.items() if key != "token_type_ids"}
    return encoding


def _halves(span: Span) -> list[Span]:
    middle = span.start + len(span) // 2
    return [span.doc[span.start : middle], span.doc[middle : span.end]]
