"""What int8 costs in accuracy on a trained pipeline, with the kernel this CPU picks.

    python -m bench.int8_accuracy PIPELINE --corpus corpus/en_pretrained_real \
        [--context sentence] [--split dev] [--threads 2] [--name int8-accuracy] \
        [--out bench/results]

PIPELINE is a trained joint textcat+ner pipeline (e.g. `en-pretrained`'s model-best). It is
quantized as `python -m spacy_albert quantize` does, and both copies are scored on the
corpus's CoNLL-2003 split (seqeval entity F1 on CoNLL's own tokens) and SST-2 split
(accuracy) by bench.accuracy's functions. The speed benches time int8 on untrained heads;
this is the accuracy loss the headline rule bounds (bench.fairness: at most 0.5 points),
measured where it matters: on trained weights, on this CPU's int8 kernel (in the results,
with the CPU's model and flags in meta).
"""

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import torch

from spacy_albert.models.int8_kernels import default_choice

from .accuracy import EvalSet, evaluate_spacy
from .meta import command_line, load_average, results_meta
from .pipelines import quantized_pipeline
from .pretrained_data import CONTEXTS, load_split
from .render import write_markdown
from .settings import RESULTS


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.int8_accuracy",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("pipeline", type=Path, help="A trained joint textcat+ner pipeline.")
    parser.add_argument("--corpus", type=Path, required=True,
                        help="What `bench.pretrained_data corpus` wrote.")
    parser.add_argument("--context", choices=CONTEXTS, default="sentence")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="int8-accuracy", help="Results file stem.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def int8_accuracy(pipeline: Path, split: EvalSet) -> dict[str, Any]:
    """fp32 and int8 scores of `pipeline` on `split`, and the loss (fp32 - int8, points)."""
    with tempfile.TemporaryDirectory() as work:
        int8 = quantized_pipeline(pipeline, Path(work) / "int8")
        scores = {"fp32": evaluate_spacy(pipeline, split), "int8": evaluate_spacy(int8, split)}
    return {**scores, "loss": {task: round(scores["fp32"][task] - scores["int8"][task], 2)
                               for task in scores["fp32"]}}


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    data = load_split(args.corpus, args.context, args.split)
    split = EvalSet(conll=data.conll, sst=data.sst)
    results = {
        "int8_accuracy": {
            "pipeline": str(args.pipeline), "corpus": str(args.corpus),
            "split": f"{args.context}/{args.split}", "conll_docs": len(data.conll),
            "sst2_texts": len(data.sst), "kernel": default_choice().describe(),
            **int8_accuracy(args.pipeline, split),
        },
        "meta": results_meta(command_line("bench.int8_accuracy", argv), args.threads,
                             started, load_start),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.out.resolve() == RESULTS.resolve():
        write_markdown(args.out)
    print(f"[int8-accuracy] {results['int8_accuracy']}\n[int8-accuracy] wrote {path}")


if __name__ == "__main__":
    main()
