"""bench.int8_accuracy: the float and the quantized copy scored alike, and their table."""

from pathlib import Path

from bench.accuracy import EvalSet
from bench.data import TaggedSentence
from bench.int8_accuracy import int8_accuracy
from bench.render import render

from .conftest import run_block


def test_int8_accuracy_scores_both_copies_and_the_loss_between_them(en_pipeline_dir: Path):
    conll = [TaggedSentence(["Jonas", "Keller", "visited", "Osaka", "."],
                            ["B-PER", "I-PER", "O", "B-LOC", "O"]),
             TaggedSentence(["Kestrowe", "Airlines", "missed", "its", "target", "."],
                            ["B-ORG", "I-ORG", "O", "O", "O", "O"])]
    sst = [("Honestly? Absolutely loved it!", 1),
           ("A disappointing result. Would not recommend.", 0)]
    result = int8_accuracy(en_pipeline_dir, EvalSet(conll=conll, sst=sst))
    for precision in ("fp32", "int8"):
        assert set(result[precision]) == {"conll_f1", "sst2_accuracy"}
        assert all(0.0 <= value <= 100.0 for value in result[precision].values())
    assert result["loss"] == {task: round(result["fp32"][task] - result["int8"][task], 2)
                              for task in ("conll_f1", "sst2_accuracy")}


def test_the_int8_accuracy_table_shows_both_precisions_the_loss_and_the_kernel():
    section = {"pipeline": "training/model-best", "corpus": "corpus/en_pretrained_real",
               "split": "sentence/dev", "conll_docs": 3250, "sst2_texts": 872,
               "kernel": "fbgemm int8: expected ~1.5x encoder speed over float32 (AVX2)",
               "fp32": {"conll_f1": 90.12, "sst2_accuracy": 86.5},
               "int8": {"conll_f1": 89.87, "sst2_accuracy": 86.24},
               "loss": {"conll_f1": 0.25, "sst2_accuracy": 0.26}}
    meta = {**run_block("python -m bench.int8_accuracy P"), "torch": "2.13.0+cpu",
            "loadavg_end": "1.0 / 1.0 / 1.0", "seconds": 300.0}
    text = render({"int8-accuracy": {"meta": meta, "int8_accuracy": section}})
    assert "(sentence/dev: 3250 CoNLL-2003 docs, 872 SST-2 texts)" in text
    assert "int8 kernel on this CPU: fbgemm int8: expected ~1.5x" in text
    assert "| fp32 | 90.12 | 86.50 |" in text
    assert "| int8 | 89.87 | 86.24 |" in text
    assert "| loss (fp32 − int8, points) | 0.25 | 0.26 |" in text
