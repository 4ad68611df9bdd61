"""Accuracy with both sides tuned the same way: CoNLL-2003 F1 and SST-2 accuracy.

spacy-albert and the HF loop (two models) each pick their peak learning rate on the dev set
from the same grid (first seed), then train at it on every seed; test scores are mean ± sd
over the seeds. The same trained models are also scored in bf16 (where the CPU runs it
natively) and int8 (ours: `quantize`; HF: `torch.ao` dynamic), which gives each side's
accuracy loss for the headline rule. spaCy's CNN pipeline (its own default rate) and
spacy-albert after domain MLM pretraining (at spacy-albert's rate) run on the same seeds.
A task that stays at chance is reported as not learned (bench.fairness).
"""

import contextlib
import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

import numpy
import spacy
import srsly
import torch
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import load_config

from spacy_albert.checkpoints.builder import TRAINING_RECIPE_FILE
from spacy_albert.convert import write_docbin
from spacy_albert.models.cpu import current_cpu

from . import hf_baseline as hf
from .data import TaggedSentence, conll_sentences, iob_tags, read_sst, sample, spacy_examples
from .fairness import TASKS, accuracy_loss, learned, majority_accuracy, mean_sd, pick_learn_rate
from .hf_training import LoopSettings, loss_curve, train_sequence_classifier, train_token_classifier
from .pipelines import model_dir, quantized_pipeline, vocab_corpus
from .settings import BF16, CONFIGS, Budget

Scores = dict[str, float]


@dataclass
class EvalSet:
    """CoNLL sentences and SST-2 sentences scored together.

    conll (list[TaggedSentence]): CoNLL sentences.
    sst (list[tuple[str, int]]): SST-2 (text, label) pairs.
    """

    conll: list[TaggedSentence]
    sst: list[tuple[str, int]]

    @property
    def majority(self) -> float:
        """SST-2 accuracy of always predicting the most frequent label."""
        return majority_accuracy([label for _, label in self.sst])


@dataclass
class AccuracyData:
    """The samples every system trains and is scored on.

    train (EvalSet): Training sentences (HF loop).
    dev (EvalSet): Learning-rate selection.
    test (EvalSet): The reported scores.
    train_path (Path): The training sentences as a DocBin (spaCy systems).
    dev_path (Path): The dev sentences as a DocBin (spaCy evaluates once, at the end).
    """

    train: EvalSet
    dev: EvalSet
    test: EvalSet
    train_path: Path
    dev_path: Path


def load_accuracy_data(data: Path, budget: Budget, out_dir: Path, seed: int) -> AccuracyData:
    """Sample the budget's sentences and write the spaCy DocBins to out_dir."""
    train = EvalSet(sample(conll_sentences(data, "train"), budget.acc_conll_train, seed),
                    sample(read_sst(data, "train"), budget.acc_sst_train, seed))
    dev = EvalSet(sample(conll_sentences(data, "valid"), budget.acc_dev, seed),
                  read_sst(data, "dev")[: budget.acc_dev])
    nlp = spacy.blank("en")
    for name, split in (("train", train), ("dev", dev)):
        docs = [eg.reference for eg in spacy_examples(nlp, split.conll, split.sst)]
        write_docbin(docs, out_dir / f"{name}.spacy")
    test = EvalSet(sample(conll_sentences(data, "test"), budget.acc_test, seed),
                   read_sst(data, "test"))
    return AccuracyData(train, dev, test, out_dir / "train.spacy", out_dir / "dev.spacy")


def spacy_train(config: Any, out: Path, log: Path) -> Path:
    """`spacy train` in-process (stdout to a log file); returns model-last."""
    from spacy.cli.train import train as spacy_train_cli

    cfg_path = out.with_suffix(".cfg")
    out.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(cfg_path)
    with log.open("w") as handle, contextlib.redirect_stdout(handle), \
            contextlib.redirect_stderr(handle):
        spacy_train_cli(cfg_path, out, overrides={})
    return out / "model-last"


def set_budget(config: Any, data: AccuracyData, steps: int, batch: int,
               learn_rate: Optional[float], seed: int) -> Any:
    """Same data, steps and batches for every spaCy pipeline; one evaluation at the end."""
    config["paths"]["train"] = str(data.train_path)
    config["paths"]["dev"] = str(data.dev_path)
    config["system"]["seed"] = seed
    training = config["training"]
    training["max_steps"] = steps
    training["max_epochs"] = 0
    training["eval_frequency"] = steps
    training["patience"] = 0
    training["batcher"] = {"@batchers": "spacy.batch_by_sequence.v1", "size": 2 * batch,
                           "get_length": None}
    training["logger"] = {"@loggers": "spacy.ConsoleLogger.v3", "progress_bar": None,
                          "console_output": True, "output_file": None}
    if learn_rate is not None:
        set_learn_rate(config, steps, learn_rate)
    return config


def set_learn_rate(config: Any, steps: int, learn_rate: float) -> Any:
    """warmup_linear (10 % warm-up) with the encoder at `learn_rate`, as the HF loop's
    model: the heads get the optimizer's rate, `learn_rate` over the transformer's
    `learn_rate_scale` (1 for a pipeline without a transformer)."""
    transformer = config["components"].get("transformer", {})
    config["training"]["optimizer"]["learn_rate"] = {
        "@schedules": "warmup_linear.v1", "warmup_steps": max(1, steps // 10),
        "total_steps": steps, "initial_rate": learn_rate / transformer.get("learn_rate_scale", 1.0),
    }
    return config


def albert_config(transformer: Path, name: str = "textcat_ner.cfg") -> Any:
    """A shipped config (configs/textcat_ner.cfg unless `name` says) on the given checkpoint,
    with the training recipe its directory carries (`init-model`: a random-init model's
    encoder learns at the heads' rate)."""
    config = load_config(CONFIGS / name)
    config["paths"]["transformer"] = str(transformer)
    recipe = transformer / TRAINING_RECIPE_FILE
    for dotted, value in (srsly.read_json(recipe)["overrides"] if recipe.exists() else {}).items():
        set_dotted(config, dotted, value)
    return config


REMOVE = object()  # a `set_dotted` value: delete the setting


def set_dotted(config: Any, dotted: str, value: Any) -> None:
    """config["a"]["b"]["c"] = value for "a.b.c" (deleted for REMOVE).

    RAISES (KeyError): Naming the setting and the first section on its path the config lacks.
    """
    *sections, key = dotted.split(".")
    for depth, section in enumerate(sections, 1):
        if section not in config:
            raise KeyError(f"{dotted}: the config has no [{'.'.join(sections[:depth])}]")
        config = config[section]
    if value is REMOVE:
        del config[key]
    else:
        config[key] = value


def cnn_config() -> Any:
    """`spacy init config -l en -p ner,textcat -o efficiency`, with albert_textcat.

    spaCy's own exclusive textcat trains docs without cats toward all-zero scores, so
    on a CoNLL + SST-2 mix it would learn nothing useful; albert_textcat is the same
    component with those docs masked (the model is the CNN config's, unchanged).
    """
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=["ner", "textcat"], optimize="efficiency",
                         gpu=False)
    config["components"]["textcat"]["factory"] = "albert_textcat"
    config["components"]["textcat"]["scorer"] = {"@scorers": "spacy-albert.textcat_scorer.v1"}
    config["training"]["score_weights"] = {"ents_f": 0.5, "cats_score": 0.5}
    return config


def entity_f1(gold: Sequence[TaggedSentence], predicted: Sequence[Sequence[str]]) -> float:
    """seqeval entity F1 in percent."""
    from seqeval.metrics import f1_score

    return round(100 * float(f1_score([s.tags for s in gold], [list(p) for p in predicted])), 2)


def sst_accuracy(gold: Sequence[tuple[str, int]], predicted: Sequence[int]) -> float:
    """Share of texts whose predicted label is the gold one, in percent."""
    return round(100 * sum(p == label for p, (_, label) in zip(predicted, gold)) / len(gold), 2)


def score(conll_test: list[TaggedSentence], predicted_tags: list[list[str]],
          sst_test: list[tuple[str, int]], predicted_labels: list[int]) -> Scores:
    """seqeval entity F1 on CoNLL and accuracy on SST-2, in percent."""
    return {"conll_f1": entity_f1(conll_test, predicted_tags),
            "sst2_accuracy": sst_accuracy(sst_test, predicted_labels)}


def predict_tags(nlp: Language, sentences: Sequence[TaggedSentence]) -> list[list[str]]:
    """The pipeline's IOB tags on each sentence's own tokens."""
    docs = [Doc(nlp.vocab, words=sentence.words) for sentence in sentences]
    return [iob_tags(doc) for doc in nlp.pipe(docs, batch_size=64)]


def evaluate_spacy(path: Path, split: EvalSet, config: Optional[dict[str, Any]] = None) -> Scores:
    """Score a saved spaCy pipeline (on CoNLL's own tokens, and on SST-2 text)."""
    nlp = spacy.load(path, config=config or {})
    predicted_tags = predict_tags(nlp, split.conll)
    return score(split.conll, predicted_tags, split.sst, predict_labels(nlp, split.sst))


def predict_labels(nlp: Language, texts: Sequence[tuple[str, int]]) -> list[int]:
    """The pipeline's SST-2 label (1 positive, 0 negative) of each (text, gold) pair."""
    docs = nlp.pipe([text for text, _ in texts], batch_size=64)
    return [int(doc.cats["POSITIVE"] >= doc.cats["NEGATIVE"]) for doc in docs]


class System(Protocol):
    """One trainable side of the accuracy table."""

    def train(self, learn_rate: Optional[float], seed: int) -> Any: ...

    def evaluate(self, trained: Any, split: EvalSet, precision: str) -> Scores: ...


@dataclass
class SpacySystem:
    """A spaCy pipeline trained with `spacy train` on the budget.

    name (str): Folder name of its runs.
    make_config (Callable[[], Any]): A fresh config.
    data (AccuracyData): The data.
    budget (Budget): Steps and batch size.
    out_dir (Path): Where runs are written.
    """

    name: str
    make_config: Callable[[], Any]
    data: AccuracyData
    budget: Budget
    out_dir: Path

    def train(self, learn_rate: Optional[float], seed: int) -> Path:
        run = self.out_dir / f"{self.name}-lr{learn_rate}-seed{seed}"
        config = set_budget(self.make_config(), self.data, self.budget.acc_steps,
                            self.budget.acc_batch, learn_rate, seed)
        return spacy_train(config, run, run.with_suffix(".log"))

    def evaluate(self, trained: Path, split: EvalSet, precision: str) -> Scores:
        if precision == "int8":
            return evaluate_spacy(quantized_pipeline(trained, trained.parent / "int8"), split)
        return evaluate_spacy(trained, split, BF16 if precision == "bf16" else None)


@dataclass
class HFTrained:
    """The HF loop's two trained models and their loss curves."""

    tok: Any
    seq: Any
    curves: dict[str, list[float]]


@dataclass
class HFSystem:
    """The HF loop: a token classifier and a sequence classifier, trained one after another.

    model (Path): The checkpoint both start from.
    data (AccuracyData): The data.
    budget (Budget): Steps and batch size.
    """

    model: Path
    data: AccuracyData
    budget: Budget
    tokenizer: Any = field(init=False)

    def __post_init__(self) -> None:
        self.tokenizer = hf.load_tokenizer(self.model)

    def train(self, learn_rate: Optional[float], seed: int) -> HFTrained:
        steps = self.budget.acc_steps
        if learn_rate is None:
            raise ValueError("The HF loop needs a learning rate (it has no config default).")
        settings = LoopSettings(batch_size=self.budget.acc_batch, learn_rate=learn_rate,
                                warmup=max(1, steps // 10), seed=seed)
        tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
        train = self.data.train
        tok = hf.load_token_classifier(self.model, seed=seed)
        seq = hf.load_sequence_classifier(self.model, seed=seed)
        tok_stats = train_token_classifier(
            tok, self.tokenizer, [s.words for s in train.conll],
            [[tag_ids[t] for t in s.tags] for s in train.conll], steps, settings)
        seq_stats = train_sequence_classifier(
            seq, self.tokenizer, [t for t, _ in train.sst], [label for _, label in train.sst],
            steps, settings)
        return HFTrained(tok, seq, {"token_classifier": loss_curve(tok_stats.losses),
                                    "sequence_classifier": loss_curve(seq_stats.losses)})

    def evaluate(self, trained: HFTrained, split: EvalSet, precision: str) -> Scores:
        tok, seq = trained.tok, trained.seq
        if precision == "int8":
            tok, seq = (hf.quantize_dynamic_int8(copy.deepcopy(m)) for m in (tok, seq))
        dtype = torch.bfloat16 if precision == "bf16" else None
        tags = hf.predict_word_tags(tok, self.tokenizer, [s.words for s in split.conll],
                                    autocast_dtype=dtype)
        labels = hf.predict_labels(seq, self.tokenizer, [t for t, _ in split.sst],
                                   autocast_dtype=dtype)
        return score(split.conll, tags, split.sst, labels)


def keep_loss_curves(row: dict[str, Any], label: str, model: Any) -> None:
    """Keep an HF run's loss curves in its system's row (spaCy keeps its own logs)."""
    if isinstance(model, HFTrained):
        row.setdefault("loss_curves", {})[label] = model.curves


def run_system(system: System, data: AccuracyData, grid: Optional[tuple[float, ...]],
               seeds: tuple[int, ...], precisions: tuple[str, ...],
               fixed_rate: Optional[float] = None) -> dict[str, Any]:
    """Pick the rate on dev (if a grid is given), then train and test on every seed.

    system (System): The side.
    data (AccuracyData): Dev and test sets.
    grid (Optional[tuple[float, ...]]): Learning rates to pick from on dev (first seed).
    seeds (tuple[int, ...]): Seeds of the test runs.
    precisions (tuple[str, ...]): Precisions each trained model is scored in.
    fixed_rate (Optional[float]): The rate when there is no grid (None: the config's own).
    RETURNS (dict[str, Any]): The system's row of the results file.
    """
    start = time.perf_counter()
    trained: dict[tuple[Optional[float], int], Any] = {}
    row: dict[str, Any] = {}
    rate = fixed_rate
    if grid:
        dev = {}
        for learn_rate in grid:
            model = trained[(learn_rate, seeds[0])] = system.train(learn_rate, seeds[0])
            dev[learn_rate] = system.evaluate(model, data.dev, "fp32")
            keep_loss_curves(row, f"lr {learn_rate:g}, seed {seeds[0]}", model)
            print(f"    lr {learn_rate}: dev {dev[learn_rate]}", flush=True)
        rate = pick_learn_rate(dev)
        row["dev_by_learn_rate"] = {str(k): v for k, v in dev.items()}
        row["did_not_learn"] = [task for task in TASKS
                                if not learned(dev, task, data.dev.majority)]
    row["learn_rate"] = rate
    per_seed: dict[str, list[Scores]] = {p: [] for p in precisions}
    for seed in seeds:
        model = trained.pop((rate, seed), None)
        if model is None:
            model = system.train(rate, seed)
            keep_loss_curves(row, f"lr {rate:g}, seed {seed}" if rate else f"seed {seed}", model)
        for precision in precisions:
            per_seed[precision].append(system.evaluate(model, data.test, precision))
    if not grid:
        by_seed = dict(zip(seeds, per_seed["fp32"]))  # no grid: chance is judged on test
        row["did_not_learn"] = [task for task in TASKS
                                if not learned(by_seed, task, data.test.majority)]
    row["test"] = {p: {task: mean_sd([s[task] for s in scores]) for task in TASKS}
                   for p, scores in per_seed.items()}
    row["per_seed"] = per_seed
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def means(row: dict[str, Any], precision: str) -> Scores:
    """A system's mean test scores in one precision."""
    return {task: row["test"][precision][task]["mean"] for task in TASKS}


def bench_accuracy(work: Path, data_dir: Path, budget: Budget, results: dict[str, Any],
                   save: Callable[[], None]) -> dict[str, Any]:
    """CoNLL-2003 F1 and SST-2 accuracy for every system, both sides tuned alike.

    Fills `results` (the results file's accuracy section) as systems finish and calls `save`
    after each.
    """
    from spacy_albert.checkpoints.pretrain import pretrain

    acc_dir = work / "accuracy"
    seeds, grid = budget.acc_seeds, budget.acc_learn_rates
    data = load_accuracy_data(data_dir, budget, acc_dir, seeds[0])
    model = model_dir(work, budget.acc_size, data_dir)
    precisions = ("fp32", "bf16", "int8") if current_cpu().native_bf16 else ("fp32", "int8")
    steps, batch = budget.acc_steps, budget.acc_batch
    results.update({
        "budget": {
            "model": f"init-model --size {budget.acc_size} (random init, vocab from CoNLL+SST "
                     "train text)",
            "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
            "learn_rate_grid": list(grid), "seeds": list(seeds),
            "selection": "each side's peak rate: best dev mean of CoNLL F1 and SST-2 accuracy "
                         f"at seed {seeds[0]}",
            "schedule": "warmup_linear (10% warm-up), AdamW wd 0.01, clip 1.0",
            "conll_train_sentences": len(data.train.conll),
            "sst2_train_sentences": len(data.train.sst),
            "dev_sentences": f"{len(data.dev.conll)} CoNLL + {len(data.dev.sst)} SST-2",
            "conll_test_sentences": len(data.test.conll),
            "sst2_test_sentences": len(data.test.sst),
            "sst2_majority_test": round(data.test.majority, 2),
            "precisions": list(precisions),
        },
        "systems": {},
    })
    systems = results["systems"]

    def run(name: str, system: System, **kwargs: Any) -> dict[str, Any]:
        print(f"  accuracy {name}", flush=True)
        systems[name] = run_system(system, data, seeds=seeds, **kwargs)
        print(f"  accuracy {name}: {systems[name]['test']}", flush=True)
        save()
        return systems[name]

    ours = run("spacy-albert", SpacySystem("albert", lambda: albert_config(model), data, budget,
                                           acc_dir), grid=grid, precisions=precisions)
    theirs = run("HF loop, two models", HFSystem(model, data, budget), grid=grid,
                 precisions=precisions)
    results["accuracy_loss"] = {
        side: {p: accuracy_loss(means(row, "fp32"), means(row, p)) for p in precisions[1:]}
        for side, row in (("ours", ours), ("hf", theirs))
    }
    run("spaCy CNN (efficiency, its default rate)",
        SpacySystem("cnn", cnn_config, data, budget, acc_dir), grid=None, precisions=("fp32",))
    mlm_out = acc_dir / "albert-mlm-checkpoint"
    start = time.perf_counter()
    mlm = pretrain(model, vocab_corpus(work, data_dir), mlm_out, budget.mlm_steps,
                   batch_size=budget.mlm_batch, learn_rate=1e-3, max_length=budget.mlm_length,
                   seed=seeds[0])
    results["mlm"] = {
        "command": f"python -m spacy_albert pretrain MODEL --corpus conll+sst2-train.txt "
                   f"--steps {budget.mlm_steps} --batch-size {budget.mlm_batch} "
                   f"--learn-rate 1e-3 --max-length {budget.mlm_length} --seed {seeds[0]}",
        "seconds": round(time.perf_counter() - start, 1),
        "loss_first10": round(float(numpy.mean(mlm.losses[:10])), 3),
        "loss_last10": round(float(numpy.mean(mlm.losses[-10:])), 3),
        "words_per_s": round(mlm.words_per_second, 1),
    }
    save()
    run("spacy-albert (MLM-pretrained, spacy-albert's rate)",
        SpacySystem("albert-mlm", lambda: albert_config(mlm_out), data, budget, acc_dir),
        grid=None, fixed_rate=ours["learn_rate"], precisions=("fp32",))
    return results
