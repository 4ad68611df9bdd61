"""Batch annotation on a Ray actor pool: the records `local.annotate_file` writes.

`annotate_with_ray` reads the input on the driver with the shared reader
(`inputs.iter_input_records`), puts it into the Ray object store a batch per block, runs
`map_batches` on a pool of `num_actors` actors — each `spacy.load`s the pipeline once, in
its constructor, and annotates its blocks with `local.annotate_records` — and writes what
comes back. Ray Data keeps the blocks in input order (`preserve_order`), so the driver
writes them as they arrive: a bad line or a doc that raises becomes the same error record,
and each JSONL line is the same bytes, as `python -m spacy_albert annotate` writes.

Only the driver touches files: input and output can be local to it even when the actors
run on a remote cluster (`address="ray://HOST:10001"`). The pipeline directory then
travels as the Ray job's `runtime_env` `working_dir` (`ship_pipeline`), and a `code`
file's source as an actor argument.

Needs the `ray` extra: `pip install "spacy-albert[ray]"`.
"""

import dataclasses
import itertools
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from spacy.util import minibatch

from .inputs import is_parquet
from .local import annotate_records
from .options import AnnotateOptions, AnnotateStats
from .ray_blocks import (
    JsonlSink,
    OutputFormat,
    ParquetSink,
    input_block,
    input_records,
    record_block,
)
from .ray_session import RaySession, require_ray
from .resume import resume_point

PathLike = Union[str, Path]


@dataclass(frozen=True)
class RayOptions:
    """Where and how the actor pool runs.

    num_actors (int): Actors, each with its own copy of the pipeline.
    address (Optional[str]): Where to run. A Ray connection this process already has is
        always used. Otherwise None starts a local instance (127.0.0.1 only, no dashboard,
        max(2, actors × CPUs per actor) CPUs) and stops it afterwards; 'auto' joins the
        cluster this machine belongs to; 'ray://HOST:10001' connects to a remote
        cluster's Ray Client server.
    code (Optional[Path]): Python file registering custom components; its source goes
        to every actor, which imports it before loading the pipeline (spaCy's `--code`).
    ship_pipeline (Optional[bool]): Send the pipeline directory to the nodes as the Ray
        job's `runtime_env` `working_dir`, with this spacy_albert in `py_modules`. Ray
        uploads local directories only for a job it starts, so this needs a connection of
        its own (default: when `address` names a cluster this process is not yet
        connected to).
    num_cpus_per_actor (float): CPUs reserved per actor (also its PyTorch threads).
    num_gpus_per_actor (float): GPUs per actor; > 0 runs the pipeline on the GPU.
    runtime_env (Optional[dict[str, Any]]): Ray runtime environment for the actors
        (e.g. `pip`, `env_vars`; local directories only through `ship_pipeline`).
    show_progress (bool): Ray Data's progress bars.
    """

    num_actors: int = 1
    address: Optional[str] = None
    code: Optional[Path] = None
    ship_pipeline: Optional[bool] = None
    num_cpus_per_actor: float = 1.0
    num_gpus_per_actor: float = 0.0
    runtime_env: Optional[dict[str, Any]] = None
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.num_actors < 1:
            raise ValueError(f"num_actors must be at least 1, got {self.num_actors}")


@dataclass
class RayAnnotateStats(AnnotateStats):
    """What a Ray annotation run did: `AnnotateStats` plus time and memory.

    seconds (float): Wall time from the call to the last record written (includes
        starting Ray and the actors, and loading the pipeline in each).
    first_record_seconds (float): Wall time until the first records were written.
    first_block (int): Records in the first block written.
    num_actors (int): Actors in the pool.
    actor_rss_bytes (dict[int, int]): Peak resident memory seen per actor process id.
    """

    seconds: float = 0.0
    first_record_seconds: float = 0.0
    first_block: int = 0
    num_actors: int = 1
    actor_rss_bytes: dict[int, int] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        """Records written per second of the whole call."""
        return self.written / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_docs_per_second(self) -> float:
        """Records per second once the first records arrived (start-up excluded)."""
        elapsed = self.seconds - self.first_record_seconds
        return (self.written - self.first_block) / elapsed if elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The stats as JSON-ready numbers (rounded; RSS in MiB)."""
        return {
            "skipped": self.skipped,
            "written": self.written,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.docs_per_second, 2),
            "first_record_seconds": round(self.first_record_seconds, 3),
            "steady_docs_per_second": round(self.steady_docs_per_second, 2),
            "num_actors": self.num_actors,
            "actor_rss_mb": {str(pid): round(rss / 2**20, 1)
                             for pid, rss in sorted(self.actor_rss_bytes.items())},
        }


# --------------------------------------------------------------------------- actors


class PipelineActor:
    """A Ray Data callable class: loads the pipeline once, then annotates blocks.

    Each block comes back as an Arrow table in the output's form — JSONL: `record` (the
    line `encode_record` made, the record's only encoding) and `is_error`; Parquet: the
    Parquet schema's columns — plus `pid` and `rss` (this process's resident memory).

    pipeline (Optional[str]): Pipeline directory or package name; None loads the
        actor's working directory (the pipeline shipped as `working_dir`).
    code (Optional[str]): Source of a Python file that registers custom components,
        imported before the pipeline is loaded.
    output_format (OutputFormat): 'jsonl' or 'parquet'.
    batch_size (int): Docs per `nlp.pipe` batch.
    torch_threads (int): PyTorch intra-op threads for this actor.
    gpu (bool): Run the pipeline on the actor's GPU.
    """

    def __init__(
        self,
        pipeline: Optional[str],
        code: Optional[str] = None,
        output_format: OutputFormat = "jsonl",
        batch_size: int = 64,
        torch_threads: int = 1,
        gpu: bool = False,
    ):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import psutil
        import spacy
        import torch

        torch.set_num_threads(max(1, torch_threads))
        if code is not None:
            with tempfile.TemporaryDirectory(prefix="spacy-albert-code-") as tmp:
                path = Path(tmp) / "user_code.py"
                path.write_text(code, encoding="utf8")
                spacy.util.import_file("spacy_albert_user_code", path)
        if gpu:
            spacy.require_gpu()
        self.nlp = spacy.load(pipeline if pipeline is not None else Path.cwd())
        self.output_format = output_format
        self.batch_size = batch_size
        self.process = psutil.Process()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        items = input_records(batch)
        records = [record for _, record in annotate_records(self.nlp, items, self.batch_size)]
        table = record_block(records, self.output_format)
        n = len(records)
        table = table.append_column("pid", pa.array([self.process.pid] * n, pa.int64()))
        return table.append_column(
            "rss", pa.array([self.process.memory_info().rss] * n, pa.int64())
        )


# --------------------------------------------------------------------------- run


def _job_env(
    ray: Any, pipeline_path: PathLike, ray_options: RayOptions
) -> Optional[dict[str, Any]]:
    """The Ray job's runtime_env when the pipeline is shipped (else None): the pipeline
    directory as the working directory, and this spacy_albert in `py_modules` so that the
    nodes run the driver's code."""
    ship = ray_options.ship_pipeline
    if ship is None:
        ship = ray_options.address is not None and not ray.is_initialized()
    if not ship or not Path(pipeline_path).is_dir():
        return None
    return {
        "working_dir": str(Path(pipeline_path).resolve()),
        "py_modules": [str(Path(__file__).resolve().parents[1])],
        "excludes": ["__pycache__"],
    }


def annotate_with_ray(
    pipeline_path: PathLike,
    input_path: PathLike,
    output_path: PathLike,
    options: AnnotateOptions = AnnotateOptions(),
    ray_options: RayOptions = RayOptions(),
    progress: Optional[Callable[[int], None]] = None,
) -> RayAnnotateStats:
    """Annotate a JSONL, text or Parquet file on a Ray actor pool; write JSONL or Parquet.

    The output holds one record per input line (row), in input order, with the ids and
    error records of `local.annotate_file`; JSONL output is byte-identical to it and
    resumable the same way. Parquet output (by suffix) is written whole: id as text
    (7 → "7"), text, cats map<string, double>, ents list<struct<start, end, label,
    text>>, error; fields a record lacks are null.

    pipeline_path (PathLike): Pipeline directory (or installed package name).
    input_path (PathLike): The input (see `inputs.iter_input_records`).
    output_path (PathLike): .parquet/.pq for Parquet, anything else for JSONL.
    options (AnnotateOptions): Batch size (records per Ray block and per `nlp.pipe`
        batch), input fields and format, resume (JSONL output only).
    ray_options (RayOptions): Actors, cluster address, shipping, resources.
    progress (Optional[Callable[[int], None]]): Called with records written so far.
    RETURNS (RayAnnotateStats): Counts, wall time and per-actor memory.
    """
    ray = require_ray()
    input_path, output_path = Path(input_path), Path(output_path)
    output_format: OutputFormat = "parquet" if is_parquet(output_path) else "jsonl"
    if output_format == "parquet":
        options = dataclasses.replace(options, resume=False)
    start = resume_point(input_path, output_path, options)
    stats = RayAnnotateStats(skipped=start.done, num_actors=ray_options.num_actors)
    job_env = _job_env(ray, pipeline_path, ray_options)
    code = Path(ray_options.code).read_text(encoding="utf8") if ray_options.code else None
    n_cpus = max(2, math.ceil(ray_options.num_actors * ray_options.num_cpus_per_actor))
    started = time.perf_counter()
    sink: Union[ParquetSink, JsonlSink] = (
        ParquetSink(output_path) if output_format == "parquet"
        else JsonlSink(output_path, append=options.resume)
    )
    first = next(start.items, None)
    if first is None:  # nothing (left) to annotate: no need for Ray
        sink.close(complete=True)
        return stats
    complete = False
    try:
        with RaySession(ray_options.address, n_cpus, job_env):
            # The whole input goes to the object store first (Ray spills it to disk if
            # needed); the driver itself holds one block at a time.
            batches = minibatch(itertools.chain([first], start.items), size=options.batch_size)
            dataset = ray.data.from_pandas_refs([ray.put(input_block(b)) for b in batches])
            dataset.context.execution_options.preserve_order = True
            dataset.context.enable_progress_bars = ray_options.show_progress
            annotated = dataset.map_batches(
                PipelineActor,
                fn_constructor_kwargs={
                    "pipeline": None if job_env else str(pipeline_path),
                    "code": code,
                    "output_format": output_format,
                    "batch_size": options.batch_size,
                    "torch_threads": max(1, int(ray_options.num_cpus_per_actor)),
                    "gpu": ray_options.num_gpus_per_actor > 0,
                },
                batch_size=options.batch_size,
                batch_format="pandas",
                # A fixed pool of `num_actors`; few blocks in flight per actor keeps the
                # pool balanced.
                compute=ray.data.ActorPoolStrategy(
                    size=ray_options.num_actors, max_tasks_in_flight_per_actor=2
                ),
                num_cpus=ray_options.num_cpus_per_actor,
                num_gpus=ray_options.num_gpus_per_actor or None,
                runtime_env=ray_options.runtime_env,
            )
            for table in annotated.iter_batches(batch_size=None, batch_format="pyarrow"):
                _write_block(table, sink, stats, started)
                if progress is not None:
                    progress(stats.written)
        complete = True
    finally:
        sink.close(complete)
    stats.seconds = time.perf_counter() - started
    return stats


def _write_block(
    table: Any, sink: Union[ParquetSink, JsonlSink], stats: RayAnnotateStats, started: float
) -> None:
    """Write one block of annotated records and count it."""
    for pid, rss in set(zip(table.column("pid").to_pylist(), table.column("rss").to_pylist())):
        stats.actor_rss_bytes[pid] = max(stats.actor_rss_bytes.get(pid, 0), rss)
    if not stats.written:
        stats.first_record_seconds = time.perf_counter() - started
        stats.first_block = table.num_rows
    stats.errors += sink.write(table)
    stats.written += table.num_rows
