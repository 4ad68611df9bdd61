"""The Hugging Face way, as the baseline spacy-albert is measured against: loading and inference.

Two separate models on the same ALBERT weights, as in the seed article:
`AlbertForSequenceClassification` for the text categories and
`AlbertForTokenClassification` for the entities. Each runs

- through `transformers.pipeline(...)` with `batch_size` (what most users write), and
- through a raw batched forward under `torch.inference_mode()` (the fastest plain-PyTorch
  way: length-sorted batches, dynamic padding, first-subword decoding in NumPy).

The seed's fine-tuning loop is in `bench.hf_training`.
"""

from collections.abc import Iterator, Sequence
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
    model_dir: Union[str, Path], labels: Sequence[str] = SST_LABELS, seed: int = 0
) -> AlbertForSequenceClassification:
    """An AlbertForSequenceClassification on model_dir's encoder (head seeded)."""
    fix_random_seed(seed)
    return _quiet_from_pretrained(
        AlbertForSequenceClassification, model_dir, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )


def load_token_classifier(
    model_dir: Union[str, Path], tags: Sequence[str] = CONLL_TAGS, seed: int = 0
) -> AlbertForTokenClassification:
    """An AlbertForTokenClassification on model_dir's encoder (head seeded)."""
    fix_random_seed(seed)
    return _quiet_from_pretrained(
        AlbertForTokenClassification, model_dir, num_labels=len(tags),
        id2label=dict(enumerate(tags)), label2id={tag: i for i, tag in enumerate(tags)},
    )


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


class HFRawForward:
    """Raw batched forward passes under `torch.inference_mode()`.

    Texts are tokenized once, sorted by length and padded per batch. Text categories
    are the softmax of the [CLS] head; entities are the argmax tag of each word's first
    piece. Texts longer than 512 pieces: the text classifier sees the first 512 (HF's
    truncation), the token classifier sees overlapping 512-piece windows (`stride`).

    tokenizer (PreTrainedTokenizerFast): Shared tokenizer.
    seq_model (Optional[AlbertForSequenceClassification]): Text classifier, or None.
    tok_model (Optional[AlbertForTokenClassification]): Token classifier, or None.
    batch_size (int): Sequences per forward pass.
    stride (int): Overlap (pieces) between windows of long texts.
    autocast_dtype (Optional[torch.dtype]): e.g. torch.bfloat16 to run under autocast.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        seq_model: Optional[AlbertForSequenceClassification],
        tok_model: Optional[AlbertForTokenClassification],
        batch_size: int = 64,
        stride: int = 128,
        autocast_dtype: Optional[torch.dtype] = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.seq_model = seq_model.eval() if seq_model is not None else None
        self.tok_model = tok_model.eval() if tok_model is not None else None
        self.batch_size = batch_size
        self.stride = stride
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

    def classify(self, texts: Sequence[str]) -> numpy.ndarray:
        """Category probabilities, (n_texts, n_labels)."""
        encoding = self.tokenizer(list(texts), truncation=True, max_length=512)
        logits = numpy.stack(self._forward(self.seq_model, encoding["input_ids"]))
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = numpy.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def tag(self, texts: Sequence[str], is_split_into_words: bool = False) -> list[list[int]]:
        """One tag id per word (first-piece decoding; windows merged for long texts)."""
        encoding = self.tokenizer(
            list(texts), truncation=True, max_length=512, stride=self.stride,
            return_overflowing_tokens=True, is_split_into_words=is_split_into_words,
        )
        logits = self._forward(self.tok_model, encoding["input_ids"])
        n_words: list[int] = [len(t) if is_split_into_words else 0 for t in texts]
        tags: list[dict[int, int]] = [{} for _ in texts]
        for window, sample in enumerate(encoding["overflow_to_sample_mapping"]):
            word_ids, first = first_pieces(encoding.word_ids(window))
            predicted = logits[window].argmax(axis=-1)
            for word, tag in zip(word_ids[first].tolist(), predicted[first].tolist()):
                tags[sample].setdefault(word, tag)  # first window that saw the word wins
            if first.any() and not is_split_into_words:
                n_words[sample] = max(n_words[sample], int(word_ids.max()) + 1)
        return [[found.get(w, 0) for w in range(n)] for found, n in zip(tags, n_words)]

    def __call__(self, texts: Sequence[str]) -> tuple[Any, Any]:
        cats = self.classify(texts) if self.seq_model is not None else None
        ents = self.tag(texts) if self.tok_model is not None else None
        return cats, ents


def predict_word_tags(
    model: AlbertForTokenClassification,
    tokenizer: PreTrainedTokenizerFast,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 64,
) -> list[list[str]]:
    """IOB tag strings per word (first-subword decoding), for seqeval."""
    runner = HFRawForward(tokenizer, None, model, batch_size=batch_size)
    id2label = model.config.id2label
    words = [list(s) for s in sentences]
    predicted = runner.tag(words, is_split_into_words=True)  # type: ignore[arg-type]
    return [[id2label[t] for t in tags] for tags in predicted]


def predict_labels(
    model: AlbertForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    texts: Sequence[str],
    batch_size: int = 64,
) -> list[int]:
    """The argmax label id per text."""
    runner = HFRawForward(tokenizer, model, None, batch_size=batch_size)
    return runner.classify(texts).argmax(axis=1).tolist()


def count_parameters(model: torch.nn.Module) -> int:
    """Parameters of a model (shared ALBERT layers counted once)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "CONLL_TAGS",
    "SST_LABELS",
    "HFPipelines",
    "HFRawForward",
    "count_parameters",
    "first_pieces",
    "load_sequence_classifier",
    "load_token_classifier",
    "load_tokenizer",
    "predict_labels",
    "predict_word_tags",
]
