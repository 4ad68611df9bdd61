"""What each benchmark mode runs: the budgets, the contenders and the repository paths."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
RESULTS = ROOT / "bench" / "results"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"

# Config overrides that run a saved pipeline's encoder in bfloat16.
BF16: dict[str, Any] = {"components": {"transformer": {"model": {"inference_dtype": "bfloat16"}}}}

JOINT = ("spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "hf_pipeline_two_defaults",
         "hf_pipeline_two", "hf_raw_two", "hf_raw_two_bf16", "hf_raw_two_int8")
NER_ONLY = ("spacy_ner_fp32", "spacy_ner_int8", "hf_pipeline_tok", "hf_raw_tok", "hf_raw_tok_int8")
# Long documents add HF in spacy-albert's windows.
LONG_EXTRA = ("hf_raw_two_w128",)
QUICK_NAMES = ("spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "hf_pipeline_two",
               "hf_raw_two", "hf_raw_two_bf16", "hf_raw_two_int8")


@dataclass
class Budget:
    """How much work each section does (quick vs full mode).

    short_texts (int): ~25-word texts per inference run.
    long_docs (int): Long documents per long-text run.
    long_words (int): Words per long document (at least).
    rounds (int): Interleaved timing rounds per contender.
    sizes (tuple[str, ...]): Model sizes timed on short texts.
    long_sizes (tuple[str, ...]): Model sizes also timed on long documents.
    rss_contenders (tuple[str, ...]): Contenders whose peak RSS is measured.
    train_steps (int): Timed update steps of the training-throughput section.
    train_sizes (tuple[str, ...]): Model sizes of the training-throughput section.
    accuracy (bool): Whether the accuracy section runs.
    acc_size (str): Model size trained for accuracy.
    acc_steps (int): Updates per system in the accuracy section.
    acc_batch (int): CoNLL sentences (and SST-2 sentences) per update.
    acc_conll_train (int): CoNLL training sentences sampled (0: all).
    acc_sst_train (int): SST-2 training sentences sampled (0: all).
    acc_dev (int): CoNLL and SST-2 dev sentences each (learning-rate selection).
    acc_test (int): CoNLL test sentences sampled (0: all).
    acc_learn_rates (tuple[float, ...]): The grid each side's peak learning rate is picked from.
    acc_seeds (tuple[int, ...]): Seeds of the test runs (the grid runs on the first).
    mlm_steps (int): Domain MLM pretraining steps.
    mlm_batch (int): MLM batch size.
    mlm_length (int): MLM maximum sequence length.
    names (tuple[str, ...]): Contenders timed in the inference section.
    rss_long (bool): Whether peak RSS is also measured on long documents.
    """

    short_texts: int
    long_docs: int
    rounds: int
    sizes: tuple[str, ...]
    long_sizes: tuple[str, ...]
    rss_contenders: tuple[str, ...]
    train_steps: int
    train_sizes: tuple[str, ...]
    accuracy: bool
    long_words: int = 1500
    acc_size: str = "small"
    acc_steps: int = 0
    acc_batch: int = 32
    acc_conll_train: int = 0
    acc_sst_train: int = 0
    acc_dev: int = 200
    acc_test: int = 0
    acc_learn_rates: tuple[float, ...] = (1e-4, 3e-4, 1e-3)
    acc_seeds: tuple[int, ...] = (0, 1, 2)
    mlm_steps: int = 0
    mlm_batch: int = 32
    mlm_length: int = 128
    names: tuple[str, ...] = ()
    rss_long: bool = False


QUICK = Budget(
    # tiny and small (base is the full run's), 3 rounds and two RSS children keep quick mode
    # under 3 min on 2 idle cores.
    short_texts=32, long_docs=2, rounds=3, sizes=("tiny", "small"), long_sizes=("tiny",),
    rss_contenders=("spacy_joint_fp32", "hf_raw_two"),
    train_steps=6, train_sizes=("tiny",), accuracy=False, names=QUICK_NAMES,
)
FULL = Budget(
    short_texts=64, long_docs=20, rounds=5, sizes=("tiny", "base"), long_sizes=("tiny", "base"),
    rss_contenders=(
        "spacy_joint_fp32", "spacy_joint_bf16", "spacy_joint_int8", "hf_pipeline_two",
        "hf_raw_two", "hf_raw_two_int8", "spacy_ner_fp32", "hf_pipeline_tok", "hf_raw_tok",
    ),
    train_steps=30, train_sizes=("tiny", "small", "base"), accuracy=True,
    acc_size="small", acc_steps=300, acc_batch=32, acc_conll_train=6000, acc_sst_train=6000,
    acc_test=1000, mlm_steps=300, mlm_batch=32, mlm_length=64, names=JOINT + NER_ONLY,
)
