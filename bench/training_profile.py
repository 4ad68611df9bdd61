"""Where a joint training step's time goes: phase timers around spaCy's update.

`python -m bench.training_profile` runs the steps `bench.training` times (the same
checkpoints, data and batches: CoNLL + SST-2 sentences per step, `configs/textcat_ner.cfg`)
with a wall-clock timer around each phase of `nlp.update`, and the HF loop's two updates on
the same batches, its tokenization timed apart. The phases are disjoint; "heads and the
rest" is the update's time minus the others (listeners, the ner and textcat forward and
backward, spaCy's bookkeeping).
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from spacy_albert.models import encoder
from spacy_albert.models.encoder import DEFAULT_TRAIN_LENGTH_GROUPS
from spacy_albert.models.length_groups import length_groups

from .data import find_data_dir, spacy_examples
from .hf_training import length_grouped
from .meta import add_location_args, command_line, load_average, results_meta
from .pipelines import model_dir
from .render import write_markdown
from .settings import RESULTS
from .training import WARMUP_STEPS, side_by_side

PHASES = ("examples", "tokenize", "align", "encoder forward", "encoder backward", "optimizer",
          "heads and the rest")


class PhaseTimer:
    """Seconds per phase, summed over the timed steps; and the encoder's padded and
    real pieces."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.pieces: dict[str, int] = defaultdict(int)
        self.on = False

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.on:
                self.seconds[name] += time.perf_counter() - start

    def wrap(self, name: str, func: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return func(*args, **kwargs)
        return timed


class TimedOptimizer:
    """A thinc optimizer whose parameter updates (encoder and heads) are timed."""

    def __init__(self, optimizer: Any, timer: PhaseTimer) -> None:
        self._optimizer = optimizer
        self._timer = timer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._timer.phase("optimizer"):
            return self._optimizer(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._optimizer, name)


def instrument_encoder(timer: PhaseTimer) -> None:
    """Time tokenization, alignment and the encoder's forward and backward. Must run
    before the pipeline is built: its model keeps the forward function it was given."""
    forward = encoder.albert_forward
    encoder.tokenize_fitting = timer.wrap("tokenize", encoder.tokenize_fitting)
    encoder.get_exact_alignment = timer.wrap("align", encoder.get_exact_alignment)

    def albert_forward(model: Any, docs: list, is_train: bool) -> tuple:
        before = timer.seconds["tokenize"] + timer.seconds["align"]
        start = time.perf_counter()
        output, backprop = forward(model, docs, is_train)
        if timer.on:
            inner = timer.seconds["tokenize"] + timer.seconds["align"] - before
            timer.seconds["encoder forward"] += time.perf_counter() - start - inner
            groups = length_groups(output.wordpieces, model.attrs["train_length_groups"])
            timer.pieces["padded"] += sum(len(rows) * width for rows, width in groups)
            timer.pieces["real"] += int(output.wordpieces.attention_mask.sum())
        return output, timer.wrap("encoder backward", backprop)

    encoder.albert_forward = albert_forward


def profile_size(timer: PhaseTimer, model: Path, data: Path, steps: int, batch: int,
                 n_groups: int, seed: int = 0) -> dict[str, Any]:
    """Milliseconds per step, per phase, for one model size; and the HF loop's.

    timer (PhaseTimer): The timer `instrument_encoder` installed (reset here).
    model (Path): The ALBERT checkpoint both sides start from.
    data (Path): The data folder.
    steps (int): Timed steps (after WARMUP_STEPS untimed ones).
    batch (int): Sentences of each data set per step.
    n_groups (int): Length groups per joint update (each HF update: `hf_length_groups`).
    seed (int): Seed of the samples and batches.
    RETURNS (dict[str, Any]): ms per step per phase, their shares, and the HF loop's ms.
    """
    timer.seconds.clear()
    timer.pieces.clear()
    sides = side_by_side(model, data, steps, batch, n_groups, seed)
    optimizer = TimedOptimizer(sides.optimizer, timer)
    update_seconds = hf_seconds = hf_tokenize_seconds = 0.0
    hf_pieces = 0
    for step, (conll_batch, sst_batch) in enumerate(sides.steps_data):
        timer.on = step >= WARMUP_STEPS
        with timer.phase("examples"):
            examples = spacy_examples(sides.nlp, conll_batch, sst_batch)
        start = time.perf_counter()
        sides.nlp.update(examples, sgd=optimizer, drop=0.1, losses={})
        t1 = time.perf_counter()
        token_inputs, sequence_inputs = sides.hf_inputs(conll_batch, sst_batch)
        t2 = time.perf_counter()
        sides.token_loop.step(token_inputs)
        sides.sequence_loop.step(sequence_inputs)
        t3 = time.perf_counter()
        if timer.on:
            hf_pieces += sum(group["input_ids"].numel()
                             for inputs in (token_inputs, sequence_inputs)
                             for group, _ in length_grouped(inputs,
                                                            sides.settings.length_groups))
            update_seconds += t1 - start
            hf_tokenize_seconds += t2 - t1
            hf_seconds += t3 - t1
    measured = sum(seconds for name, seconds in timer.seconds.items() if name != "examples")
    timer.seconds["heads and the rest"] = update_seconds - measured
    ms = {name: round(1000 * timer.seconds[name] / steps, 1) for name in PHASES}
    spacy_ms = sum(ms.values())
    return {
        "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
        "length_groups": n_groups,
        "hf_length_groups": sides.settings.length_groups,
        "spacy_ms_per_step": ms,
        "spacy_share": {name: round(value / spacy_ms, 3) for name, value in ms.items()},
        "spacy_total_ms": round(spacy_ms, 1),
        "hf_total_ms": round(1000 * hf_seconds / steps, 1),
        "hf_tokenize_ms": round(1000 * hf_tokenize_seconds / steps, 1),
        # Encoder input per step, as run: each side's batches in length groups, each
        # padded to its own longest row.
        "pieces_per_step": {"spacy_padded": timer.pieces["padded"] // steps,
                            "hf_padded": hf_pieces // steps,
                            "real": timer.pieces["real"] // steps},
    }


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.training_profile",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length-groups", type=int, default=DEFAULT_TRAIN_LENGTH_GROUPS,
                        help="Length groups per joint update (each HF model's: half).")
    parser.add_argument("--name", default="training-profile", help="Results file stem.")
    parser.add_argument("--threads", type=int, default=2)
    add_location_args(parser, RESULTS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    data = find_data_dir(args.data_dir)
    timer = PhaseTimer()
    instrument_encoder(timer)
    profile = {}
    for size in args.sizes.split(","):
        print(f"[training_profile] {size}", flush=True)
        profile[size] = profile_size(timer, model_dir(Path(args.work_dir), size, data), data,
                                     args.steps, args.batch, args.length_groups)
    results = {"training_profile": profile,
               "meta": results_meta(command_line("bench.training_profile", argv),
                                    args.threads, started, load_start)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n",
                                               encoding="utf-8")
    if out.resolve() == RESULTS.resolve():
        write_markdown(out)
    print(json.dumps(profile, indent=2), flush=True)


if __name__ == "__main__":
    main()
