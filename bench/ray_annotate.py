"""Throughput and per-actor memory of `annotate --engine ray`, on a local Ray.

    python -m bench.ray_annotate PIPELINE CORPUS.jsonl [--n 2000] [--num-actors 1 2]
        [--batch-size 64] [--work-dir DIR]

Makes an input of `--n` records by cycling CORPUS's texts, then annotates it once per
`--num-actors` value on one local Ray (127.0.0.1 only) and prints each run's
`RayAnnotateStats.to_dict()` as a JSON line.
"""

import argparse
import itertools
import json
import tempfile
from pathlib import Path
from typing import Optional

from spacy_albert.annotate.options import AnnotateOptions
from spacy_albert.annotate.ray_engine import RayOptions, annotate_with_ray
from spacy_albert.annotate.ray_session import init_local_ray, shutdown_local_ray


def make_input(corpus: Path, n: int, path: Path) -> Path:
    """Write `n` records whose texts cycle through the corpus's, ids r0, r1, ...

    corpus (Path): JSONL with a "text" field.
    n (int): Records to write.
    path (Path): The input file to write.
    RETURNS (Path): `path`.
    """
    texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf8")]
    with path.open("w", encoding="utf8") as file:
        for i, text in zip(range(n), itertools.cycle(texts)):
            file.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline")
    parser.add_argument("corpus", type=Path, help="JSONL whose texts are cycled to make the input")
    parser.add_argument("--n", type=int, default=2000, help="records in the input")
    parser.add_argument("--num-actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ray-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = make_input(args.corpus, args.n, work / "input.jsonl")
    options = AnnotateOptions(batch_size=args.batch_size, resume=False)
    init_local_ray(num_cpus=max(2, max(args.num_actors)))
    try:
        for n in args.num_actors:
            stats = annotate_with_ray(
                args.pipeline, source, work / f"out-{n}.jsonl", options,
                RayOptions(num_actors=n, show_progress=False),
            )
            print(json.dumps(stats.to_dict()), flush=True)
    finally:
        shutdown_local_ray()


if __name__ == "__main__":
    main()
