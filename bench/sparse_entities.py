"""Sparse, unseen entities in noisy text: spacy-albert's `ner` against the seed's HF loop.

    python -m bench.sparse_entities --model models/en-pretrained [--data-dir DIR] \
        [--train 3400] [--epochs 3] [--batch 16] [--learn-rate 5e-5] [--seeds 3] \
        [--variants default] [--threads 2] [--out bench/results/sparse_entities.json]

A social-media NER set (few entities, most of them never seen in training, @mentions, URLs
and emoji between the words) is built from CoNLL-2003, so it can be shared and rerun:
- train: `--train` sentences of CoNLL's train split, `ENTITY_SHARE` of them with entities;
- dev/test: CoNLL's valid/test sentences with the same share, keeping only entity sentences
  whose every mention's text is absent from the sampled train sentences (emerging entities);
- every split: `NOISE_SHARE` of the sentences get one social-media token (an @mention, a
  hashtag, a URL, emoji, or a zero-width space, which gets no word piece) outside the entities,
  tagged O.

Both sides get the same checkpoint, sentences, updates (`epochs` passes of `batch`
sentences), AdamW with warmup_linear (10 % warm-up), the encoder at `learn_rate` (the spaCy
side's heads at that over the config's `learn_rate_scale`), and seeds; both are
scored by seqeval entity F1 on the same words. The spaCy side is configs/ner.cfg, and each
`--variants` entry is a named set of config overrides of it (VARIANTS), so a head setting is
measured against the same HF runs.
"""

import argparse
import math
import os
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import spacy  # noqa: E402
import srsly  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import Doc  # noqa: E402
from spacy.util import load_config  # noqa: E402

from spacy_albert.convert import write_docbin  # noqa: E402

from .accuracy import (  # noqa: E402
    REMOVE,
    entity_f1,
    predict_tags,
    set_dotted,
    set_learn_rate,
    spacy_train,
)
from .data import TaggedSentence, conll_sentences, find_data_dir  # noqa: E402
from .fairness import mean_sd  # noqa: E402
from .meta import load_average, results_meta  # noqa: E402
from .pretrained_data import SplitData  # noqa: E402
from .pretrained_systems import CompareBudget, hf_trainer  # noqa: E402
from .settings import CONFIGS, RESULTS  # noqa: E402
from .train_log import read_throughput  # noqa: E402

ENTITY_SHARE = 0.3  # ~0.6 mentions per sentence, as WNUT-17's tweets (CoNLL: 1.7)
NOISE_SHARE = 0.3
NOISE_TOKENS = ("@jess_m", "#breaking", "http://t.co/x7Yq2", "\U0001f602", "\U0001f525\U0001f525",
                "\u200b", "lol")
EVAL_SENTENCES = {"dev": 1000, "test": 1300}
SPACY_PARSER = "spacy.TransitionBasedParser.v2"
# Config overrides of configs/ner.cfg, by name; "default" is the config as shipped.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # spaCy's own parser model (no neighbours), with the heads at 20 times the encoder's
    # rate (the configs' learn_rate_scale) or at its rate (before learn_rate_scale).
    "spacy-parser": {"components.ner.model.@architectures": SPACY_PARSER,
                     "components.ner.model.neighbours": REMOVE},
    "spacy-parser-heads-x1": {"components.transformer.learn_rate_scale": 1.0,
                              "components.ner.model.@architectures": SPACY_PARSER,
                              "components.ner.model.neighbours": REMOVE},
    "heads-x1": {"components.transformer.learn_rate_scale": 1.0},
}


def mention_texts(sentence: TaggedSentence) -> list[str]:
    """The lower-cased text of each entity mention (IOB2 tags)."""
    mentions: list[list[str]] = []
    for word, tag in zip(sentence.words, sentence.tags):
        if tag.startswith("B-"):
            mentions.append([word])
        elif tag.startswith("I-") and mentions:
            mentions[-1].append(word)
    return [" ".join(words).lower() for words in mentions]


def with_noise(sentence: TaggedSentence, rng: random.Random) -> TaggedSentence:
    """One social-media token inserted where it splits no entity, tagged O."""
    gaps = [i for i in range(len(sentence.words) + 1)
            if i == len(sentence.tags) or not sentence.tags[i].startswith("I-")]
    at = rng.choice(gaps)
    token = rng.choice(NOISE_TOKENS)
    return TaggedSentence(sentence.words[:at] + [token] + sentence.words[at:],
                          sentence.tags[:at] + ["O"] + sentence.tags[at:])


def sparse_sample(sentences: Sequence[TaggedSentence], n: int, rng: random.Random,
                  seen: Optional[set[str]] = None) -> list[TaggedSentence]:
    """About n sentences, ENTITY_SHARE of them with entities (only unseen mentions if `seen`),
    NOISE_SHARE of all with a noise token."""
    with_entities = [s for s in sentences if any(t != "O" for t in s.tags)
                     and (seen is None or not set(mention_texts(s)) & seen)]
    without = [s for s in sentences if all(t == "O" for t in s.tags)]
    n_entities = min(round(n * ENTITY_SHARE), len(with_entities))
    n_without = min(round(n_entities * (1 - ENTITY_SHARE) / ENTITY_SHARE), len(without))
    picked = rng.sample(with_entities, n_entities) + rng.sample(without, n_without)
    rng.shuffle(picked)
    return [with_noise(s, rng) if rng.random() < NOISE_SHARE else s for s in picked]


def sparse_corpus(data: Path, n_train: int, seed: int = 0) -> dict[str, list[TaggedSentence]]:
    """The train/dev/test splits described in the module docstring."""
    rng = random.Random(seed)
    train = sparse_sample(conll_sentences(data, "train"), n_train, rng)
    seen = {text for sentence in train for text in mention_texts(sentence)}
    splits = {"train": train}
    for split, source in (("dev", "valid"), ("test", "test")):
        splits[split] = sparse_sample(conll_sentences(data, source), EVAL_SENTENCES[split], rng,
                                      seen)
    return splits


def describe(sentences: Sequence[TaggedSentence]) -> dict[str, float]:
    mentions = sum(len(mention_texts(s)) for s in sentences)
    return {"sentences": len(sentences), "mentions": mentions,
            "mentions_per_sentence": round(mentions / max(len(sentences), 1), 3),
            "noise_tokens": sum(w in NOISE_TOKENS for s in sentences for w in s.words)}


def write_split(sentences: Sequence[TaggedSentence], path: Path) -> Path:
    vocab = spacy.blank("en").vocab
    write_docbin([Doc(vocab, words=s.words, ents=s.tags) for s in sentences], path)
    return path


def spacy_entity_f1(path: Path, sentences: Sequence[TaggedSentence]) -> float:
    return entity_f1(sentences, predict_tags(spacy.load(path), sentences))


def ner_config(model: Path, train: Path, probe: Path, steps: int, batch: int, learn_rate: float,
               seed: int, overrides: dict[str, Any], log: Path) -> Any:
    """configs/ner.cfg at this budget: `batch` sentences per update, `steps` updates."""
    config = load_config(CONFIGS / "ner.cfg")
    config["paths"].update({"transformer": str(model), "train": str(train), "dev": str(probe)})
    config["system"]["seed"] = seed
    training = config["training"]
    training.update({"max_steps": steps - 1, "eval_frequency": steps - 1, "max_epochs": 0,
                     "patience": 0})  # spaCy counts updates from 0: the last one is logged
    training["batcher"] = {"@batchers": "spacy.batch_by_sequence.v1", "size": batch,
                           "get_length": None}
    training["logger"] = {"@loggers": "spacy-albert-bench.ThroughputLogger.v1",
                          "progress_bar": None, "console_output": True, "output_file": str(log)}
    for dotted, value in overrides.items():
        set_dotted(config, dotted, value)
    return set_learn_rate(config, steps, learn_rate)


@dataclass
class RunScore:
    seed: int
    dev_f1: float
    test_f1: float
    train_seconds: float


def summary(runs: Sequence[RunScore]) -> dict[str, Any]:
    return {f"{split}_f1": mean_sd([getattr(run, f"{split}_f1") for run in runs])
            for split in ("dev", "test")}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sparse_entities",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="The imported checkpoint (init-model --from).")
    parser.add_argument("--data-dir", default=None, help="Holds conll2003/.")
    parser.add_argument("--train", type=int, default=3400, help="Training sentences.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--learn-rate", type=float, default=5e-5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", default="default",
                        help=f"spaCy-side config variants, from: {', '.join(VARIANTS)}")
    parser.add_argument("--skip-hf", action="store_true",
                        help="Keep the HF runs of an existing --out file.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "sparse_entities.json")
    parser.add_argument("--work-dir", type=Path, default=Path("training") / "sparse_entities")
    args = parser.parse_args(argv)
    args.variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    command = "python -m bench.sparse_entities " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    splits = sparse_corpus(find_data_dir(args.data_dir), args.train)
    steps = args.epochs * math.ceil(len(splits["train"]) / args.batch)
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    train_path = write_split(splits["train"], work / "train.spacy")
    probe = write_split(splits["dev"][:2], work / "probe.spacy")
    previous = srsly.read_json(args.out) if args.skip_hf and args.out.exists() else {}
    systems: dict[str, Any] = dict(previous.get("systems", {}))
    setup = {"steps": steps, "batch": args.batch, "epochs": args.epochs,
             "learn_rate": args.learn_rate, "warmup": max(1, steps // 10),
             "model": str(args.model), "entity_share": ENTITY_SHARE,
             "noise_share": NOISE_SHARE, "noise_tokens": list(NOISE_TOKENS),
             "splits": {name: describe(sentences) for name, sentences in splits.items()}}

    def save(final: bool = False) -> None:
        meta = results_meta(command, args.threads, started, load_start, complete=final)
        srsly.write_json(args.out, {"meta": meta, "setup": setup, "systems": systems})

    def record(name: str, runs: list[RunScore]) -> None:
        systems[name] = {"runs": [vars(run) for run in runs], "summary": summary(runs)}
        save()
        print(f"[sparse_entities] {name}: {systems[name]['summary']}", flush=True)

    if not args.skip_hf:
        budget = CompareBudget(steps, args.batch, 0, (args.learn_rate,), args.seeds)
        eval_splits = {split: SplitData(splits[split], []) for split in ("dev", "test")}
        train_hf = hf_trainer("ner", args.model, budget, SplitData(splits["train"], []),
                              eval_splits)
        runs: list[RunScore] = []
        for seed in range(args.seeds):
            trained = train_hf(args.learn_rate, seed)
            runs.append(RunScore(seed, trained.score("dev").conll_f1 or 0.0,
                                 trained.score("test").conll_f1 or 0.0, round(trained.seconds, 1)))
            record("hf-ner", runs)
    for variant in args.variants:
        runs = []
        for seed in range(args.seeds):
            # No dots in the name: spacy_train writes its config to `out.with_suffix(".cfg")`.
            name = f"{variant}-seed{seed}".replace(".", "_")
            config = ner_config(args.model, train_path, probe, steps, args.batch,
                                args.learn_rate, seed, VARIANTS[variant], work / f"{name}.jsonl")
            path = spacy_train(config, work / name, work / f"{name}.log")
            _, seconds = read_throughput(work / f"{name}.jsonl")
            runs.append(RunScore(seed, spacy_entity_f1(path, splits["dev"]),
                                 spacy_entity_f1(path, splits["test"]), round(float(seconds), 1)))
            record(f"albert-ner/{variant}", runs)
    save(final=True)
    print(f"[sparse_entities] wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
