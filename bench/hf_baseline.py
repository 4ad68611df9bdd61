"""The Hugging Face way, as the baseline spacy-albert is measured against.

Two separate models on the same ALBERT weights, as in the seed article:
`AlbertForSequenceClassification` for the text categories and
`AlbertForTokenClassification` for the entities. Each runs

- through `transformers.pipeline(...)` with `batch_size` (what most users write), and
- through a raw batched forward under `torch.inference_mode()` (the fastest plain-PyTorch
  way: length-sorted batches, dynamic padding, first-subword decoding in NumPy).

`train_token_classifier` / `train_sequence_classifier` are the seed's fine-tuning loop
(tokenize, batch, `model(**batch, labels=...)`, `loss.backward()`, `optimizer.step()`)
with the two things the seed gets wrong fixed: token labels are aligned to the *first*
subword of each word through `word_ids()` (other pieces get -100), and the optimizer
settings match the spaCy config (AdamW, linear warm-up/decay, gradient clipping) so the
comparison is between the two architectures, not between two sets of hyper-parameters.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy
import torch
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
    torch.manual_seed(seed)
    return _quiet_from_pretrained(
        AlbertForSequenceClassification, model_dir, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )


def load_token_classifier(
    model_dir: Union[str, Path], tags: Sequence[str] = CONLL_TAGS, seed: int = 0
) -> AlbertForTokenClassification:
    """An AlbertForTokenClassification on model_dir's encoder (head seeded)."""
    torch.manual_seed(seed)
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


def _length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    order = numpy.argsort(numpy.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size].tolist()


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
            word_ids = numpy.array(
                [-1 if w is None else w for w in encoding.word_ids(window)], dtype=numpy.int64
            )
            first = numpy.ones(len(word_ids), dtype=bool)
            first[1:] = word_ids[1:] != word_ids[:-1]
            first &= word_ids >= 0
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


# ---------------------------------------------------------------- training


@dataclass
class TrainStats:
    """Throughput of a training run.

    steps (int): Updates made.
    words (int): Words seen (whitespace words of the batches).
    seconds (float): Wall time of the updates.
    losses (list[float]): Loss per step.
    """

    steps: int
    words: int
    seconds: float
    losses: list[float]

    @property
    def words_per_second(self) -> float:
        return self.words / max(self.seconds, 1e-9)


def warmup_linear(step: int, warmup: int, total: int) -> float:
    """thinc's `warmup_linear.v1` as a LambdaLR factor."""
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    return max(0.0, (total - step) / max(total - warmup, 1))


def make_optimizer(
    model: torch.nn.Module, learn_rate: float, warmup: int, steps: int, weight_decay: float = 0.01
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW + linear warm-up/decay, as spaCy's `Adam.v1` with L2_is_weight_decay."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=learn_rate, weight_decay=weight_decay,
                                  eps=1e-8)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_linear(step, warmup, steps)
    )
    return optimizer, scheduler


def epoch_batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless shuffled passes over range(n) (the seed's DataLoader(shuffle=True))."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator).tolist()
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def align_first_subword(
    encoding: Any, word_labels: Sequence[Sequence[int]]
) -> torch.Tensor:
    """Piece labels: each word's label on its first piece, -100 elsewhere (and on specials).

    encoding (BatchEncoding): From the fast tokenizer with `is_split_into_words=True`.
    word_labels (Sequence[Sequence[int]]): Label id per word, per sequence.
    RETURNS (torch.Tensor): (n_sequences, padded_length) labels.
    """
    width = len(encoding["input_ids"][0])
    labels = torch.full((len(word_labels), width), -100, dtype=torch.long)
    for row, tags in enumerate(word_labels):
        previous = None
        for position, word in enumerate(encoding.word_ids(row)):
            if word is not None and word != previous:
                labels[row, position] = tags[word]
            previous = word
    return labels


def _train(
    model: torch.nn.Module,
    n_examples: int,
    make_batch: Callable[[list[int]], tuple[dict[str, torch.Tensor], int]],
    steps: int,
    *,
    batch_size: int,
    learn_rate: float,
    warmup: int,
    grad_clip: float,
    seed: int,
) -> TrainStats:
    """The seed's loop: shuffled batches, AdamW + linear warmup/decay, grad clipping.

    make_batch (Callable): Example indices -> (model inputs with `labels`, words in them).
    """
    model.train()
    optimizer, scheduler = make_optimizer(model, learn_rate, warmup, steps)
    batches = epoch_batches(n_examples, batch_size, seed)
    losses: list[float] = []
    words = 0
    start = time.perf_counter()
    for _ in range(steps):
        inputs, batch_words = make_batch(next(batches))
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        words += batch_words
    model.eval()
    return TrainStats(steps, words, time.perf_counter() - start, losses)


def train_token_classifier(
    model: AlbertForTokenClassification,
    tokenizer: PreTrainedTokenizerFast,
    sentences: Sequence[Sequence[str]],
    tags: Sequence[Sequence[int]],
    steps: int,
    *,
    batch_size: int = 32,
    learn_rate: float = 5e-4,
    warmup: int = 0,
    grad_clip: float = 1.0,
    max_length: int = 128,
    seed: int = 0,
) -> TrainStats:
    """The seed's token-classification loop with first-subword label alignment.

    model (AlbertForTokenClassification): Trained in place.
    tokenizer (PreTrainedTokenizerFast): Its tokenizer.
    sentences (Sequence[Sequence[str]]): Words per sentence.
    tags (Sequence[Sequence[int]]): Tag id per word.
    steps (int): Updates (batches); the data is reshuffled each pass.
    RETURNS (TrainStats): Throughput and losses.
    """

    def make_batch(index: list[int]) -> tuple[dict[str, torch.Tensor], int]:
        batch_words = [list(sentences[i]) for i in index]
        encoding = tokenizer(batch_words, is_split_into_words=True, truncation=True,
                             max_length=max_length, padding=True, return_tensors="pt")
        labels = align_first_subword(encoding, [tags[i] for i in index])
        inputs = {"input_ids": encoding["input_ids"],
                  "attention_mask": encoding["attention_mask"], "labels": labels}
        return inputs, sum(len(words) for words in batch_words)

    return _train(model, len(sentences), make_batch, steps, batch_size=batch_size,
                  learn_rate=learn_rate, warmup=warmup, grad_clip=grad_clip, seed=seed)


def train_sequence_classifier(
    model: AlbertForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    texts: Sequence[str],
    labels: Sequence[int],
    steps: int,
    *,
    batch_size: int = 32,
    learn_rate: float = 5e-4,
    warmup: int = 0,
    grad_clip: float = 1.0,
    max_length: int = 128,
    seed: int = 0,
) -> TrainStats:
    """The seed's text-classification loop (optimizer settings as spaCy's config).

    model (AlbertForSequenceClassification): Trained in place.
    tokenizer (PreTrainedTokenizerFast): Its tokenizer.
    texts (Sequence[str]): The texts.
    labels (Sequence[int]): Label id per text.
    steps (int): Updates (batches); the data is reshuffled each pass.
    RETURNS (TrainStats): Throughput and losses.
    """

    def make_batch(index: list[int]) -> tuple[dict[str, torch.Tensor], int]:
        batch_texts = [texts[i] for i in index]
        inputs = dict(tokenizer(batch_texts, truncation=True, max_length=max_length,
                                padding=True, return_tensors="pt"))
        inputs["labels"] = torch.tensor([labels[i] for i in index])
        return inputs, sum(len(text.split()) for text in batch_texts)

    return _train(model, len(texts), make_batch, steps, batch_size=batch_size,
                  learn_rate=learn_rate, warmup=warmup, grad_clip=grad_clip, seed=seed)


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
    "TrainStats",
    "align_first_subword",
    "count_parameters",
    "load_sequence_classifier",
    "load_token_classifier",
    "load_tokenizer",
    "predict_labels",
    "predict_word_tags",
    "train_sequence_classifier",
    "train_token_classifier",
]
