"""The Hugging Face baseline's fine-tuning loop: the seed's, with its two mistakes fixed.

The seed's loop is: tokenize, batch, `model(**batch, labels=...)`, `loss.backward()`,
`optimizer.step()`. Fixed here: token labels are aligned to the *first* subword of each word
through `word_ids()` (other pieces get -100), and the optimizer settings match the spaCy
config (AdamW, linear warm-up/decay as thinc's `warmup_linear.v1`, gradient clipping, and
thinc's parameter averages when `use_averages` is on), so the comparison is between the two
architectures, not between two sets of hyper-parameters.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    PreTrainedTokenizerFast,
    get_linear_schedule_with_warmup,
)

from spacy_albert.models.layer_rates import layer_lr_scale

from .data import count_words, epoch_batches
from .hf_baseline import first_pieces

Batch = tuple[dict[str, torch.Tensor], int]  # model inputs with `labels`, words in the batch


@dataclass
class LoopSettings:
    """Optimizer and batching settings of the loop (defaults as the spaCy configs).

    batch_size (int): Examples per update.
    learn_rate (float): Peak AdamW learning rate.
    warmup (int): Linear warm-up updates; the rate then decays linearly to 0 at the last step.
    grad_clip (float): Maximum norm of the whole gradient; 0 turns clipping off (as thinc's
        `grad_clip` does).
    weight_decay (float): AdamW weight decay (spaCy's `Adam.v1` with L2_is_weight_decay).
    max_length (int): Pieces per sequence (longer ones are truncated).
    seed (int): Seed of the batch order.
    length_groups (int): Forward/backward calls per update, over the batch's rows sorted
        by length, each padded to its own longest (spacy-albert's `train_length_groups`,
        given to this side too); the gradient is the whole batch's.
    use_averages (bool): Keep thinc's moving averages of the weights (`ParameterAverages`)
        and leave them in the model after the last update, as spaCy's `use_averages` does
        for the pipeline it evaluates and saves.
    layer_lr_decay (float): Layer-wise decay of the rate, as spacy-albert's
        `layer_lr_decay` (`spacy_albert.models.layer_rates`): the classifier (and pooler)
        step at the rate, the top layer group at this times it, each one below at this
        times the one above; 1 turns it off.
    """

    batch_size: int = 32
    learn_rate: float = 5e-4
    warmup: int = 0
    grad_clip: float = 1.0
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 0
    length_groups: int = 1
    use_averages: bool = False
    layer_lr_decay: float = 1.0


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


def make_optimizer(
    model: torch.nn.Module, steps: int, settings: LoopSettings
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW + linear warm-up/decay.

    `get_linear_schedule_with_warmup` is thinc's `warmup_linear.v1`: factor step / warmup
    during warm-up, starting at 0 on the first update, as thinc's first value is. With
    `layer_lr_decay`, the parameters are grouped by their layer's rate (the schedule
    multiplies every group's rate by the same factor); without it, they are one group.
    """
    by_rate: dict[float, list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        rate = settings.learn_rate
        if settings.layer_lr_decay != 1.0:
            rate *= layer_lr_scale(name, model.config.num_hidden_groups,
                                   settings.layer_lr_decay)
        by_rate.setdefault(rate, []).append(parameter)
    groups = [{"params": params, "lr": rate} for rate, params in by_rate.items()]
    optimizer = torch.optim.AdamW(groups, lr=settings.learn_rate,
                                  weight_decay=settings.weight_decay, eps=1e-8)
    return optimizer, get_linear_schedule_with_warmup(optimizer, settings.warmup, steps)


def align_first_subword(encoding: Any, word_labels: Sequence[Sequence[int]]) -> torch.Tensor:
    """Piece labels: each word's label on its first piece, -100 elsewhere (and on specials).

    encoding (BatchEncoding): From the fast tokenizer with `is_split_into_words=True`.
    word_labels (Sequence[Sequence[int]]): Label id per word, per sequence.
    RETURNS (torch.Tensor): (n_sequences, padded_length) labels.
    """
    width = len(encoding["input_ids"][0])
    labels = torch.full((len(word_labels), width), -100, dtype=torch.long)
    for row, tags in enumerate(word_labels):
        word_ids, first = first_pieces(encoding.word_ids(row))
        positions = torch.from_numpy(first.nonzero()[0])
        labels[row, positions] = torch.tensor([tags[w] for w in word_ids[first].tolist()],
                                              dtype=torch.long)
    return labels


class ParameterAverages:
    """thinc's `Optimizer` averages for a torch model: after each update of a parameter (one
    with a gradient), average -= (1 - decay) * (average - weight), from zeros, with decay
    (1 + t) / (10 + t) at the parameter's t-th update, capped at 0.9999 (`Ops.update_averages`).

    model (torch.nn.Module): The model whose parameters are averaged.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.parameters = [weight for weight in model.parameters() if weight.requires_grad]
        self.averages = [torch.zeros_like(weight) for weight in self.parameters]
        self.updates = [0] * len(self.parameters)

    @torch.no_grad()
    def update(self) -> None:
        """Average in the weights of the parameters the last backward pass reached."""
        for i, (weight, average) in enumerate(zip(self.parameters, self.averages)):
            if weight.grad is None:
                continue
            self.updates[i] += 1
            decay = min((1.0 + self.updates[i]) / (10.0 + self.updates[i]), 0.9999)
            average.sub_((1.0 - decay) * (average - weight))

    @torch.no_grad()
    def copy_to_model(self) -> None:
        """Replace each updated parameter by its average."""
        for weight, average, updates in zip(self.parameters, self.averages, self.updates):
            if updates:
                weight.copy_(average)


class HFLoop:
    """The seed's update step with its optimizer state kept across steps.

    model (torch.nn.Module): Trained in place.
    steps (int): Updates the schedule spans.
    settings (LoopSettings): Optimizer settings.
    """

    def __init__(self, model: torch.nn.Module, steps: int, settings: LoopSettings) -> None:
        self.model = model
        self.settings = settings
        self.optimizer, self.scheduler = make_optimizer(model, steps, settings)
        self.averages = ParameterAverages(model) if settings.use_averages else None

    def step(self, inputs: dict[str, torch.Tensor]) -> float:
        """One update: forward, backward, clipping, optimizer and schedule step; the loss."""
        self.model.train()
        loss = torch.zeros(())
        for group_inputs, weight in length_grouped(inputs, self.settings.length_groups):
            group_loss = self.model(**group_inputs).loss * weight
            group_loss.backward()
            loss += group_loss.detach()
        if self.settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.optimizer.step()
        if self.averages is not None:
            self.averages.update()  # before zero_grad, which tells which were updated
        self.scheduler.step()
        self.optimizer.zero_grad()
        return float(loss.detach())

    def finish(self) -> None:
        """Leave the model in eval mode, with the averaged weights if they were kept."""
        if self.averages is not None:
            self.averages.copy_to_model()
        self.model.eval()


def length_grouped(inputs: dict[str, torch.Tensor], n_groups: int
                   ) -> list[tuple[dict[str, torch.Tensor], float]]:
    """The batch as up to n_groups batches of rows sorted by length, each cut to its own
    longest row, with the weight that makes their mean losses add up to the batch's (the
    share of the batch's labelled positions; -100 marks unlabelled pieces)."""
    if n_groups <= 1:
        return [(inputs, 1.0)]
    lengths = inputs["attention_mask"].sum(dim=1)
    labelled = (inputs["labels"] != -100).reshape(len(lengths), -1).sum(dim=1)
    groups = [rows for rows in torch.argsort(lengths, stable=True).chunk(n_groups) if len(rows)]

    def cut(value: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        # Per-piece tensors (ids, mask, token labels) lose the padding past the group's
        # longest row; per-row ones (sequence labels) only their other rows.
        return value[rows, : int(lengths[rows].max())] if value.dim() == 2 else value[rows]

    return [({key: cut(value, rows) for key, value in inputs.items()},
             float(labelled[rows].sum() / labelled.sum())) for rows in groups]


def token_batch(tokenizer: PreTrainedTokenizerFast, sentences: Sequence[Sequence[str]],
                tags: Sequence[Sequence[int]], max_length: int) -> Batch:
    """Token-classification inputs with first-subword labels, and the words in them."""
    encoding = tokenizer([list(words) for words in sentences], is_split_into_words=True,
                         truncation=True, max_length=max_length, padding=True,
                         return_tensors="pt")
    inputs = {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"],
              "labels": align_first_subword(encoding, tags)}
    return inputs, sum(len(words) for words in sentences)


def sequence_batch(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str],
                   labels: Sequence[int], max_length: int) -> Batch:
    """Sequence-classification inputs with labels, and the words in them."""
    inputs = dict(tokenizer(list(texts), truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt"))
    inputs["labels"] = torch.tensor(list(labels))
    return inputs, count_words(texts)


def train(model: torch.nn.Module, n_examples: int, make_batch: Callable[[list[int]], Batch],
          steps: int, settings: LoopSettings) -> TrainStats:
    """The seed's loop: shuffled batches, AdamW + linear warm-up/decay, gradient clipping.

    model (torch.nn.Module): Trained in place, left in eval mode (with the averaged weights
        when `settings.use_averages`).
    n_examples (int): Examples to draw batches from.
    make_batch (Callable[[list[int]], Batch]): Example indices -> (model inputs with `labels`,
        words in them).
    steps (int): Updates (batches); the data is reshuffled each pass.
    settings (LoopSettings): Optimizer and batching settings.
    RETURNS (TrainStats): Throughput and losses (batch building included in the time).
    """
    loop = HFLoop(model, steps, settings)
    batches = epoch_batches(n_examples, settings.batch_size, settings.seed)
    losses: list[float] = []
    words = 0
    start = time.perf_counter()
    for _ in range(steps):
        inputs, batch_words = make_batch(next(batches))
        losses.append(loop.step(inputs))
        words += batch_words
    loop.finish()
    return TrainStats(steps, words, time.perf_counter() - start, losses)


def train_token_classifier(
    model: AlbertForTokenClassification,
    tokenizer: PreTrainedTokenizerFast,
    sentences: Sequence[Sequence[str]],
    tags: Sequence[Sequence[int]],
    steps: int,
    settings: LoopSettings,
) -> TrainStats:
    """The seed's token-classification loop with first-subword label alignment.

    sentences (Sequence[Sequence[str]]): Words per sentence.
    tags (Sequence[Sequence[int]]): Tag id per word.
    The other arguments are `train`'s.
    """

    def make_batch(index: list[int]) -> Batch:
        return token_batch(tokenizer, [sentences[i] for i in index], [tags[i] for i in index],
                           settings.max_length)

    return train(model, len(sentences), make_batch, steps, settings)


def train_sequence_classifier(
    model: AlbertForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    texts: Sequence[str],
    labels: Sequence[int],
    steps: int,
    settings: LoopSettings,
) -> TrainStats:
    """The seed's text-classification loop.

    texts (Sequence[str]): The texts.
    labels (Sequence[int]): Label id per text.
    The other arguments are `train`'s.
    """

    def make_batch(index: list[int]) -> Batch:
        return sequence_batch(tokenizer, [texts[i] for i in index], [labels[i] for i in index],
                              settings.max_length)

    return train(model, len(texts), make_batch, steps, settings)


def loss_curve(losses: Sequence[float], points: int = 30) -> list[float]:
    """The losses averaged over `points` equal stretches of steps (for the results file)."""
    if not losses:
        return []
    size = max(1, -(-len(losses) // points))
    return [round(sum(chunk) / len(chunk), 4)
            for chunk in (losses[i:i + size] for i in range(0, len(losses), size))]
