"""Which pooled vector of a frozen encoder starts closest to SST-2: linear probes.

    python -m bench.pooling_probe --corpus corpus/en_pretrained_real --model models/en-pretrained \
        [--train-texts 20000] [--threads 2] [--out bench/results/pooling_probe_sst2.json]

The pipeline's encoder (configs/textcat.cfg's `albert_transformer` on the checkpoint, as it
trains) reads `--train-texts` SST-2 training texts and the dev texts; each text is pooled
four ways, and a logistic regression per pooling (C from `C_GRID`, each reported) is fit on
the training texts and scored on dev:
- `token_mean`: spaCy's listener (each token the mean of its pieces), then the mean over the
  tokens: what `TextCatReduce` over `TransformerListener.v1` reads;
- `piece_mean`: the mean of every piece read, [CLS] and [SEP] included
  (`spacy-albert.PieceListener.v1`), as sentence encoders such as all-MiniLM are trained;
- `cls`: the [CLS] piece's vector;
- `cls_pooler`: the checkpoint's pooler (dense + tanh) over [CLS], what the HF sequence
  classifier reads.
A probe scores where fine-tuning starts from, not where it ends.
"""

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy  # noqa: E402
import srsly  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from spacy.util import load_config, load_model_from_config  # noqa: E402
from spacy_transformers.layers import trfs2arrays  # noqa: E402
from thinc.api import reduce_mean  # noqa: E402
from transformers import AlbertModel  # noqa: E402

from bench.meta import command_line, load_average, results_meta  # noqa: E402
from bench.pretrained_data import load_split  # noqa: E402
from bench.settings import CONFIGS  # noqa: E402
from spacy_albert.models.piece_pooling import trfs2pieces  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "pooling_probe_sst2.json"
POOLINGS = ("token_mean", "piece_mean", "cls", "cls_pooler")
C_GRID = (0.1, 1.0, 10.0)
BATCH = 64


def pooled_vectors(model: Path, splits: dict[str, Sequence[str]]
                   ) -> dict[str, dict[str, numpy.ndarray]]:
    """Each split's texts as vectors under each of `POOLINGS`, shape (len(texts), width);
    the encoder is built once for all splits."""
    config = load_config(CONFIGS / "textcat.cfg")
    config["paths"]["transformer"] = str(model)
    config["nlp"]["pipeline"] = ["transformer"]
    del config["components"]["textcat"]
    nlp = load_model_from_config(config.interpolate(), auto_fill=True)
    nlp.initialize()
    hf_model = AlbertModel.from_pretrained(model).eval()
    token_rows, piece_rows = trfs2arrays(reduce_mean(), 1.0), trfs2pieces(1.0)
    vectors = {}
    for split, texts in splits.items():
        rows: dict[str, list[numpy.ndarray]] = {name: [] for name in POOLINGS}
        for doc in nlp.pipe(texts, batch_size=BATCH):
            data = doc._.trf_data
            cls = numpy.asarray(data.model_output.last_hidden_state[0, :1])
            rows["token_mean"].append(token_rows.predict([data])[0].mean(axis=0))
            rows["piece_mean"].append(piece_rows.predict([data])[0].mean(axis=0))
            rows["cls"].append(cls[0])
            with torch.no_grad():
                rows["cls_pooler"].append(hf_model.pooler_activation(
                    hf_model.pooler(torch.from_numpy(cls)))[0].numpy())
        vectors[split] = {name: numpy.stack(split_rows) for name, split_rows in rows.items()}
    return vectors


def probe(train: dict[str, numpy.ndarray], train_labels: numpy.ndarray,
          dev: dict[str, numpy.ndarray], dev_labels: numpy.ndarray) -> dict[str, dict[str, float]]:
    """Dev accuracy (%) of a logistic regression per pooling and C."""
    return {name: {str(C): round(100 * LogisticRegression(C=C, max_iter=2000)
                                 .fit(train[name], train_labels).score(dev[name], dev_labels), 2)
                   for C in C_GRID}
            for name in POOLINGS}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pooling_probe",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--train-texts", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    splits = {split: load_split(args.corpus, "sentence", split).sst for split in ("train", "dev")}
    # Every text in a fixed order from a seeded shuffle, so a smaller run is a prefix.
    order = numpy.random.default_rng(0).permutation(len(splits["train"]))[:args.train_texts]
    labelled = {"train": [splits["train"][i] for i in order], "dev": splits["dev"]}
    vectors = pooled_vectors(args.model, {split: [text for text, _ in texts]
                                          for split, texts in labelled.items()})
    labels = {split: numpy.asarray([label for _, label in texts])
              for split, texts in labelled.items()}
    accuracy = probe(vectors["train"], labels["train"], vectors["dev"], labels["dev"])
    results: dict[str, Any] = {
        "meta": results_meta(command_line("bench.pooling_probe",
                                          sys.argv[1:] if argv is None else list(argv)),
                             args.threads, started, load_start),
        "train_texts": len(labelled["train"]), "dev_texts": len(labelled["dev"]),
        "dev_accuracy": accuracy,
        "best": {name: max(scores.values()) for name, scores in accuracy.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.out, results)
    for name, best in results["best"].items():
        print(f"{name:12s} best dev accuracy {best:.2f} ({accuracy[name]})")


if __name__ == "__main__":
    main()
