"""Side-by-side benchmarks: spacy-albert vs the Hugging Face way, on the same weights.

    python -m bench.run [--quick] [--out bench/results] [--work-dir DIR] [--threads 2]

Every speed contender runs in this one process, on the same ALBERT weights, the same
texts and the same thread count, in interleaved rounds (A, B, C, A, B, C, ...) so that
load from other processes hits them alike; ratios are taken per round and the median is
reported, next to the best-round words/s. Peak RSS is measured in one child process per
contender (`ru_maxrss` cannot go down within a process). Results go to
`<out>/<mode>.json`, and the tables in BENCHMARKS.md (between the `bench:` markers) are
rebuilt from every results file present.

Sections: inference speed (spaCy joint textcat+ner, spaCy ner-only, HF pipelines, HF raw
forward; fp32, bf16, int8), peak RSS, on-disk size, training throughput, and (full mode)
accuracy on CoNLL-2003 + SST-2 for spacy-albert, the HF loop and spaCy's CNN pipeline,
plus the gain from domain MLM pretraining. Real data is read from `--data-dir`
(default ../shared/data or /work/shared/data) and never copied into the repository;
models, DocBins and trained pipelines go to `--work-dir` (default: a temp folder).
"""

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy  # noqa: E402
import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402
from spacy.util import load_config, load_model_from_config  # noqa: E402

from . import hf_baseline as hf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
ENT_LABELS = ["PER", "ORG", "LOC", "MISC"]


# ---------------------------------------------------------------- settings


@dataclass
class Budget:
    """How much work each section does (quick vs full mode)."""

    short_texts: int
    long_docs: int
    rounds: int
    sizes: tuple[str, ...]
    long_sizes: tuple[str, ...]
    rss_contenders: tuple[str, ...]
    train_steps: int
    train_size: str
    accuracy: bool
    acc_size: str = "small"
    acc_steps: int = 0
    acc_batch: int = 32
    acc_conll_train: int = 0
    acc_sst_train: int = 0
    acc_test: int = 0
    acc_learn_rate: float = 5e-4
    mlm_steps: int = 0
    mlm_batch: int = 32
    mlm_length: int = 128
    names: tuple[str, ...] = ()
    rss_long: bool = False


JOINT = ("spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "spacy_joint_int8_bf16",
         "hf_pipeline_two", "hf_raw_two", "hf_raw_two_bf16")
NER_ONLY = ("spacy_ner_fp32", "spacy_ner_int8", "hf_pipeline_tok", "hf_raw_tok")
TARGET_NAMES = ("spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "hf_pipeline_two",
                "hf_raw_two", "spacy_ner_fp32", "hf_pipeline_tok", "hf_raw_tok")

QUICK = Budget(
    # 3 rounds and two RSS children keep quick mode under 3 min on 2 idle cores (5 rounds
    # and four children took 250 s).
    short_texts=32, long_docs=1, rounds=3, sizes=("tiny", "base"), long_sizes=("tiny",),
    rss_contenders=("spacy_joint_fp32", "hf_pipeline_two"),
    train_steps=6, train_size="tiny", accuracy=False, names=TARGET_NAMES,
)
FULL = Budget(
    short_texts=64, long_docs=1, rounds=5, sizes=("tiny", "base"), long_sizes=("tiny", "base"),
    rss_contenders=(
        "spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "hf_pipeline_two",
        "hf_raw_two", "spacy_ner_fp32", "hf_pipeline_tok", "hf_raw_tok",
    ),
    train_steps=12, train_size="small", accuracy=True,
    acc_size="small", acc_steps=300, acc_batch=32, acc_conll_train=6000, acc_sst_train=6000,
    acc_test=1000, acc_learn_rate=1e-3, mlm_steps=300, mlm_batch=32, mlm_length=64,
    names=JOINT + NER_ONLY,
)


def find_data_dir(explicit: Optional[str]) -> Path:
    candidates = [explicit] if explicit else [str(ROOT.parent / "shared" / "data"),
                                              "/work/shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "conll2003" / "train.txt").is_file():
            return Path(candidate)
    raise SystemExit(f"No CoNLL-2003 under {candidates}: pass --data-dir.")


# ---------------------------------------------------------------- data


def read_conll_docs(path: Path) -> list[list[tuple[list[str], list[str]]]]:
    """CoNLL-2003 as documents (split at -DOCSTART-) of (words, IOB2 tags) sentences."""
    docs: list[list[tuple[list[str], list[str]]]] = []
    sentence: tuple[list[str], list[str]] = ([], [])
    current: list[tuple[list[str], list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if sentence[0]:
                current.append(sentence)
                sentence = ([], [])
            if fields and current:
                docs.append(current)
                current = []
            continue
        sentence[0].append(fields[0])
        sentence[1].append(fields[-1])
    if current:
        docs.append(current)
    return docs


def read_sst(path: Path) -> list[tuple[str, int]]:
    """SST-2 sentence level (`label sentence` per line)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, text = line.split(" ", 1)
            rows.append((text.strip(), int(label)))
    return rows


def short_texts(data: Path, n: int) -> list[str]:
    """~25-word news texts: consecutive CoNLL test sentences joined to >= 22 words."""
    texts, current = [], []
    for doc in read_conll_docs(data / "conll2003" / "test.txt"):
        for words, _ in doc:
            current.extend(words)
            if len(current) >= 22:
                texts.append(" ".join(current))
                current = []
            if len(texts) == n:
                return texts
    return texts


def long_docs(data: Path, n: int, words: int = 2000) -> list[str]:
    """~2,000-word news docs: consecutive CoNLL test documents joined."""
    texts, current = [], []
    for doc in read_conll_docs(data / "conll2003" / "test.txt"):
        for sentence, _ in doc:
            current.extend(sentence)
        if len(current) >= words:
            texts.append(" ".join(current[: words + 50]))
            current = []
            if len(texts) == n:
                break
    return texts


def count_words(texts: Sequence[str]) -> int:
    return sum(len(text.split()) for text in texts)


# ---------------------------------------------------------------- models and pipelines


def model_dir(work: Path, size: str, data: Path) -> Path:
    """An init-model ALBERT of `size` whose vocab is learned from CoNLL + SST-2 train text.

    base gets albert-base-v2's 30k vocabulary size; tiny and small 8k.
    """
    from spacy_albert.checkpoints.builder import init_model

    out = work / "models" / f"albert-{size}"
    if (out / "model.safetensors").is_file():
        return out
    corpus = work / "corpus.txt"
    if not corpus.is_file():
        lines = [" ".join(w) for d in read_conll_docs(data / "conll2003" / "train.txt")
                 for w, _ in d]
        lines += [t for t, _ in read_sst(data / "sst2" / "stsa_sentence_level" /
                                         "stsa.binary.train")]
        corpus.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    init_model(out, corpus, lang="en", size=size, vocab_size=30000 if size == "base" else 8000)
    return out


def init_examples(nlp: Any, with_cats: bool = True) -> list[Example]:
    """A few examples that give the heads their labels (untrained heads run as fast)."""
    examples = []
    doc = nlp.make_doc("Nora Bergman of Acme Corp flew to Paris for the Euro Cup .")
    annotation: dict[str, Any] = {"entities": [(0, 12, "PER"), (16, 25, "ORG"), (34, 39, "LOC"),
                                               (48, 56, "MISC")]}
    if with_cats:
        annotation["cats"] = {"POSITIVE": 1.0, "NEGATIVE": 0.0}
    examples.append(Example.from_dict(doc, annotation))
    if with_cats:
        doc = nlp.make_doc("A dull , lifeless film .")
        examples.append(Example.from_dict(doc, {"cats": {"POSITIVE": 0.0, "NEGATIVE": 1.0}}))
    return examples


def build_pipeline(config_name: str, transformer: Path, out: Path) -> Path:
    """configs/<config_name> with paths.transformer, initialised and saved to out."""
    if (out / "config.cfg").is_file():
        return out
    config = load_config(CONFIGS / config_name, interpolate=True,
                         overrides={"paths.transformer": str(transformer)})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: init_examples(nlp, with_cats="textcat" in nlp.pipe_names))
    out.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    return out


def quantized_pipeline(source: Path, out: Path) -> Path:
    from spacy_albert.models.int8 import quantize_pipeline

    if not (out / "config.cfg").is_file():
        nlp = spacy.load(source)
        quantize_pipeline(nlp)
        nlp.to_disk(out)
    return out


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prepare(work: Path, data: Path, sizes: Iterable[str]) -> dict[str, dict[str, Path]]:
    """Models and saved pipelines (fp32 joint, ner-only, and their int8 copies) per size."""
    paths: dict[str, dict[str, Path]] = {}
    for size in sizes:
        model = model_dir(work, size, data)
        joint = build_pipeline("textcat_ner.cfg", model, work / "pipelines" / f"{size}-joint")
        ner = build_pipeline("ner.cfg", model, work / "pipelines" / f"{size}-ner")
        paths[size] = {
            "model": model,
            "joint": joint,
            "joint_int8": quantized_pipeline(joint, work / "pipelines" / f"{size}-joint-int8"),
            "ner": ner,
            "ner_int8": quantized_pipeline(ner, work / "pipelines" / f"{size}-ner-int8"),
        }
    return paths


BF16 = {"components": {"transformer": {"model": {"inference_dtype": "bfloat16"}}}}


def make_contender(name: str, paths: dict[str, Path], batch_size: int,
                   long: bool) -> Callable[[list[str]], Any]:
    """Load one contender; the callable runs it over a list of texts."""
    if name.startswith("spacy_"):
        key = {"spacy_joint_fp32": "joint", "spacy_joint_bf16": "joint",
               "spacy_joint_int8": "joint_int8", "spacy_joint_int8_bf16": "joint_int8",
               "spacy_ner_fp32": "ner", "spacy_ner_int8": "ner_int8"}[name]
        nlp = spacy.load(paths[key], config=BF16 if name.endswith("bf16") else {})

        def run_spacy(texts: list[str]) -> Any:
            return [len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size)]

        return run_spacy
    tokenizer = hf.load_tokenizer(paths["model"])
    seq = hf.load_sequence_classifier(paths["model"]) if "tok" not in name else None
    tok = hf.load_token_classifier(paths["model"])
    if name.startswith("hf_pipeline"):
        return hf.HFPipelines(tokenizer, seq, tok, batch_size=batch_size,
                              stride=128 if long else None)
    dtype = torch.bfloat16 if name.endswith("bf16") else None
    return hf.HFRawForward(tokenizer, seq, tok, batch_size=batch_size, autocast_dtype=dtype)


def time_call(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_inference(paths: dict[str, Path], texts: list[str], names: Sequence[str],
                    batch_size: int, rounds: int, long: bool) -> dict[str, Any]:
    """Words/s per contender over interleaved rounds, plus per-round ratios."""
    contenders = {}
    for name in names:
        contenders[name] = make_contender(name, paths, batch_size, long)
        contenders[name](texts[: max(1, len(texts) // 8)])  # warm-up: allocators, oneDNN
    words = count_words(texts)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = list(names) if r % 2 == 0 else list(reversed(names))
        for name in order:
            times[name].append(time_call(lambda n=name: contenders[n](texts)))
    result: dict[str, Any] = {"words": words, "texts": len(texts), "rounds": rounds,
                              "batch_size": batch_size, "contenders": {}}
    for name in names:
        result["contenders"][name] = {
            "seconds": [round(t, 3) for t in times[name]],
            "words_per_s_best": round(words / min(times[name]), 1),
            "words_per_s_median": round(words / statistics.median(times[name]), 1),
        }

    def ratio(a: str, b: str) -> Optional[float]:
        if a not in times or b not in times:
            return None
        return round(statistics.median(tb / ta for ta, tb in zip(times[a], times[b])), 3)

    def ratio_best(a: str, b: str) -> float:
        return round(min(times[b]) / min(times[a]), 3)

    pairs = [
            ("spacy_joint_fp32", "hf_pipeline_two"), ("spacy_joint_fp32", "hf_raw_two"),
            ("spacy_ner_fp32", "hf_pipeline_tok"), ("spacy_ner_fp32", "hf_raw_tok"),
            ("spacy_joint_bf16", "hf_raw_two"), ("spacy_joint_int8", "hf_raw_two"),
            ("spacy_joint_int8_bf16", "hf_raw_two"), ("spacy_joint_bf16", "spacy_joint_fp32"),
            ("spacy_joint_int8", "spacy_joint_fp32"), ("spacy_ner_int8", "spacy_ner_fp32"),
            ("hf_raw_two_bf16", "hf_raw_two"), ("hf_raw_two", "hf_pipeline_two"),
    ]
    pairs = [(a, b) for a, b in pairs if a in times and b in times]
    result["ratios"] = {f"{a}/{b}": ratio(a, b) for a, b in pairs}
    result["ratios_best"] = {f"{a}/{b}": ratio_best(a, b) for a, b in pairs}
    return result


def agreement(paths: dict[str, Path], texts: list[str]) -> dict[str, Any]:
    """How often bf16 / int8 predictions match fp32 (top category; exact entity spans)."""
    import warnings

    def predict(path: Path, config: dict) -> list[tuple[str, list]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nlp = spacy.load(path, config=config)
        return [(max(d.cats, key=d.cats.get), [(e.start, e.end, e.label_) for e in d.ents])
                for d in nlp.pipe(texts, batch_size=32)]

    base = predict(paths["joint"], {})
    out = {}
    for name, (path, config) in {"bf16": (paths["joint"], BF16),
                                 "int8": (paths["joint_int8"], {})}.items():
        other = predict(path, config)
        out[name] = {
            "same_top_cat": round(sum(a[0] == b[0] for a, b in zip(base, other)) / len(base), 3),
            "same_ents": round(sum(a[1] == b[1] for a, b in zip(base, other)) / len(base), 3),
        }
    return out


# ---------------------------------------------------------------- RSS (child processes)


def rss_child(spec: dict[str, Any]) -> None:
    """Run one contender once in a fresh process and print its peak RSS (MB)."""
    torch.set_num_threads(spec["threads"])
    paths = {k: Path(v) for k, v in spec["paths"].items()}
    texts = spec["texts"]
    before = peak_rss_mb()
    contender = make_contender(spec["name"], paths, spec["batch_size"], spec["long"])
    loaded = peak_rss_mb()
    contender(texts)
    print(json.dumps({"after_imports_mb": before, "after_load_mb": loaded,
                      "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; `ru_maxrss` would include the parent's peak,
    which Linux carries across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_rss(paths: dict[str, Path], texts: list[str], names: Sequence[str], batch_size: int,
              long: bool, threads: int) -> dict[str, Any]:
    out = {}
    for name in names:
        spec = {"name": name, "paths": {k: str(v) for k, v in paths.items()}, "texts": texts,
                "batch_size": batch_size, "long": long, "threads": threads}
        proc = subprocess.run(
            [sys.executable, "-m", "bench.run", "--rss-child", json.dumps(spec)],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            out[name] = {"error": proc.stderr[-500:]}
            continue
        out[name] = {k: round(v, 1) for k, v in json.loads(lines[-1]).items()}
    return out


# ---------------------------------------------------------------- training data


def conll_sentences(data: Path, split: str) -> list[tuple[list[str], list[str]]]:
    return [s for doc in read_conll_docs(data / "conll2003" / f"{split}.txt") for s in doc]


def sample(rows: list, n: int, seed: int = 0) -> list:
    if n <= 0 or n >= len(rows):
        return list(rows)
    return random.Random(seed).sample(rows, n)


def spacy_examples(nlp: Any, conll: Sequence[tuple[list[str], list[str]]],
                   sst: Sequence[tuple[str, int]]) -> list[Example]:
    """CoNLL docs carry entities and no cats; SST-2 docs carry cats and missing entities."""
    examples = []
    for words, tags in conll:
        reference = Doc(nlp.vocab, words=words, ents=tags)
        examples.append(Example(Doc(nlp.vocab, words=words), reference))
    for text, label in sst:
        predicted = nlp.make_doc(text)
        reference = nlp.make_doc(text)
        reference.cats = {"POSITIVE": float(label == 1), "NEGATIVE": float(label == 0)}
        examples.append(Example(predicted, reference))
    return examples


def write_docbin(examples: Sequence[Example], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=[eg.reference for eg in examples], store_user_data=True).to_disk(path)
    return path


def interleave(conll: list, sst: list, batch: int, steps: int, seed: int) -> list[tuple]:
    """Per step: `batch` CoNLL sentences and `batch` SST-2 sentences (seeded passes)."""
    c_batches = hf.epoch_batches(len(conll), batch, seed)
    s_batches = hf.epoch_batches(len(sst), batch, seed + 1)
    return [([conll[i] for i in next(c_batches)], [sst[i] for i in next(s_batches)])
            for _ in range(steps)]


# ---------------------------------------------------------------- training throughput


def bench_training(size_paths: dict[str, Path], data: Path, steps: int, batch: int,
                   seed: int = 0) -> dict[str, Any]:
    """Words/s of spaCy's update step (what `spacy train` runs) vs the HF loop, same batches.

    Each step sees `batch` CoNLL sentences + `batch` SST-2 sentences: one joint update
    for spaCy, a token-classification and a sequence-classification update for HF.
    """
    conll = sample(conll_sentences(data, "train"), 4000, seed)
    sst = sample(read_sst(data / "sst2" / "stsa_sentence_level" / "stsa.binary.train"), 4000,
                 seed)
    steps_data = interleave(conll, sst, batch, steps + 2, seed)
    config = load_config(CONFIGS / "textcat_ner.cfg", interpolate=True,
                         overrides={"paths.transformer": str(size_paths["model"])})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    all_examples = spacy_examples(nlp, conll[:200], sst[:200])
    nlp.initialize(lambda: all_examples)
    optimizer = nlp.create_optimizer()
    tokenizer = hf.load_tokenizer(size_paths["model"])
    seq, tok = hf.load_sequence_classifier(size_paths["model"]), hf.load_token_classifier(
        size_paths["model"])
    tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
    spacy_time, hf_time, words = 0.0, 0.0, 0
    for step, (c_batch, s_batch) in enumerate(steps_data):
        examples = spacy_examples(nlp, c_batch, s_batch)
        t0 = time.perf_counter()
        nlp.update(examples, sgd=optimizer, drop=0.1, losses={})
        t1 = time.perf_counter()
        hf.train_token_classifier(tok, tokenizer, [w for w, _ in c_batch],
                                  [[tag_ids[t] for t in tags] for _, tags in c_batch], 1,
                                  batch_size=batch, warmup=1, seed=step)
        hf.train_sequence_classifier(seq, tokenizer, [t for t, _ in s_batch],
                                     [label for _, label in s_batch], 1, batch_size=batch,
                                     warmup=1, seed=step)
        t2 = time.perf_counter()
        if step >= 2:  # the first steps warm up allocators
            spacy_time += t1 - t0
            hf_time += t2 - t1
            words += sum(len(w) for w, _ in c_batch) + count_words([t for t, _ in s_batch])
    return {
        "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
        "spacy_words_per_s": round(words / spacy_time, 1),
        "hf_words_per_s": round(words / hf_time, 1),
        "ratio_spacy_over_hf": round(hf_time / spacy_time, 3),
        "note": "HF optimizer/scheduler are rebuilt each step (negligible next to a step)",
    }


# ---------------------------------------------------------------- accuracy


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


def set_budget(config: Any, train: Path, dev: Path, steps: int, batch: int,
               learn_rate: Optional[float], seed: int) -> Any:
    """Same data, steps and batches for every spaCy pipeline; one evaluation at the end."""
    config["paths"]["train"] = str(train)
    config["paths"]["dev"] = str(dev)
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
        training["optimizer"]["learn_rate"] = {
            "@schedules": "warmup_linear.v1", "warmup_steps": max(1, steps // 10),
            "total_steps": steps, "initial_rate": learn_rate,
        }
    return config


def albert_config(transformer: Path) -> Any:
    config = load_config(CONFIGS / "textcat_ner.cfg")
    config["paths"]["transformer"] = str(transformer)
    return config


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


def iob_tags(doc: Doc) -> list[str]:
    return ["O" if t.ent_iob_ in ("O", "") else f"{t.ent_iob_}-{t.ent_type_}" for t in doc]


def evaluate_spacy(path: Path, conll_test: list, sst_test: list,
                   config: Optional[dict] = None) -> dict[str, float]:
    from seqeval.metrics import f1_score

    nlp = spacy.load(path, config=config or {})
    pipes = [proc for _, proc in nlp.pipeline]
    preds = []
    for doc in _run_pipes(pipes, [Doc(nlp.vocab, words=w) for w, _ in conll_test]):
        preds.append(iob_tags(doc))
    f1 = f1_score([tags for _, tags in conll_test], preds)
    docs = list(nlp.pipe([t for t, _ in sst_test], batch_size=64))
    accuracy = sum(int(doc.cats["POSITIVE"] >= doc.cats["NEGATIVE"]) == label
                   for doc, (_, label) in zip(docs, sst_test)) / len(sst_test)
    return {"conll_f1": round(100 * float(f1), 2), "sst2_accuracy": round(100 * accuracy, 2)}


def _run_pipes(pipes: list, docs: list[Doc], batch_size: int = 64) -> list[Doc]:
    for proc in pipes:
        docs = list(proc.pipe(docs, batch_size=batch_size))
    return docs


def bench_accuracy(work: Path, data: Path, budget: Budget, results: dict[str, Any],
                   save: Callable[[], None], seed: int = 0) -> dict[str, Any]:
    """CoNLL-2003 F1 and SST-2 accuracy for every system at the same update budget.

    Fills `results` as systems finish and calls `save` after each.
    """
    from seqeval.metrics import f1_score

    from spacy_albert.checkpoints.pretrain import pretrain

    acc_dir = work / "accuracy"
    conll_train = sample(conll_sentences(data, "train"), budget.acc_conll_train, seed)
    sst_train = sample(read_sst(data / "sst2" / "stsa_sentence_level" / "stsa.binary.train"),
                       budget.acc_sst_train, seed)
    conll_test = sample(conll_sentences(data, "test"), budget.acc_test, seed)
    sst_test = read_sst(data / "sst2" / "stsa_sentence_level" / "stsa.binary.test")
    conll_dev = sample(conll_sentences(data, "valid"), 200, seed)
    sst_dev = read_sst(data / "sst2" / "stsa_sentence_level" / "stsa.binary.dev")[:200]
    nlp = spacy.blank("en")
    train_path = write_docbin(spacy_examples(nlp, conll_train, sst_train),
                              acc_dir / "train.spacy")
    dev_path = write_docbin(spacy_examples(nlp, conll_dev, sst_dev), acc_dir / "dev.spacy")
    model = model_dir(work, budget.acc_size, data)
    steps, batch, lr = budget.acc_steps, budget.acc_batch, budget.acc_learn_rate
    results.update({
        "budget": {
            "model": f"init-model --size {budget.acc_size} (random init, vocab from CoNLL+SST "
                     "train text)",
            "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
            "learn_rate": lr, "schedule": "warmup_linear (10% warm-up), AdamW wd 0.01, clip 1.0",
            "conll_train_sentences": len(conll_train), "sst2_train_sentences": len(sst_train),
            "conll_test_sentences": len(conll_test), "sst2_test_sentences": len(sst_test),
            "seed": seed,
        },
        "systems": {},
    })

    def timed(name: str, fn: Callable[[], dict[str, float]]) -> None:
        start = time.perf_counter()
        scores = fn()
        scores["train_eval_seconds"] = round(time.perf_counter() - start, 1)
        results["systems"][name] = scores
        print(f"  accuracy {name}: {scores}", flush=True)
        save()

    def run_albert(transformer: Path, name: str) -> dict[str, float]:
        config = set_budget(albert_config(transformer), train_path, dev_path, steps, batch, lr,
                            seed)
        best = spacy_train(config, acc_dir / name, acc_dir / f"{name}.log")
        return evaluate_spacy(best, conll_test, sst_test)

    def run_cnn() -> dict[str, float]:
        config = set_budget(cnn_config(), train_path, dev_path, steps, batch, None, seed)
        best = spacy_train(config, acc_dir / "spacy-cnn", acc_dir / "spacy-cnn.log")
        return evaluate_spacy(best, conll_test, sst_test)

    def run_hf() -> dict[str, float]:
        tokenizer = hf.load_tokenizer(model)
        tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
        tok = hf.load_token_classifier(model, seed=seed)
        seq = hf.load_sequence_classifier(model, seed=seed)
        warmup = max(1, steps // 10)
        tok_stats = hf.train_token_classifier(
            tok, tokenizer, [w for w, _ in conll_train],
            [[tag_ids[t] for t in tags] for _, tags in conll_train], steps, batch_size=batch,
            learn_rate=lr, warmup=warmup, seed=seed)
        seq_stats = hf.train_sequence_classifier(
            seq, tokenizer, [t for t, _ in sst_train], [label for _, label in sst_train], steps,
            batch_size=batch, learn_rate=lr, warmup=warmup, seed=seed)
        preds = hf.predict_word_tags(tok, tokenizer, [w for w, _ in conll_test])
        f1 = f1_score([tags for _, tags in conll_test], preds)
        labels = hf.predict_labels(seq, tokenizer, [t for t, _ in sst_test])
        accuracy = sum(p == gold for p, (_, gold) in zip(labels, sst_test)) / len(sst_test)
        return {"conll_f1": round(100 * float(f1), 2), "sst2_accuracy": round(100 * accuracy, 2),
                "train_words_per_s": round(
                    (tok_stats.words + seq_stats.words) / (tok_stats.seconds + seq_stats.seconds),
                    1)}

    timed("spacy-albert (random init)", lambda: run_albert(model, "albert-random"))
    trained = acc_dir / "albert-random" / "model-last"
    timed("  same checkpoint, bf16 inference_dtype",
          lambda: evaluate_spacy(trained, conll_test, sst_test, BF16))
    timed("  same checkpoint, int8 (quantize)",
          lambda: evaluate_spacy(quantized_pipeline(trained, acc_dir / "albert-random-int8"),
                                 conll_test, sst_test))
    timed("HF loop, two models (random init)", run_hf)
    timed("spaCy CNN (efficiency)", run_cnn)
    mlm_out = acc_dir / "albert-mlm-checkpoint"
    corpus = work / "corpus.txt"
    start = time.perf_counter()
    mlm = pretrain(model, corpus, mlm_out, budget.mlm_steps, batch_size=budget.mlm_batch,
                   learn_rate=1e-3, max_length=budget.mlm_length, seed=seed)
    results["mlm"] = {
        "command": f"python -m spacy_albert pretrain MODEL --corpus conll+sst2-train.txt "
                   f"--steps {budget.mlm_steps} --batch-size {budget.mlm_batch} "
                   f"--learn-rate 1e-3 --max-length {budget.mlm_length} --seed 0",
        "seconds": round(time.perf_counter() - start, 1),
        "loss_first10": round(float(numpy.mean(mlm.losses[:10])), 3),
        "loss_last10": round(float(numpy.mean(mlm.losses[-10:])), 3),
        "words_per_s": round(mlm.words_per_second, 1),
    }
    print(f"  mlm: {results['mlm']}", flush=True)
    save()
    timed("spacy-albert (MLM-pretrained)", lambda: run_albert(mlm_out, "albert-mlm"))
    return results


# ---------------------------------------------------------------- report


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


TARGETS = [
    ("fp32 joint ≥ 2.0× HF two-model pipeline", "spacy_joint_fp32/hf_pipeline_two", 2.0),
    ("fp32 joint ≥ 1.8× HF raw two-model forward", "spacy_joint_fp32/hf_raw_two", 1.8),
    ("ner alone ≥ 1.2× HF token-classification pipeline", "spacy_ner_fp32/hf_pipeline_tok", 1.2),
    ("ner alone ≥ 0.9× HF raw token-classification forward", "spacy_ner_fp32/hf_raw_tok", 0.9),
    ("bf16 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_bf16/hf_raw_two", 3.5),
    ("int8 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_int8/hf_raw_two", 3.5),
    ("int8+bf16 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_int8_bf16/hf_raw_two",
     3.5),
]


def render(results: dict[str, dict[str, Any]]) -> str:
    """Markdown tables for every results file (full first)."""
    out: list[str] = []
    for mode in sorted(results, key=lambda m: (m != "full", m)):
        res = results[mode]
        meta = res["meta"]
        out.append(f"### `{meta['command']}` (results/{mode}.json)\n")
        out.append(f"{meta['date']}, {meta['cpu']}, torch {meta['torch']}, "
                   f"{meta['threads']} threads, load average {meta['loadavg_start']} at start / "
                   f"{meta['loadavg_end']} at end, {meta['seconds']:.0f} s in all"
                   + ("" if meta.get("complete", True) else
                      " (**partial**: the run was still going or was stopped)") + ".\n")
        for key, section in res.get("inference", {}).items():
            out.append(f"#### Inference: {key} ({section['texts']} texts, {section['words']} "
                       f"words, batch {section['batch_size']}, {section['rounds']} rounds)\n")
            out.append("| contender | words/s (best round) | words/s (median) |")
            out.append("|---|---:|---:|")
            for name, row in section["contenders"].items():
                out.append(f"| {name} | {row['words_per_s_best']:.0f} | "
                           f"{row['words_per_s_median']:.0f} |")
            out.append("")
            out.append("| ratio | × (median of per-round ratios) | × (best round vs best round) |")
            out.append("|---|---:|---:|")
            for name, value in section["ratios"].items():
                best = section.get("ratios_best", {}).get(name)
                out.append(f"| {name} | {fmt(value)} | {fmt(best)} |")
            out.append("")
        if res.get("targets"):
            out.append("#### Targets (base model, short texts; best round vs best round)\n")
            out.append("| target | measured | median per-round ratio | met? |")
            out.append("|---|---:|---:|---|")
            for row in res["targets"]:
                out.append(f"| {row['target']} | {fmt(row['measured'])}× | "
                           f"{fmt(row.get('median'))}× | {row['verdict']} |")
            out.append("")
        if res.get("agreement"):
            out.append("#### Fast path vs fp32 predictions (base, untrained heads; short texts)\n")
            out.append("| path | same top category | same entities |")
            out.append("|---|---:|---:|")
            for name, row in res["agreement"].items():
                out.append(f"| {name} | {row['same_top_cat']:.3f} | {row['same_ents']:.3f} |")
            out.append("")
        if res.get("rss"):
            out.append("#### Peak RSS (one child process per contender)\n")
            out.append("| run | contender | after imports MB | after load MB | peak MB |")
            out.append("|---|---|---:|---:|---:|")
            for key, rows in res["rss"].items():
                for name, row in rows.items():
                    out.append(f"| {key} | {name} | {fmt(row.get('after_imports_mb'), 0)} | "
                               f"{fmt(row.get('after_load_mb'), 0)} | "
                               f"{fmt(row.get('peak_mb'), 0)} |")
            out.append("")
        if res.get("disk"):
            out.append("#### On-disk size\n")
            out.append("| model | fp32 pipeline MB | int8 pipeline MB | smaller × | "
                       "fp32 weights MB | int8 weights MB | smaller × |")
            out.append("|---|---:|---:|---:|---:|---:|---:|")
            for size, row in res["disk"].items():
                out.append(f"| {size} | {row['fp32_mb']:.2f} | {row['int8_mb']:.2f} | "
                           f"{row['ratio']:.2f} | {row['fp32_weights_mb']:.2f} | "
                           f"{row['int8_weights_mb']:.2f} | {row['weights_ratio']:.2f} |")
            out.append("")
        if res.get("training"):
            tr = res["training"]
            out.append(f"#### Training throughput ({tr['model']}, {tr['steps']} steps, "
                       f"{tr['batch']})\n")
            out.append("| spaCy update (as `spacy train`) words/s | HF loop words/s | ratio |")
            out.append("|---:|---:|---:|")
            out.append(f"| {tr['spacy_words_per_s']:.0f} | {tr['hf_words_per_s']:.0f} | "
                       f"{tr['ratio_spacy_over_hf']:.2f} |")
            out.append("")
        if res.get("accuracy"):
            acc = res["accuracy"]
            out.append("#### Accuracy at the same update budget\n")
            out.append("Budget: " + ", ".join(f"{k} = {v}" for k, v in acc["budget"].items())
                       + "\n")
            out.append("| system | CoNLL-2003 test F1 | SST-2 test accuracy | seconds |")
            out.append("|---|---:|---:|---:|")
            for name, row in acc["systems"].items():
                out.append(f"| {name} | {row['conll_f1']:.2f} | {row['sst2_accuracy']:.2f} | "
                           f"{row['train_eval_seconds']:.0f} |")
            out.append("")
            if "mlm" in acc:
                mlm = acc["mlm"]
                out.append(f"MLM pretraining: `{mlm['command']}`: loss {mlm['loss_first10']} → "
                           f"{mlm['loss_last10']} (mean of first/last 10 steps), "
                           f"{mlm['seconds']:.0f} s, {mlm['words_per_s']:.0f} words/s.\n")
    return "\n".join(out)


def write_markdown(out_dir: Path) -> None:
    results = {}
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if "meta" in data:
            results[path.stem] = data
    tables = render(results)
    block = f"{MARK_START}\n{tables}\n{MARK_END}"
    if BENCHMARKS_MD.is_file():
        text = BENCHMARKS_MD.read_text(encoding="utf-8")
        if MARK_START in text and MARK_END in text:
            head, rest = text.split(MARK_START, 1)
            _, tail = rest.split(MARK_END, 1)
            text = head + block + tail
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = "# Benchmarks\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")


def targets(inference: dict[str, Any]) -> list[dict[str, Any]]:
    section = inference.get("base/short")
    if not section:
        return []
    rows = []
    for label, key, bar in TARGETS:
        value = section.get("ratios_best", {}).get(key)
        if value is None:
            continue
        verdict = "met" if value >= bar else f"missed by {bar - value:.2f}×"
        rows.append({"target": label, "measured": value, "median": section["ratios"].get(key),
                     "bar": bar, "verdict": verdict})
    return rows


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.machine()


def weights_bytes(pipeline: Path) -> int:
    import srsly

    node_shims = srsly.msgpack_loads((pipeline / "transformer" / "model").read_bytes())["shims"]
    return sum(len(srsly.msgpack_loads(data)["state"]) for shims in node_shims for data in shims)


# ---------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small budget (< 3 min).")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) /
                                                  "spacy-albert-bench"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", default="", help="Comma-separated sections to skip: "
                        "inference,rss,disk,training,accuracy.")
    parser.add_argument("--name", default=None,
                        help="Results file stem (default: quick or full), e.g. to run the "
                        "accuracy section alone next to another run.")
    parser.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(json.loads(args.rss_child))
        return
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    mode = "quick" if args.quick else "full"
    name = args.name or mode
    data = find_data_dir(args.data_dir)
    work = Path(args.work_dir)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[bench] {mode} mode, work dir {work}, {args.threads} threads, load {load_start}",
          flush=True)
    paths = prepare(work, data, budget.sizes)
    results: dict[str, Any] = {}

    def save(final: bool = False) -> None:
        results["meta"] = {
            "command": "python -m bench.run" + (" --quick" if args.quick else "")
            + (f" --skip {args.skip}" if args.skip else "")
            + (f" --name {args.name}" if args.name else ""),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "cpu": cpu_name(),
            "torch": torch.__version__,
            "threads": args.threads,
            "loadavg_start": load_start,
            "loadavg_end": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
            "seconds": time.perf_counter() - started,
            "skipped": sorted(skip),
            "complete": final,
        }
        (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        write_markdown(out_dir)

    short = short_texts(data, budget.short_texts)
    long = long_docs(data, budget.long_docs)
    if "inference" not in skip:
        results["inference"] = {}
        for size in budget.sizes:
            runs = [("short", short, 64, False)]
            if size in budget.long_sizes:
                runs.append(("long", long, 8, True))
            for kind, texts, batch_size, is_long in runs:
                names = budget.names
                key = f"{size}/{kind}"
                print(f"[bench] inference {key} ({count_words(texts)} words)", flush=True)
                results["inference"][key] = bench_inference(
                    paths[size], texts, names, batch_size, budget.rounds, is_long)
                print(json.dumps(results["inference"][key]["ratios"]), flush=True)
                results["targets"] = targets(results["inference"])
                save()
        results["agreement"] = agreement(paths["base" if "base" in paths else "tiny"], short)
        save()
    if "disk" not in skip:
        results["disk"] = {}
        for size, p in paths.items():
            fp32, int8 = dir_size(p["joint"]), dir_size(p["joint_int8"])
            w32, w8 = weights_bytes(p["joint"]), weights_bytes(p["joint_int8"])
            results["disk"][size] = {"fp32_mb": fp32 / 1e6, "int8_mb": int8 / 1e6,
                                     "ratio": fp32 / int8, "fp32_weights_mb": w32 / 1e6,
                                     "int8_weights_mb": w8 / 1e6, "weights_ratio": w32 / w8}
        save()
    if "rss" not in skip:
        size = "base" if "base" in paths else budget.sizes[0]
        print(f"[bench] peak RSS ({size})", flush=True)
        results["rss"] = {f"{size}/short": bench_rss(paths[size], short,
                                                     budget.rss_contenders, 64, False,
                                                     args.threads)}
        if budget.rss_long:
            results["rss"][f"{size}/long"] = bench_rss(paths[size], long, budget.rss_contenders,
                                                       8, True, args.threads)
        save()
    if "training" not in skip:
        print(f"[bench] training throughput ({budget.train_size})", flush=True)
        train_paths = paths.get(budget.train_size) or {
            "model": model_dir(work, budget.train_size, data)}
        results["training"] = bench_training(train_paths, data, budget.train_steps, 32)
        results["training"]["model"] = f"init-model --size {budget.train_size}"
        save()
    if budget.accuracy and "accuracy" not in skip:
        print("[bench] accuracy (full mode)", flush=True)
        results["accuracy"] = {}
        bench_accuracy(work, data, budget, results["accuracy"], save)
    save(final=True)
    print(f"[bench] wrote {out_dir / (name + '.json')} and {BENCHMARKS_MD} "
          f"in {results['meta']['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
