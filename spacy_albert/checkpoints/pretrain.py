"""Domain pretraining: continue ALBERT's masked-LM objective on raw in-domain text.

`pretrain` wraps a checkpoint's `AlbertModel` weights in `AlbertForMaskedLM` (the MLM
decoder is tied to the word embeddings; its small transform layer starts fresh), trains
on lines of text packed into blocks of `max_length` pieces, and writes the encoder back
as a plain `AlbertModel` checkpoint with the input's tokenizer files. The output loads
with `AutoModel` / `AutoTokenizer.from_pretrained(dir)` offline and can be named as
`paths.transformer` in any shipped config, unchanged.

Masking follows BERT: 15% of the pieces (or of the words, with whole-word masking) are
predicted; of those 80% become `[MASK]`, 10% a random piece, 10% stay. All randomness
comes from one seeded generator, so a run repeats exactly for a seed on the same
machine and thread count. Sentence-order prediction is not used (ALBERT's second
objective matters little for tagging and classification and needs paired segments).
"""

import json
import math
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import torch
from thinc.api import fix_random_seed
from torch.utils.data import DataLoader
from transformers import (
    AlbertForMaskedLM,
    AlbertModel,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from .builder import read_corpus_lines

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "config.json", "pretrain.json")
LOG_FILE = "pretrain.json"


@dataclass
class Block:
    """One training sequence: piece ids (no specials) and a word id per piece."""

    ids: list[int]
    words: list[int]


@dataclass
class PretrainResult:
    """What a pretraining run did.

    output_dir (Path): Where the checkpoint was written.
    losses (List[float]): The MLM loss of every step.
    words_per_second (float): Training throughput over the corpus words seen.
    """

    output_dir: Path
    losses: list[float] = field(default_factory=list)
    words_per_second: float = 0.0


def make_blocks(
    tokenizer: object, lines: Sequence[str], max_length: int, batch: int = 1000
) -> tuple[list[Block], int]:
    """Tokenize lines and pack consecutive ones into blocks of at most max_length - 2 pieces.

    tokenizer (PreTrainedTokenizerFast): The checkpoint's fast tokenizer.
    lines (Sequence[str]): Text lines (sentences or paragraphs).
    max_length (int): Pieces per sequence including [CLS] and [SEP].
    batch (int): Lines tokenized per call.
    RETURNS (Tuple[List[Block], int]): The blocks and the number of whitespace words.
    """
    budget = max_length - 2
    if budget < 1:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    blocks: list[Block] = []
    current = Block([], [])
    next_word = 0
    n_words = 0
    for start in range(0, len(lines), batch):
        chunk = list(lines[start : start + batch])
        # verbose=False: long lines are split into blocks below, so the tokenizer's
        # "longer than the maximum sequence length" warning does not apply.
        encoding = tokenizer(chunk, add_special_tokens=False, verbose=False)  # type: ignore[operator]
        for i, ids in enumerate(encoding["input_ids"]):
            n_words += len(chunk[i].split())
            word_ids = encoding.word_ids(i)
            words = [next_word + (w if w is not None else 0) for w in word_ids]
            next_word += (max((w for w in word_ids if w is not None), default=-1)) + 1
            if len(current.ids) + len(ids) > budget and current.ids:
                blocks.append(current)
                current = Block([], [])
            for offset in range(0, len(ids), budget):
                piece_ids = ids[offset : offset + budget]
                piece_words = words[offset : offset + budget]
                if len(current.ids) + len(piece_ids) > budget and current.ids:
                    blocks.append(current)
                    current = Block([], [])
                current.ids.extend(piece_ids)
                current.words.extend(piece_words)
    if current.ids:
        blocks.append(current)
    return blocks, n_words


def mask_batch(
    blocks: Sequence[Block],
    tokenizer: object,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
    whole_word_masking: bool = False,
) -> dict[str, torch.Tensor]:
    """Add specials, pad and mask a batch of blocks for masked-LM training.

    blocks (Sequence[Block]): The sequences.
    tokenizer (PreTrainedTokenizerFast): Supplies the special and mask ids.
    generator (torch.Generator): The only source of randomness.
    mlm_probability (float): Share of pieces (or words) to predict.
    whole_word_masking (bool): Mask all pieces of a chosen word together.
    RETURNS (Dict[str, torch.Tensor]): input_ids, attention_mask, labels (-100: ignored).
    """
    tok = tokenizer
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id  # type: ignore[attr-defined]
    pad_id, mask_id = tok.pad_token_id, tok.mask_token_id  # type: ignore[attr-defined]
    vocab_size = len(tok)  # type: ignore[arg-type]
    width = max(len(block.ids) for block in blocks) + 2
    input_ids = torch.full((len(blocks), width), pad_id, dtype=torch.long)
    words = torch.full((len(blocks), width), -1, dtype=torch.long)
    for row, block in enumerate(blocks):
        n = len(block.ids)
        input_ids[row, : n + 2] = torch.tensor([cls_id, *block.ids, sep_id])
        words[row, 1 : n + 1] = torch.tensor(block.words)
    candidates = words >= 0
    if whole_word_masking:
        # One draw per (row, word); every piece of the word shares it.
        keys = words + (torch.arange(len(blocks))[:, None] << 32)
        _, inverse = torch.unique(keys, return_inverse=True)
        draws = torch.rand(int(inverse.max()) + 1, generator=generator)
        chosen = (draws[inverse] < mlm_probability) & candidates
    else:
        chosen = (torch.rand(words.shape, generator=generator) < mlm_probability) & candidates
    # Predict at least one piece per row so no row is wasted.
    for row in range(len(blocks)):
        if not chosen[row].any() and candidates[row].any():
            positions = candidates[row].nonzero().flatten()
            pick = positions[torch.randint(len(positions), (1,), generator=generator)]
            chosen[row] |= words[row] == words[row, pick]
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    action = torch.rand(words.shape, generator=generator)
    random_ids = torch.randint(5, vocab_size, words.shape, generator=generator)
    masked = input_ids.clone()
    masked[chosen & (action < 0.8)] = mask_id
    replace = chosen & (action >= 0.8) & (action < 0.9)
    masked[replace] = random_ids[replace]
    attention_mask = (input_ids != pad_id).long()
    attention_mask[:, 0] = 1
    return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


def _endless_batches(
    blocks: Sequence[Block], batch_size: int, generator: torch.Generator
) -> Iterator[list[Block]]:
    """Shuffled passes over the blocks, batch_size at a time, for as long as asked."""
    loader = DataLoader(blocks, batch_size=batch_size, shuffle=True, generator=generator,
                        collate_fn=list)
    while True:
        yield from loader


def masked_lm_loss(model: AlbertForMaskedLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The MLM loss `model(**batch).loss` computes, with the decoder run on the masked
    positions only: the vocabulary projection over every piece is most of a step's work
    at BERT vocabulary sizes, and 85 % of it feeds positions the loss ignores."""
    hidden = model.albert(input_ids=batch["input_ids"],
                          attention_mask=batch["attention_mask"]).last_hidden_state
    predicted = batch["labels"] != -100
    logits = model.predictions(hidden[predicted])
    return torch.nn.functional.cross_entropy(logits, batch["labels"][predicted])


def load_mlm_model(model_dir: Path) -> AlbertForMaskedLM:
    """An AlbertForMaskedLM whose encoder holds model_dir's AlbertModel weights."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the MLM head is new by design: no warning
    try:
        return AlbertForMaskedLM.from_pretrained(str(model_dir))
    finally:
        hf_logging.set_verbosity(verbosity)


def save_encoder(model: AlbertForMaskedLM, model_dir: Path, output_dir: Path) -> None:
    """Write the trained encoder as an AlbertModel checkpoint plus model_dir's tokenizer files.

    The pooler, which MLM training does not use, is kept from the input checkpoint so the
    output loads without "newly initialised" weights.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        encoder = AlbertModel.from_pretrained(str(model_dir))
    finally:
        hf_logging.set_verbosity(verbosity)
    missing, unexpected = encoder.load_state_dict(model.albert.state_dict(), strict=False)
    if unexpected or any(not key.startswith("pooler.") for key in missing):
        raise ValueError(f"Encoder weights differ: missing {missing}, unexpected {unexpected}")
    encoder.save_pretrained(str(output_dir), safe_serialization=True)
    for path in Path(model_dir).iterdir():
        if path.is_file() and path.name not in WEIGHT_FILES:
            shutil.copy2(path, output_dir / path.name)


def pretrain(
    model_dir: Union[str, Path],
    corpus: Union[str, Path, Sequence[Union[str, Path]]],
    output_dir: Union[str, Path],
    steps: int,
    *,
    batch_size: int = 32,
    learn_rate: float = 5e-4,
    max_length: int = 128,
    whole_word_masking: bool = False,
    seed: int = 0,
    mlm_probability: float = 0.15,
    warmup_steps: Optional[int] = None,
    weight_decay: float = 0.01,
    grad_clip: float = 1.0,
    callback: Optional[Callable[[int, float], None]] = None,
) -> PretrainResult:
    """Continue masked-LM training of an ALBERT checkpoint on raw text.

    model_dir (Union[str, Path]): A local ALBERT checkpoint (e.g. from `init-model`).
    corpus (Union[str, Path, Sequence]): Text file(s), one sentence or paragraph per
        line, or `.spacy` DocBins whose doc texts are used.
    output_dir (Union[str, Path]): Where to write the pretrained checkpoint.
    steps (int): Optimizer updates.
    batch_size (int): Sequences per update.
    learn_rate (float): Peak AdamW learning rate (linear warmup, then linear decay).
    max_length (int): Pieces per sequence, [CLS] and [SEP] included.
    whole_word_masking (bool): Mask whole words instead of single pieces.
    seed (int): Seeds masking, batching and the new MLM head.
    mlm_probability (float): Share of pieces (or words) to predict.
    warmup_steps (Optional[int]): Warm-up updates (default: 10% of steps).
    weight_decay (float): AdamW weight decay (not applied to biases and LayerNorm).
    grad_clip (float): Gradient norm clipping.
    callback (Optional[Callable[[int, float], None]]): Called with (step, loss).
    RETURNS (PretrainResult): The output directory, per-step losses and throughput.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if not model_dir.is_dir():
        raise ValueError(f"MODEL_DIR '{model_dir}' is not a directory (build one with init-model).")
    corpus_paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    lines = read_corpus_lines([Path(path) for path in corpus_paths])
    fix_random_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("pretrain needs a fast tokenizer (tokenizer.json) for word ids.")
    blocks, n_words = make_blocks(tokenizer, lines, min(max_length, tokenizer.model_max_length))
    words_per_block = n_words / max(len(blocks), 1)
    model = load_mlm_model(model_dir)
    model.train()
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    params = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(params, lr=learn_rate)
    warmup = max(1, steps // 10) if warmup_steps is None else warmup_steps
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, steps)
    generator = torch.Generator().manual_seed(seed)
    batches = _endless_batches(blocks, batch_size, generator)
    losses: list[float] = []
    seen_blocks = 0
    start = time.perf_counter()
    for step in range(steps):
        blocks_batch = next(batches)
        batch = mask_batch(blocks_batch, tokenizer, generator, mlm_probability,
                           whole_word_masking)
        loss = masked_lm_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"MLM loss became {value} at step {step}; lower --learn-rate.")
        losses.append(value)
        seen_blocks += len(blocks_batch)
        if callback is not None:
            callback(step, value)
    elapsed = time.perf_counter() - start
    save_encoder(model, model_dir, output_dir)
    words_per_second = seen_blocks * words_per_block / max(elapsed, 1e-9)
    log = {
        "model_dir": str(model_dir),
        "corpus": [str(path) for path in corpus_paths],
        "steps": steps,
        "batch_size": batch_size,
        "learn_rate": learn_rate,
        "max_length": max_length,
        "whole_word_masking": whole_word_masking,
        "seed": seed,
        "mlm_probability": mlm_probability,
        "blocks": len(blocks),
        "corpus_words": n_words,
        "seconds": round(elapsed, 2),
        "words_per_second": round(words_per_second, 1),
        "losses": [round(value, 4) for value in losses],
    }
    (output_dir / LOG_FILE).write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    return PretrainResult(output_dir, losses, words_per_second)
