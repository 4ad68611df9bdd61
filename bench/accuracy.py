"""Accuracy at the same update budget: CoNLL-2003 F1 and SST-2 accuracy for each system.

Systems: spacy-albert (random init; then the same checkpoint in bf16 and int8), the HF loop
with two models, spaCy's CNN pipeline, and spacy-albert after domain MLM pretraining.
"""

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy
import spacy
from spacy.tokens import Doc
from spacy.util import load_config

from spacy_albert.convert import write_docbin

from . import hf_baseline as hf
from .data import TaggedSentence, conll_sentences, iob_tags, read_sst, sample, spacy_examples
from .hf_training import LoopSettings, train_sequence_classifier, train_token_classifier
from .pipelines import model_dir, quantized_pipeline, vocab_corpus
from .settings import BF16, CONFIGS, Budget

Scores = dict[str, float]


@dataclass
class AccuracyData:
    """The samples every system trains and is scored on.

    conll_train (list[TaggedSentence]): CoNLL training sentences (HF loop).
    sst_train (list[tuple[str, int]]): SST-2 training sentences (HF loop).
    conll_test (list[TaggedSentence]): CoNLL test sentences.
    sst_test (list[tuple[str, int]]): SST-2 test sentences.
    train_path (Path): The same training data as a DocBin (spaCy systems).
    dev_path (Path): A small dev DocBin (spaCy systems evaluate once, at the end).
    """

    conll_train: list[TaggedSentence]
    sst_train: list[tuple[str, int]]
    conll_test: list[TaggedSentence]
    sst_test: list[tuple[str, int]]
    train_path: Path
    dev_path: Path


def load_accuracy_data(data: Path, budget: Budget, out_dir: Path, seed: int) -> AccuracyData:
    """Sample the budget's sentences and write the spaCy DocBins to out_dir."""
    conll_train = sample(conll_sentences(data, "train"), budget.acc_conll_train, seed)
    sst_train = sample(read_sst(data, "train"), budget.acc_sst_train, seed)
    conll_dev = sample(conll_sentences(data, "valid"), 200, seed)
    sst_dev = read_sst(data, "dev")[:200]
    nlp = spacy.blank("en")
    train_docs = [eg.reference for eg in spacy_examples(nlp, conll_train, sst_train)]
    dev_docs = [eg.reference for eg in spacy_examples(nlp, conll_dev, sst_dev)]
    write_docbin(train_docs, out_dir / "train.spacy")
    write_docbin(dev_docs, out_dir / "dev.spacy")
    return AccuracyData(
        conll_train=conll_train, sst_train=sst_train,
        conll_test=sample(conll_sentences(data, "test"), budget.acc_test, seed),
        sst_test=read_sst(data, "test"),
        train_path=out_dir / "train.spacy", dev_path=out_dir / "dev.spacy",
    )


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
        training["optimizer"]["learn_rate"] = {
            "@schedules": "warmup_linear.v1", "warmup_steps": max(1, steps // 10),
            "total_steps": steps, "initial_rate": learn_rate,
        }
    return config


def albert_config(transformer: Path) -> Any:
    """configs/textcat_ner.cfg on the given checkpoint."""
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


def score(conll_test: list[TaggedSentence], predicted_tags: list[list[str]],
          sst_test: list[tuple[str, int]], predicted_labels: list[int]) -> Scores:
    """seqeval entity F1 on CoNLL and accuracy on SST-2, in percent."""
    from seqeval.metrics import f1_score

    f1 = f1_score([sentence.tags for sentence in conll_test], predicted_tags)
    accuracy = sum(p == gold for p, (_, gold) in zip(predicted_labels, sst_test)) / len(sst_test)
    return {"conll_f1": round(100 * float(f1), 2), "sst2_accuracy": round(100 * accuracy, 2)}


def evaluate_spacy(path: Path, data: AccuracyData,
                   config: Optional[dict[str, Any]] = None) -> Scores:
    """Score a saved spaCy pipeline (on CoNLL's own tokens, and on SST-2 text)."""
    nlp = spacy.load(path, config=config or {})
    conll_docs = [Doc(nlp.vocab, words=sentence.words) for sentence in data.conll_test]
    predicted_tags = [iob_tags(doc) for doc in nlp.pipe(conll_docs, batch_size=64)]
    docs = nlp.pipe([text for text, _ in data.sst_test], batch_size=64)
    labels = [int(doc.cats["POSITIVE"] >= doc.cats["NEGATIVE"]) for doc in docs]
    return score(data.conll_test, predicted_tags, data.sst_test, labels)


def run_hf(model: Path, data: AccuracyData, settings: LoopSettings, steps: int) -> Scores:
    """Train and score the HF loop's two models; also reports their training words/s."""
    tokenizer = hf.load_tokenizer(model)
    tag_ids = {t: i for i, t in enumerate(hf.CONLL_TAGS)}
    tok = hf.load_token_classifier(model, seed=settings.seed)
    seq = hf.load_sequence_classifier(model, seed=settings.seed)
    tok_stats = train_token_classifier(
        tok, tokenizer, [s.words for s in data.conll_train],
        [[tag_ids[t] for t in s.tags] for s in data.conll_train], steps, settings)
    seq_stats = train_sequence_classifier(
        seq, tokenizer, [t for t, _ in data.sst_train], [label for _, label in data.sst_train],
        steps, settings)
    predicted_tags = hf.predict_word_tags(tok, tokenizer, [s.words for s in data.conll_test])
    labels = hf.predict_labels(seq, tokenizer, [t for t, _ in data.sst_test])
    scores = score(data.conll_test, predicted_tags, data.sst_test, labels)
    scores["train_words_per_s"] = round((tok_stats.words + seq_stats.words)
                                        / (tok_stats.seconds + seq_stats.seconds), 1)
    return scores


def bench_accuracy(work: Path, data_dir: Path, budget: Budget, results: dict[str, Any],
                   save: Callable[[], None], seed: int = 0) -> dict[str, Any]:
    """CoNLL-2003 F1 and SST-2 accuracy for every system at the same update budget.

    Fills `results` (the results file's accuracy section) as systems finish and calls `save`
    after each.
    """
    from spacy_albert.checkpoints.pretrain import pretrain

    acc_dir = work / "accuracy"
    data = load_accuracy_data(data_dir, budget, acc_dir, seed)
    model = model_dir(work, budget.acc_size, data_dir)
    steps, batch, lr = budget.acc_steps, budget.acc_batch, budget.acc_learn_rate
    results.update({
        "budget": {
            "model": f"init-model --size {budget.acc_size} (random init, vocab from CoNLL+SST "
                     "train text)",
            "steps": steps, "batch": f"{batch} CoNLL + {batch} SST-2 sentences per step",
            "learn_rate": lr, "schedule": "warmup_linear (10% warm-up), AdamW wd 0.01, clip 1.0",
            "conll_train_sentences": len(data.conll_train),
            "sst2_train_sentences": len(data.sst_train),
            "conll_test_sentences": len(data.conll_test),
            "sst2_test_sentences": len(data.sst_test),
            "seed": seed,
        },
        "systems": {},
    })

    def timed(name: str, fn: Callable[[], Scores]) -> None:
        start = time.perf_counter()
        scores = fn()
        scores["train_eval_seconds"] = round(time.perf_counter() - start, 1)
        results["systems"][name] = scores
        print(f"  accuracy {name}: {scores}", flush=True)
        save()

    def run_albert(transformer: Path, name: str) -> Scores:
        config = set_budget(albert_config(transformer), data, steps, batch, lr, seed)
        return evaluate_spacy(spacy_train(config, acc_dir / name, acc_dir / f"{name}.log"), data)

    def run_cnn() -> Scores:
        config = set_budget(cnn_config(), data, steps, batch, None, seed)
        trained = spacy_train(config, acc_dir / "spacy-cnn", acc_dir / "spacy-cnn.log")
        return evaluate_spacy(trained, data)

    timed("spacy-albert (random init)", lambda: run_albert(model, "albert-random"))
    trained = acc_dir / "albert-random" / "model-last"
    timed("  same checkpoint, bf16 inference_dtype", lambda: evaluate_spacy(trained, data, BF16))
    timed("  same checkpoint, int8 (quantize)",
          lambda: evaluate_spacy(quantized_pipeline(trained, acc_dir / "albert-random-int8"),
                                 data))
    hf_settings = LoopSettings(batch_size=batch, learn_rate=lr, warmup=max(1, steps // 10),
                               seed=seed)
    timed("HF loop, two models (random init)", lambda: run_hf(model, data, hf_settings, steps))
    timed("spaCy CNN (efficiency)", run_cnn)
    mlm_out = acc_dir / "albert-mlm-checkpoint"
    start = time.perf_counter()
    mlm = pretrain(model, vocab_corpus(work, data_dir), mlm_out, budget.mlm_steps,
                   batch_size=budget.mlm_batch, learn_rate=1e-3, max_length=budget.mlm_length,
                   seed=seed)
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
