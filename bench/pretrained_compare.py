"""Same checkpoint, data and number of updates: spacy-albert against the seed's HF loop.

    python -m bench.pretrained_compare --corpus corpus/en_pretrained_real \
        --model models/en-pretrained [--steps 3000] [--batch 32] [--seeds 3] \
        [--lr-grid 5e-5,1e-4,2e-4] \
        [--systems albert-sentence,albert-document,albert-sst2,hf-ner,hf-sst2] \
        [--threads 2] [--jobs 1] [--out bench/results/pretrained_compare.json] [--work-dir DIR]
        [--albert-override components.textcat.model.tok2vec.grad_factor=4 ...]
        [--hf-override grad_clip=0 ...]
        [--extend bench/results/pretrained_compare_1400_hf-sst2.json --seeds 5]

Systems, all on the same imported checkpoint and the corpus `bench.pretrained_data` wrote:
- albert-sentence / albert-document: the joint textcat+ner pipeline (configs/textcat_ner.cfg),
  trained and scored on one doc per CoNLL sentence, or per -DOCSTART- document (the encoder's
  strided windows then read the sentences around each one, as FLERT does);
- albert-sst2: the textcat pipeline (configs/textcat.cfg) on the SST-2 texts alone, each update
  `batch` of them: the single-task counterpart of hf-sst2;
- hf-ner / hf-sst2: the seed's loop (`bench.hf_training`): AlbertForTokenClassification on CoNLL
  sentences with first-subword labels, AlbertForSequenceClassification on SST-2.

The budget is the same for all: `steps` updates, AdamW, warmup_linear with 10 % warm-up,
weight decay 0.01, clipping 1.0. An HF update is `batch` CoNLL sentences (or SST-2 texts); a
spacy-albert update is a batch of as many words as `batch` CoNLL sentences plus `batch` SST-2
texts hold on average (`spacy.batch_by_words.v1`), so with the corpus's default balance (as
many SST-2 texts as CoNLL sentences) each task gets the same text per update. The learning
rate of each system is its best on dev from the same grid at seed 0 (the joint pipeline by the
mean of CoNLL F1 and SST-2 accuracy, each HF model by its own task); seeds 1.. then train at
that rate. The grid's runs, then the seeds', train in `--jobs` worker processes at once, each
with `--threads` threads (with a one-rate grid every seed at once, as there is nothing to
pick). Every system is scored by the same functions (seqeval entity F1, accuracy) on dev and
test. The results file is rewritten after every run. `--albert-override` changes the
spacy-albert systems' configs (as `spacy train`'s overrides do; a setting a system's config
lacks stops the comparison before it trains); `--hf-override` changes the HF loop's settings
(`HF_LOOP_OVERRIDES`, e.g. grad_clip=0). The budget records both and BENCHMARKS names such a
system by them.
`--extend FILE` adds seeds or grid rates to a finished comparison with the same budget: FILE's
search and runs are copied (with the CPU they ran on); the rates of `--lr-grid` FILE has not
tried train at seed 0, a rate that beats FILE's pick on dev replaces its runs, the pick trains
the seeds below `--seeds` it lacks, and the new file names FILE in its meta.
"""

import argparse
import ctypes
import multiprocessing
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import srsly  # noqa: E402
import torch  # noqa: E402

from spacy_albert.checkpoints.pretrain import LOG_FILE as PRETRAIN_LOG  # noqa: E402
from spacy_albert.models.cpu import current_cpu  # noqa: E402

from .fairness import mean_sd  # noqa: E402
from .meta import load_average, results_meta  # noqa: E402
from .pretrained_data import CONTEXTS, Context, SplitData, load_split  # noqa: E402
from .pretrained_systems import (  # noqa: E402
    HF_LOOP_OVERRIDES,
    CompareBudget,
    HFTask,
    Scores,
    Trained,
    Trainer,
    albert_trainer,
    batch_words,
    hf_trainer,
)
from .settings import RESULTS  # noqa: E402

PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal a process gets when its parent dies
SYSTEMS = ("albert-sentence", "albert-document", "albert-sst2", "hf-ner", "hf-sst2")
DESCRIPTIONS = {
    "albert-sentence": "spacy-albert joint textcat+ner, one doc per CoNLL sentence",
    "albert-document": "spacy-albert joint textcat+ner, one doc per CoNLL document",
    "albert-sst2": "spacy-albert textcat alone (configs/textcat.cfg), SST-2 texts",
    "hf-ner": "HF loop: AlbertForTokenClassification, first-subword labels",
    "hf-sst2": "HF loop: AlbertForSequenceClassification",
}
@dataclass
class SeedRun:
    """One training run at the chosen learning rate."""

    seed: int
    dev: Scores
    test: Scores
    train_seconds: float
    train_words_per_s: float
    cpu: Optional[str] = None  # bench.meta's CPU summary of the machine it trained on

    @classmethod
    def from_json(cls, data: dict[str, Any], cpu: Optional[str]) -> "SeedRun":
        """A run as a results file stores it; `cpu` where the file predates the field."""
        return cls(data["seed"], Scores(**data["dev"]), Scores(**data["test"]),
                   data["train_seconds"], data["train_words_per_s"], data.get("cpu") or cpu)


@dataclass
class SystemResult:
    """One system's learning-rate search and seed runs."""

    description: str
    lr_search: dict[str, Scores] = field(default_factory=dict)
    learn_rate: Optional[float] = None
    runs: list[SeedRun] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and sample standard deviation over the seeds of each score."""
        out: dict[str, dict[str, float]] = {}
        for split in ("dev", "test"):
            for metric in ("conll_f1", "sst2_accuracy"):
                values = [getattr(getattr(run, split), metric) for run in self.runs]
                if values and values[0] is not None:
                    out[f"{split}_{metric}"] = mean_sd(values)
        return out

    def to_json(self) -> dict[str, Any]:
        """The fields, the seed summary, and the dev score each grid rate was picked by."""
        return {**asdict(self), "summary": self.summary(),
                "lr_selection": {rate: round(scores.selection(), 2)
                                 for rate, scores in self.lr_search.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any], cpu: Optional[str]) -> "SystemResult":
        """A system as a results file stores it (`cpu`: the file's, for runs without one)."""
        return cls(data["description"],
                   {rate: Scores(**scores) for rate, scores in data["lr_search"].items()},
                   data["learn_rate"], [SeedRun.from_json(run, cpu) for run in data["runs"]])


def seed_run(seed: int, trained: Trained, dev: Scores) -> SeedRun:
    return SeedRun(seed, dev, trained.score("test"), round(trained.seconds, 1),
                   round(trained.words / max(trained.seconds, 1e-9), 1), current_cpu().summary())


def train_and_score(train: Trainer, learn_rate: float, seed: int) -> SeedRun:
    """One seed trained at the rate and scored on dev and test."""
    trained = train(learn_rate, seed)
    return seed_run(seed, trained, trained.score("dev"))


Job = tuple[float, int]  # (learning rate, seed)
JobRunner = Callable[[Sequence[Job]], Iterable[tuple[Job, SeedRun]]]


def sweep(train: Trainer, budget: CompareBudget, result: SystemResult,
          saved: Callable[[], None], run_jobs: Optional[JobRunner] = None) -> SystemResult:
    """Pick the learning rate on dev at seed 0, then train the other seeds at it.

    train (Trainer): (learn_rate, seed) -> the trained system.
    budget (CompareBudget): The grid and the number of seeds.
    result (SystemResult): Filled in place. One from an earlier file (`--extend`) keeps its
        search and runs: only the grid's rates it has not tried train at seed 0, a rate that
        beats its pick on dev replaces the pick's runs, and the pick gets the seeds below
        `budget.seeds` it lacks.
    saved (Callable[[], None]): Called after every run (writes the results file).
    run_jobs (Optional[JobRunner]): [(learn_rate, seed)] -> each job with its run, in any
        order, e.g. from worker processes; by default `train` runs them here one by one.
    """

    def one_by_one(jobs: Sequence[Job]) -> Iterator[tuple[Job, SeedRun]]:
        for learn_rate, seed in jobs:
            yield (learn_rate, seed), train_and_score(train, learn_rate, seed)

    def add(runs: Iterable[tuple[Job, SeedRun]]) -> None:
        for _, run in runs:
            result.runs.append(run)
            result.runs.sort(key=lambda each: each.seed)
            saved()

    run_jobs = run_jobs or one_by_one
    if result.learn_rate is None and len(budget.lr_grid) == 1:
        # Nothing to pick: seed 0 is the grid's run, and every seed trains at once.
        rate = result.learn_rate = budget.lr_grid[0]
        for (_, seed), run in run_jobs([(rate, seed) for seed in range(budget.seeds)]):
            if seed == 0:
                result.lr_search[f"{rate:g}"] = run.dev
            add([((rate, seed), run)])
        return result
    seed_zero: dict[float, SeedRun] = {}
    grid = [f"{rate:g}" for rate in budget.lr_grid]  # the search is kept in the grid's order
    untried = [rate for rate in budget.lr_grid if f"{rate:g}" not in result.lr_search]
    for (rate, _), run in run_jobs([(rate, 0) for rate in untried]):
        seed_zero[rate] = run
        result.lr_search[f"{rate:g}"] = run.dev
        result.lr_search = {key: result.lr_search[key] for key in grid if key in result.lr_search}
        saved()
    earlier = result.learn_rate
    best = float(max(result.lr_search,  # a tie keeps the earlier pick
                     key=lambda rate: (result.lr_search[rate].selection(), float(rate) == earlier)))
    if best != earlier:
        result.learn_rate, result.runs = best, [seed_zero[best]]
    saved()
    done = {run.seed for run in result.runs}
    add(run_jobs([(best, seed) for seed in range(budget.seeds) if seed not in done]))
    return result


def train_seed(args: argparse.Namespace, name: str, learn_rate: float, seed: int) -> SeedRun:
    """One seed of one system, trained and scored in a worker process."""
    torch.set_num_threads(args.threads)
    train, budget, splits = load_inputs(args)
    return train_and_score(make_trainer(name, args, budget, train, splits), learn_rate, seed)


def die_with_parent() -> None:
    """Worker initializer: on Linux the worker gets SIGTERM when the comparison's process
    dies, so stopping it (`kill PID`) does not leave seeds training unseen, on the cores
    the next run measures with."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """`jobs` worker processes that die with this one.

    Spawned, not forked: torch's OpenMP pool does not survive a fork of a process that has
    already trained.
    """
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent)


def worker_jobs(args: argparse.Namespace, name: str) -> JobRunner:
    """Runs trained in `args.jobs` worker processes, yielded as each finishes."""

    def run(jobs: Sequence[Job]) -> Iterator[tuple[Job, SeedRun]]:
        with worker_pool(args.jobs) as pool:
            futures = {pool.submit(train_seed, args, name, rate, seed): (rate, seed)
                       for rate, seed in jobs}
            for future in as_completed(futures):
                yield futures[future], future.result()

    return run


# ---------------------------------------------------------------- the run


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pretrained_compare",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True,
                        help="The layout `bench.pretrained_data corpus` wrote.")
    parser.add_argument("--model", type=Path, required=True,
                        help="The imported checkpoint (init-model --from).")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr-grid", default="5e-5,1e-4,2e-4")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--threads", type=int, default=2, help="Torch threads per run.")
    parser.add_argument("--jobs", type=int, default=1,
                        help="Seeds trained at once, each in its own process.")
    parser.add_argument("--out", type=Path, default=RESULTS / "pretrained_compare.json")
    parser.add_argument("--work-dir", type=Path, default=Path("training") / "pretrained_compare")
    parser.add_argument("--albert-override", action="append", default=[], metavar="PATH=VALUE",
                        help="A config override of the spacy-albert systems (repeatable); "
                             "the value is read as JSON where it parses, else as a string.")
    parser.add_argument("--hf-override", action="append", default=[], metavar="NAME=VALUE",
                        help="A setting of the HF loop (repeatable): "
                             f"{', '.join(HF_LOOP_OVERRIDES)}.")
    parser.add_argument("--extend", type=Path, default=None, metavar="FILE",
                        help="A finished results file of the same budget: copy its runs and "
                             "train only the seeds it lacks, up to --seeds.")
    args = parser.parse_args(argv)
    try:
        args.albert_overrides = dict(parse_override(item) for item in args.albert_override)
    except ValueError as error:
        parser.error(f"--albert-override: {error}")
    try:
        args.hf_overrides = dict(parse_override(item) for item in args.hf_override)
    except ValueError as error:
        parser.error(f"--hf-override: {error}")
    if not all(name in HF_LOOP_OVERRIDES and fits_setting(value, HF_LOOP_OVERRIDES[name])
               for name, value in args.hf_overrides.items()):
        expected = ", ".join(f"{name} ({kind.__name__})"
                             for name, kind in HF_LOOP_OVERRIDES.items())
        parser.error(f"--hf-override: one of {expected}, got {args.hf_override}")
    try:
        args.lr_grid = tuple(float(rate) for rate in args.lr_grid.split(",") if rate.strip())
    except ValueError:
        parser.error(f"--lr-grid: comma-separated numbers, got {args.lr_grid!r}")
    args.systems = tuple(name.strip() for name in args.systems.split(",") if name.strip())
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown or not args.systems:
        parser.error(f"--systems: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(SYSTEMS)}")
    if args.steps < 2 or min(args.batch, args.seeds, args.jobs, args.threads) < 1 \
            or not args.lr_grid:
        parser.error("--steps must be >= 2, --batch, --seeds, --jobs and --threads >= 1, "
                     "--lr-grid not empty")
    return args


def fits_setting(value: Any, kind: type) -> bool:
    """Whether an override's JSON value suits a loop setting of type `kind`: true/false for a
    bool, an integer for an int, any number for a float (bool is an int in Python, and
    "grad_clip=true" means nothing to the loop)."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    return isinstance(value, int) if kind is int else isinstance(value, (int, float))


def parse_override(item: str) -> tuple[str, Any]:
    """"components.x.y=4" -> ("components.x.y", 4): the value as JSON, else the string."""
    path, sep, text = item.partition("=")
    if not sep or not path.strip():
        raise ValueError(f"expected PATH=VALUE, got {item!r}")
    try:
        value = srsly.json_loads(text)
    except ValueError:
        value = text
    return path.strip(), value


def pretraining_log(model: Path) -> Optional[dict[str, Any]]:
    """What `pretrain` did to the checkpoint (its log, less the per-step losses), if it ran."""
    path = model / PRETRAIN_LOG
    if not path.exists():
        return None
    log = srsly.read_json(path)
    log.pop("losses", None)
    return log


# What must match for a file's runs to be extended: everything but the seeds, the jobs and
# the grid (which may grow).
EXTEND_IGNORES = ("seeds", "jobs", "lr_grid")


def extended_systems(path: Path, setup: dict[str, Any], names: Sequence[str]
                     ) -> tuple[dict[str, SystemResult], dict[str, Any]]:
    """The systems of an earlier results file to add seeds or grid rates to, and a note for
    the meta.

    RAISES (SystemExit): Where the file's budget or data differ, its grid has a rate the new
        one lacks, its run did not finish, it lacks a system, or it has the grid and the
        seeds asked for already.
    """
    earlier = srsly.read_json(path)
    meta, budget = earlier["meta"], earlier["budget"]
    setup = srsly.json_loads(srsly.json_dumps(setup))  # as the file holds it: lists, not tuples
    differ = sorted(key for key in {*budget, *setup} - set(EXTEND_IGNORES)
                    if budget.get(key) != setup.get(key))
    problems = [f"its budget differs in {', '.join(differ)}"] if differ else []
    new_rates = sorted(set(setup["lr_grid"]) - set(budget["lr_grid"]))
    dropped = sorted(set(budget["lr_grid"]) - set(setup["lr_grid"]))
    if dropped:
        problems.append(f"its grid has {', '.join(f'{rate:g}' for rate in dropped)}, which "
                        "--lr-grid lacks")
    if not meta.get("complete"):
        problems.append("its run did not finish")
    missing = [name for name in names if name not in earlier["systems"]]
    if missing:
        problems.append(f"it has no {', '.join(missing)}")
    elif budget["seeds"] >= setup["seeds"] and not new_rates:
        problems.append(f"it has {budget['seeds']} seeds already (--seeds {setup['seeds']}) "
                        "and every rate of --lr-grid")
    if problems:
        sys.exit(f"--extend {path}: {'; '.join(problems)}")
    systems = {name: SystemResult.from_json(earlier["systems"][name], meta["cpu"])
               for name in names}
    copied = (f"Seeds 0–{budget['seeds'] - 1} are copied from `{path.name}` ({meta['date']}, "
              f"{meta['cpu']})")
    if new_rates:
        rates = ", ".join(f"{rate:g}" for rate in new_rates)
        # `pick_outcome` adds, per system, what the new rates did to its pick.
        note = (f"{copied}, with its grid's dev scores at seed 0; this run tried {rates} at "
                f"seed 0 and trained the seeds below {setup['seeds']} the pick lacked.")
    else:
        note = f"{copied}; seeds {budget['seeds']}–{setup['seeds'] - 1} trained in this run."
    return systems, {"extends": {"file": path.name, "command": meta["command"],
                                 "date": meta["date"], "cpu": meta["cpu"],
                                 "seeds": budget["seeds"], "new_rates": new_rates},
                     "note": note}


def pick_outcome(name: str, copied_pick: float, result: SystemResult) -> str:
    """What an `--extend`ed grid did to a system's copied pick, for the note."""
    if result.learn_rate == copied_pick:
        return f"{name} kept {copied_pick:g}."
    return (f"For {name}, {result.learn_rate:g} beat the copied pick {copied_pick:g} on dev "
            "and replaced its seeds.")


def make_trainer(name: str, args: argparse.Namespace, budget: CompareBudget,
                 train: SplitData, splits: dict[Context, dict[str, SplitData]]) -> Trainer:
    if name in ("hf-ner", "hf-sst2"):
        task: HFTask = "ner" if name == "hf-ner" else "sst2"
        return hf_trainer(task, args.model, budget, train, splits["sentence"],
                          args.hf_overrides)
    context: Context = "document" if name == "albert-document" else "sentence"
    return albert_trainer(args.model, args.corpus, context, budget, args.work_dir,
                          splits[context], args.albert_overrides,
                          "sst2" if name == "albert-sst2" else "joint")


def load_inputs(args: argparse.Namespace) -> tuple[SplitData, CompareBudget,
                                                   dict[Context, dict[str, SplitData]]]:
    """The training split, the budget it sets, and every context's dev and test splits."""
    train = load_split(args.corpus, "sentence", "train")
    budget = CompareBudget(args.steps, args.batch, batch_words(train, args.batch),
                           args.lr_grid, args.seeds)
    splits = {context: {split: load_split(args.corpus, context, split)
                        for split in ("dev", "test")} for context in CONTEXTS}
    return train, budget, splits


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    command = "python -m bench.pretrained_compare " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    train, budget, splits = load_inputs(args)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    setup = {
        **asdict(budget), "warmup": budget.warmup,
        "schedule": "AdamW, warmup_linear (10 % warm-up) to 0 at the last update, weight decay "
                    "0.01, gradient clipping 1.0",
        "model": str(args.model), "corpus": str(args.corpus),
        "model_pretraining": pretraining_log(args.model),
        "albert_overrides": args.albert_overrides, "jobs": args.jobs,
        # Only where given, so files from before the flag still `--extend`.
        **({"hf_overrides": args.hf_overrides} if args.hf_overrides else {}),
        "conll_train_sentences": len(train.conll), "sst2_train_texts": len(train.sst),
        "eval": {f"{context}/{split}": {"conll_docs": len(data.conll), "sst2_texts": len(data.sst)}
                 for context, by_split in splits.items() for split, data in by_split.items()},
    }
    systems: dict[str, SystemResult] = {}
    extension: dict[str, Any] = {}
    if args.extend:
        systems, extension = extended_systems(args.extend, setup, args.systems)

    def save(final: bool = False) -> None:
        meta = results_meta(command, args.threads, started, load_start, complete=final,
                            **extension)
        srsly.write_json(args.out, {"meta": meta, "budget": setup,
                                    "systems": {name: result.to_json()
                                                for name, result in systems.items()}})

    for name in args.systems:
        print(f"[pretrained_compare] {name}: grid {args.lr_grid}, {args.seeds} seed(s), "
              f"{args.steps} updates", flush=True)
        systems.setdefault(name, SystemResult(DESCRIPTIONS[name]))
        copied_pick = systems[name].learn_rate
        sweep(make_trainer(name, args, budget, train, splits), budget, systems[name], save,
              worker_jobs(args, name) if args.jobs > 1 else None)
        if args.extend and extension["extends"]["new_rates"]:
            extension["note"] += " " + pick_outcome(name, copied_pick, systems[name])
        print(f"[pretrained_compare] {name}: lr {systems[name].learn_rate:g}, "
              f"{systems[name].summary()}", flush=True)
    save(final=True)
    print(f"[pretrained_compare] wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
