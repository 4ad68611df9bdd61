"""The Hugging Face way, as the baseline spacy-albert is measured against: loading and inference.

Two separate models on the same ALBERT weights, as in the seed article:
`AlbertForSequenceClassification` for the text categories and
`AlbertForTokenClassification` for the entities. Each runs

- through `transformers.pipeline(...)` with `batch_size` (what most users write), and
- through a raw batched forward under `torch.inference_mode()` (the fastest plain-PyTorch
  way: length-sorted batches, dynamic padding, first-subword decoding in NumPy).

Every speed trick that is not specific to spacy-albert's design is given to this side too:
the fused tanh GELU (`hidden_act="gelu_pytorch_tanh"`, the same function as ALBERT's
"gelu_new", which spacy-albert also swaps in), inference mode, length-sorted batches and the
fast tokenizer; bf16 autocast and `torch.ao` dynamic int8 are its reduced precisions. Long
texts are cut into windows either as HF users do (512 pieces, 128 overlap) or as
spacy-albert does (128 pieces, step 96).

The seed's fine-tuning loop is in `bench.hf_training`.
"""

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy
import torch
from spacy.util import minibatch
from thinc.api import fix_random_seed
from transformers import (
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AutoTokenizer,
    PreTrainedTokenizerFast,
    pipeline,
)
from transformers.utils import logging as hf_logging

FUSED_GELU = "gelu_pytorch_tanh"
CONLL_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
SST_LABELS = ["NEGATIVE", "POSITIVE"]


def _quiet_from_pretrained(cls: Any, path: Union[str, Path], **kwargs: Any) -> Any:
    """from_pretrained without the "newly initialized head" warning (expected here)."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return cls.from_pretrained(str(path), **kwargs)
    finally:
        hf_logging.set_verbosity(verbosity)


def load_sequence_classifier(
    model_dir: Union[str, Path], labels: Sequence[str] = SST_LABELS, seed: int = 0,
    fused_gelu: bool = True,
) -> AlbertForSequenceClassification:
    """An AlbertForSequenceClassification on model_dir's encoder (head seeded).

    fused_gelu (bool): Run the tanh GELU as torch's fused kernel (False: HF's default
        six-op "gelu_new", as a user who changes nothing gets).
    """
    fix_random_seed(seed)
    return _quiet_from_pretrained(
        AlbertForSequenceClassification, model_dir, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
        **({"hidden_act": FUSED_GELU} if fused_gelu else {}),
    )


def load_token_classifier(
    model_dir: Union[str, Path], tags: Sequence[str] = CONLL_TAGS, seed: int = 0,
    fused_gelu: bool = True,
) -> AlbertForTokenClassification:
    """An AlbertForTokenClassification on model_dir's encoder (head seeded).

    fused_gelu (bool): As in load_sequence_classifier.
    """
    fix_random_seed(seed)
    return _quiet_from_pretrained(
        AlbertForTokenClassification, model_dir, num_labels=len(tags),
        id2label=dict(enumerate(tags)), label2id={tag: i for i, tag in enumerate(tags)},
        **({"hidden_act": FUSED_GELU} if fused_gelu else {}),
    )


def quantize_dynamic_int8(model: torch.nn.Module) -> torch.nn.Module:
    """HF's int8: `torch.ao.quantization.quantize_dynamic` of the Linear layers (in place).

    The two lines an HF user writes; torch 2.13 warns that the API is deprecated.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            model.eval(), {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def load_tokenizer(model_dir: Union[str, Path]) -> PreTrainedTokenizerFast:
    """The checkpoint's fast tokenizer (local files only)."""
    return AutoTokenizer.from_pretrained(str(model_dir), use_fast=True)


# ---------------------------------------------------------------- inference


class HFPipelines:
    """`transformers.pipeline` for text and/or token classification, batched.

    tokenizer (PreTrainedTokenizerFast): Shared tokenizer.
    seq_model (Optional[AlbertForSequenceClassification]): Text classifier, or None.
    tok_model (Optional[AlbertForTokenClassification]): Token classifier, or None.
    batch_size (int): Passed to each pipeline call.
    stride (Optional[int]): Token classification: overlap of 512-piece windows for
        texts longer than the model (None: truncate).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        seq_model: Optional[AlbertForSequenceClassification],
        tok_model: Optional[AlbertForTokenClassification],
        batch_size: int = 64,
        stride: Optional[int] = None,
    ) -> None:
        self.batch_size = batch_size
        self.stride = stride
        self.text_pipe = (
            pipeline("text-classification", model=seq_model.eval(), tokenizer=tokenizer,
                     device=-1)
            if seq_model is not None else None
        )
        self.token_pipe = (
            pipeline("token-classification", model=tok_model.eval(), tokenizer=tokenizer,
                     device=-1, aggregation_strategy="first", stride=stride)
            if tok_model is not None else None
        )

    def __call__(self, texts: Sequence[str]) -> tuple[list[Any], list[Any]]:
        cats: list[Any] = []
        ents: list[Any] = []
        if self.text_pipe is not None:
            cats = list(self.text_pipe(list(texts), batch_size=self.batch_size, truncation=True,
                                       top_k=None))
        if self.token_pipe is not None:
            ents = list(self.token_pipe(list(texts), batch_size=self.batch_size))
        return cats, ents


@dataclass(frozen=True)
class Windows:
    """How texts longer than a window are cut (in word pieces, special pieces included).

    max_pieces (int): Pieces per window (the tokenizer's `max_length`).
    overlap (int): Pieces shared by consecutive windows (the tokenizer's `stride`).
    label (str): How the tables name it.
    """

    max_pieces: int
    overlap: int
    label: str


HF_WINDOWS = Windows(512, 128, "512 pieces, 128 overlap (HF's truncation/stride)")
# spacy-albert's strided spans: 128-token windows every 96 tokens (32 overlap), here in pieces.
OUR_WINDOWS = Windows(128, 32, "128 pieces, step 96 (spacy-albert's 128/96 spans)")


def first_pieces(word_ids: Sequence[Optional[int]]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Which pieces start a word (the pieces whose prediction stands for the word).

    word_ids (Sequence[Optional[int]]): The word of each piece, None for special pieces, as
        `BatchEncoding.word_ids()` gives them.
    RETURNS (tuple[numpy.ndarray, numpy.ndarray]): The word ids (-1 for special pieces) and
        a boolean mask of the first piece of each word.
    """
    ids = numpy.array([-1 if w is None else w for w in word_ids], dtype=numpy.int64)
    first = numpy.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    first &= ids >= 0
    return ids, first


def _length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of similar length (shortest first), so padding stays small."""
    return minibatch(numpy.argsort(numpy.asarray(lengths), kind="stable").tolist(), batch_size)


def merge_windows(encoding: Any, logits: Sequence[numpy.ndarray],
                  n_words: Sequence[int]) -> list[list[int]]:
    """One tag per word from overlapping windows: the first-piece logits, averaged over
    every window that holds the word's first piece (as spacy-albert averages the vectors of
    overlapping spans).

    encoding (BatchEncoding): The windows, from the fast tokenizer with
        `return_overflowing_tokens=True`.
    logits (Sequence[numpy.ndarray]): (pieces, tags) logits per window.
    n_words (Sequence[int]): Words per text (0: take it from the windows).
    RETURNS (list[list[int]]): Tag ids per word per text (0 for a word no window holds).
    """
    sums: list[dict[int, numpy.ndarray]] = [{} for _ in n_words]
    counts: list[dict[int, int]] = [{} for _ in n_words]
    for window, sample in enumerate(encoding["overflow_to_sample_mapping"]):
        word_ids, first = first_pieces(encoding.word_ids(window))
        for word, row in zip(word_ids[first].tolist(), logits[window][first]):
            sums[sample][word] = sums[sample].get(word, 0.0) + row
            counts[sample][word] = counts[sample].get(word, 0) + 1
    out = []
    for sample, n in enumerate(n_words):
        n = n or (max(sums[sample]) + 1 if sums[sample] else 0)
        out.append([int(numpy.argmax(sums[sample][w] / counts[sample][w]))
                    if w in sums[sample] else 0 for w in range(n)])
    return out


class HFRawForward:
    """Raw batched forward passes under `torch.inference_mode()`.

    Texts are tokenized once, sorted by length and padded per batch. Text categories
    are the softmax of the [CLS] head; entities are the argmax tag of each word's first
    piece. Texts longer than a window: the token classifier sees overlapping windows
    (merged by `merge_windows`); the text classifier sees the first window (HF's
    truncation) or, with `classify_windows`, the mean of its windows' probabilities.

    tokenizer (PreTrainedTokenizerFast): Shared tokenizer.
    seq_model (Optional[AlbertForSequenceClassification]): Text classifier, or None.
    tok_model (Optional[AlbertForTokenClassification]): Token classifier, or None.
    batch_size (int): Sequences per forward pass.
    windows (Windows): Window size and overlap for long texts.
    classify_windows (bool): Classify long texts from all their windows.
    autocast_dtype (Optional[torch.dtype]): e.g. torch.bfloat16 to run under autocast.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        seq_model: Optional[AlbertForSequenceClassification],
        tok_model: Optional[AlbertForTokenClassification],
        batch_size: int = 64,
        windows: Windows = HF_WINDOWS,
        classify_windows: bool = False,
        autocast_dtype: Optional[torch.dtype] = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.seq_model = seq_model.eval() if seq_model is not None else None
        self.tok_model = tok_model.eval() if tok_model is not None else None
        self.batch_size = batch_size
        self.windows = windows
        self.classify_windows = classify_windows
        self.autocast_dtype = autocast_dtype

    def _forward(self, model: Any, input_ids: list[list[int]]) -> list[numpy.ndarray]:
        """Logits per sequence (padding removed), in input order."""
        pad = self.tokenizer.pad_token_id
        outputs: list[Optional[numpy.ndarray]] = [None] * len(input_ids)
        lengths = [len(ids) for ids in input_ids]
        for batch in _length_sorted_batches(lengths, self.batch_size):
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = torch.tensor(input_ids[i])
            mask = (ids != pad).long()
            with torch.inference_mode(), torch.autocast(
                "cpu", dtype=self.autocast_dtype or torch.bfloat16,
                enabled=self.autocast_dtype is not None,
            ):
                logits = model(input_ids=ids, attention_mask=mask).logits.float().numpy()
            for row, i in enumerate(batch):
                outputs[i] = logits[row] if logits.ndim == 2 else logits[row, : lengths[i]]
        return [out for out in outputs if out is not None]

    def _encode(self, texts: Sequence[Any], is_split_into_words: bool = False) -> Any:
        return self.tokenizer(
            list(texts), truncation=True, max_length=self.windows.max_pieces,
            stride=self.windows.overlap, return_overflowing_tokens=True,
            is_split_into_words=is_split_into_words,
        )

    def classify(self, texts: Sequence[str]) -> numpy.ndarray:
        """Category probabilities, (n_texts, n_labels)."""
        if self.classify_windows:
            encoding = self._encode(texts)
            samples = numpy.asarray(encoding["overflow_to_sample_mapping"])
        else:
            encoding = self.tokenizer(list(texts), truncation=True,
                                      max_length=self.windows.max_pieces)
            samples = numpy.arange(len(texts))
        logits = numpy.stack(self._forward(self.seq_model, encoding["input_ids"]))
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = numpy.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return numpy.stack([probs[samples == i].mean(axis=0) for i in range(len(texts))])

    def tag(self, texts: Sequence[str], is_split_into_words: bool = False) -> list[list[int]]:
        """One tag id per word (first-piece decoding; windows merged for long texts)."""
        encoding = self._encode(texts, is_split_into_words)
        logits = self._forward(self.tok_model, encoding["input_ids"])
        n_words = [len(t) if is_split_into_words else 0 for t in texts]
        return merge_windows(encoding, logits, n_words)

    def __call__(self, texts: Sequence[str]) -> tuple[Any, Any]:
        cats = self.classify(texts) if self.seq_model is not None else None
        ents = self.tag(texts) if self.tok_model is not None else None
        return cats, ents


def predict_word_tags(
    model: AlbertForTokenClassification,
    tokenizer: PreTrainedTokenizerFast,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 64,
    autocast_dtype: Optional[torch.dtype] = None,
) -> list[list[str]]:
    """IOB tag strings per word (first-subword decoding), for seqeval."""
    runner = HFRawForward(tokenizer, None, model, batch_size=batch_size,
                          autocast_dtype=autocast_dtype)
    id2label = model.config.id2label
    words = [list(s) for s in sentences]
    predicted = runner.tag(words, is_split_into_words=True)  # type: ignore[arg-type]
    return [[id2label[t] for t in tags] for tags in predicted]


def predict_labels(
    model: AlbertForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    texts: Sequence[str],
    batch_size: int = 64,
    autocast_dtype: Optional[torch.dtype] = None,
) -> list[int]:
    """The argmax label id per text."""
    runner = HFRawForward(tokenizer, model, None, batch_size=batch_size,
                          autocast_dtype=autocast_dtype)
    return runner.classify(texts).argmax(axis=1).tolist()


def count_parameters(model: torch.nn.Module) -> int:
    """Parameters of a model (shared ALBERT layers counted once)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "CONLL_TAGS",
    "SST_LABELS",
    "FUSED_GELU",
    "HF_WINDOWS",
    "OUR_WINDOWS",
    "HFPipelines",
    "HFRawForward",
    "Windows",
    "count_parameters",
    "first_pieces",
    "load_sequence_classifier",
    "load_token_classifier",
    "load_tokenizer",
    "merge_windows",
    "predict_labels",
    "predict_word_tags",
    "quantize_dynamic_int8",
]
