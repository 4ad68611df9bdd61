"""Batch annotation on Ray: the same records as `annotate.py`, from an actor pool.

`annotate_with_ray` reads the input on the driver with the single-machine reader
(`iter_input_records`, or the Parquet reader below), puts it into the Ray object store a
batch per block, runs `map_batches` on a pool of `num_actors` actors — each `spacy.load`s
the pipeline once, in its constructor — and writes the records on the driver, in input
order. Every actor annotates its batch with `annotate.annotate_records`, so a bad line
or a doc that raises becomes the same error record, and each JSONL line is the same bytes
(`encode_record`), as `python -m spacy_albert annotate` writes.

Only the driver touches files: the input and output can be local to it even when the
actors run on a remote cluster (`address="ray://HOST:10001"`); the pipeline directory is
then shipped to the actors through the object store (`ship_pipeline`).

Needs the `ray` extra: `pip install "spacy-albert[ray]"`.
"""

import io
import itertools
import json
import os
import resource
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy

from .local import (
    InputRecord,
    ResumeError,
    annotate_records,
    encode_record,
    iter_input_records,
    resolve_format,
    resume_point,
)

PathLike = Union[str, Path]
PARQUET_SUFFIXES = (".parquet", ".pq")
# Loopback-only local instance: with this set, Ray resolves the node address to
# 127.0.0.1, so every Ray process listens on and talks to loopback only.
_LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_SAVED_SETTINGS: list[tuple[Optional[str], bool]] = []


def _require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The Ray engine needs Ray Data: pip install \"spacy-albert[ray]\""
        ) from err
    return ray


def is_parquet(path: PathLike) -> bool:
    """Whether a path names a Parquet file (by suffix: .parquet, .pq)."""
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


# --------------------------------------------------------------------------- ray setup


def init_local_ray(num_cpus: int = 2, **kwargs: Any) -> None:
    """Start a local Ray instance that listens on 127.0.0.1 only, without a dashboard.

    num_cpus (int): CPUs Ray may schedule on (one per actor by default).
    **kwargs: More `ray.init` arguments.
    """
    ray = _require_ray()
    from ray._private import ray_constants

    _SAVED_SETTINGS.append((os.environ.get(_LOCAL_ONLY_ENV), ray_constants.ENABLE_RAY_CLUSTER))
    os.environ[_LOCAL_ONLY_ENV] = "0"  # read by the Ray processes started below
    ray_constants.ENABLE_RAY_CLUSTER = False  # the driver read it at import time
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    settings: dict[str, Any] = {
        "num_cpus": num_cpus,
        "include_dashboard": False,
        "_node_ip_address": "127.0.0.1",
        "log_to_driver": False,
    }
    settings.update(kwargs)
    ray.init(**settings)


def shutdown_local_ray() -> None:
    """Stop the instance `init_local_ray` started and undo its loopback-only settings."""
    ray = _require_ray()
    from ray._private import ray_constants

    ray.shutdown()
    while _SAVED_SETTINGS:
        env, enabled = _SAVED_SETTINGS.pop()
        if env is None:
            os.environ.pop(_LOCAL_ONLY_ENV, None)
        else:
            os.environ[_LOCAL_ONLY_ENV] = env
        ray_constants.ENABLE_RAY_CLUSTER = enabled


class _RaySession:
    """Use a running Ray connection, or open one (and close it again at the end)."""

    def __init__(self, address: Optional[str], num_cpus: int):
        self.address = address
        self.num_cpus = num_cpus
        self.owned = False

    def __enter__(self) -> "_RaySession":
        ray = _require_ray()
        if ray.is_initialized():
            return self
        if self.address is None:
            init_local_ray(num_cpus=self.num_cpus)
        else:
            ray.init(address=self.address, log_to_driver=False)
        self.owned = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.owned and self.address is None:
            shutdown_local_ray()
        elif self.owned:
            _require_ray().shutdown()


# --------------------------------------------------------------------------- input


def iter_parquet_records(
    path: PathLike, text_field: str = "text", id_field: str = "id", start: int = 0,
    batch_size: int = 1024,
) -> Iterator[InputRecord]:
    """Stream a Parquet file's rows as `InputRecord`s, like `iter_input_records` for JSONL.

    Row n (1-based) is "line" n; its id is the id column's value, else n. A missing text
    column or a non-string (e.g. null) text gives an error record with the JSONL wording.

    path (PathLike): The Parquet file.
    text_field (str): Column with the text.
    id_field (str): Column with the id (optional).
    start (int): Rows to skip.
    batch_size (int): Rows read at a time.
    YIELDS (InputRecord): One per row from row `start + 1` on (`end_offset` is 0).
    """
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    names = set(parquet.schema_arrow.names)
    columns = [c for c in (text_field, id_field) if c in names] or None
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        data = batch.to_pydict()
        texts = data.get(text_field, [None] * batch.num_rows)
        ids = data.get(id_field, [None] * batch.num_rows)
        for text, record_id in zip(texts, ids):
            row += 1
            if row <= start:
                continue
            record_id = row if record_id is None else _jsonable(record_id)
            if text_field not in names:
                yield InputRecord(row, record_id, None, f"missing text field {text_field!r}", 0)
            elif not isinstance(text, str):
                error = f"text field {text_field!r} must be a string, got {type(text).__name__}"
                yield InputRecord(row, record_id, None, error, 0)
            else:
                yield InputRecord(row, record_id, text, None, 0)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def _input_blocks(items: Iterator[InputRecord], size: int) -> Iterator[Any]:
    """Arrow tables of `size` records: the line number and the record as JSON text."""
    import pyarrow as pa

    lines: list[int] = []
    payloads: list[str] = []
    for item in items:
        lines.append(item.line)
        # ASCII JSON: lone surrogates from `\\ud800` escapes survive the trip through Arrow.
        payloads.append(json.dumps({"id": item.id, "text": item.text, "error": item.error}))
        if len(lines) >= size:
            yield pa.table({"line": pa.array(lines, pa.int64()), "item": payloads})
            lines, payloads = [], []
    if lines:
        yield pa.table({"line": pa.array(lines, pa.int64()), "item": payloads})


# --------------------------------------------------------------------------- actors


def _rss_bytes() -> int:
    """This process's resident set size (current on Linux, else the peak)."""
    try:
        with open("/proc/self/statm") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PipelineActor:
    """A Ray Data callable class: loads the pipeline once, then annotates batches.

    pipeline (str): Pipeline directory or package name (when `archive` is None).
    archive (Optional[list]): [ObjectRef to a tar of the pipeline directory], to unpack
        on the actor's machine instead of reading `pipeline` there.
    code (Optional[str]): Source of a Python file that registers custom components.
    batch_size (int): Docs per `nlp.pipe` batch.
    torch_threads (int): PyTorch intra-op threads for this actor.
    gpu (bool): Run the pipeline on the actor's GPU.
    """

    def __init__(
        self,
        pipeline: str,
        archive: Optional[list] = None,
        code: Optional[str] = None,
        batch_size: int = 64,
        torch_threads: int = 1,
        gpu: bool = False,
    ):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import spacy
        import torch

        torch.set_num_threads(max(1, torch_threads))
        self._tmp = tempfile.TemporaryDirectory(prefix="spacy-albert-ray-")
        if code is not None:
            code_path = Path(self._tmp.name) / "user_code.py"
            code_path.write_text(code, encoding="utf8")
            spacy.util.import_file("spacy_albert_user_code", code_path)
        if archive is not None:
            import ray

            _extract(ray.get(archive[0]), Path(self._tmp.name))
            pipeline = str(Path(self._tmp.name) / "pipeline")
        if gpu:
            spacy.require_gpu()
        self.nlp = spacy.load(pipeline)
        self.batch_size = batch_size
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, numpy.ndarray]) -> dict[str, numpy.ndarray]:
        items = []
        for line, payload in zip(batch["line"], batch["item"]):
            data = json.loads(payload)
            items.append(InputRecord(int(line), data["id"], data["text"], data["error"], 0))
        lines, records = [], []
        for item, record in annotate_records(self.nlp, items, self.batch_size):
            lines.append(item.line)
            records.append(encode_record(record))
        n = len(lines)
        return {
            "line": numpy.asarray(lines, dtype=numpy.int64),
            "record": numpy.array(records, dtype=object),
            "pid": numpy.full(n, self.pid, dtype=numpy.int64),
            "rss": numpy.full(n, _rss_bytes(), dtype=numpy.int64),
        }


def _extract(data: bytes, target: Path) -> None:
    """Unpack a pipeline tar made by `_archive`, refusing links and paths outside target."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
            return
        root = target.resolve()
        for member in tar.getmembers():  # Python < 3.9.17 / 3.10.12 / 3.11.4
            dest = (target / member.name).resolve()
            if not (member.isfile() or member.isdir()) or root not in (dest, *dest.parents):
                raise ValueError(f"Refusing to unpack {member.name!r} from the pipeline archive")
        tar.extractall(target)  # members checked above


def _archive(path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(path), arcname="pipeline")
    return buffer.getvalue()


# --------------------------------------------------------------------------- output


class _ParquetSink:
    """Records to a Parquet file, written to `<name>.partial` and renamed when complete.

    Schema (the JSONL record's fields): id string (ids may mix numbers and strings, so
    they are stored as text: 7 → "7"), text string, cats map<string, double>, ents
    list<struct<start, end, label, text>>, error string; fields a record lacks are null.
    """

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        ent = pa.struct([("start", pa.int64()), ("end", pa.int64()),
                         ("label", pa.string()), ("text", pa.string())])
        self.schema = pa.schema([
            ("id", pa.string()), ("text", pa.string()),
            ("cats", pa.map_(pa.string(), pa.float64())),
            ("ents", pa.list_(ent)), ("error", pa.string()),
        ])
        self.writer = pq.ParquetWriter(str(self.partial), self.schema)

    def write(self, lines: list[bytes]) -> None:
        rows = []
        for line in lines:
            record = json.loads(line)
            record_id = record.get("id")
            rows.append({
                "id": record_id if isinstance(record_id, str) else json.dumps(record_id),
                "text": record.get("text"),
                "cats": list(record["cats"].items()) if "cats" in record else None,
                "ents": record.get("ents"),
                "error": record.get("error"),
            })
        self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))

    def close(self, complete: bool) -> None:
        self.writer.close()
        if complete:
            os.replace(self.partial, self.path)


class _JsonlSink:
    """Records to a JSONL file, appended and fsynced a block at a time (resumable)."""

    def __init__(self, path: Path, append: bool):
        self.file = open(path, "ab" if append else "wb")

    def write(self, lines: list[bytes]) -> None:
        self.file.write(b"".join(lines))
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self, complete: bool) -> None:
        self.file.close()


@dataclass
class RayAnnotateStats:
    """What a Ray annotation run did.

    skipped (int): Records already in the output (resumed run).
    written (int): Records written by this run.
    errors (int): Error records among them.
    seconds (float): Wall time from the call to the last record written (includes
        starting Ray and the actors, and loading the pipeline in each).
    first_record_seconds (float): Wall time until the first records were written.
    num_actors (int): Actors in the pool.
    actor_rss_bytes (Dict[int, int]): Peak resident memory seen per actor process id.
    """

    skipped: int = 0
    written: int = 0
    errors: int = 0
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


def _open_input(
    input_path: Path, text_field: str, id_field: str, input_format: str, start: int
) -> Iterator[InputRecord]:
    if is_parquet(input_path):
        return iter_parquet_records(input_path, text_field, id_field, start=start)
    fmt = resolve_format(input_path, input_format)
    return iter_input_records(input_path, text_field, id_field, start=start, input_format=fmt)


def annotate_with_ray(
    pipeline_path: PathLike,
    input_path: PathLike,
    output_path: PathLike,
    *,
    num_actors: int = 1,
    batch_size: int = 64,
    address: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    input_format: str = "auto",
    resume: bool = True,
    code: Optional[PathLike] = None,
    ship_pipeline: Optional[bool] = None,
    num_cpus_per_actor: float = 1.0,
    num_gpus_per_actor: float = 0.0,
    runtime_env: Optional[dict[str, Any]] = None,
    show_progress: bool = True,
    progress: Optional[Callable[[int], None]] = None,
) -> RayAnnotateStats:
    """Annotate a JSONL, text or Parquet file on a Ray actor pool; write JSONL or Parquet.

    The output holds one record per input line (row), in input order, with the ids and
    error records of `python -m spacy_albert annotate`; JSONL output is byte-identical
    to it and resumable the same way. Parquet output (by suffix) is written whole.

    pipeline_path (PathLike): Pipeline directory (or installed package name).
    input_path (PathLike): .jsonl/.ndjson/.json (JSONL), .parquet/.pq, or a text file.
    output_path (PathLike): .parquet/.pq for Parquet, anything else for JSONL.
    num_actors (int): Actors, each with its own copy of the pipeline.
    batch_size (int): Records per Ray block and per `nlp.pipe` batch.
    address (Optional[str]): Where to run. A Ray connection this process already has
        is always used. Otherwise None starts a local instance (127.0.0.1 only, no
        dashboard, max(2, actors × CPUs per actor) CPUs) and stops it afterwards;
        'auto' joins the cluster this machine belongs to; 'ray://HOST:10001' connects
        to a remote cluster's Ray Client server.
    text_field (str): JSONL field / Parquet column with the text.
    id_field (str): JSONL field / Parquet column with the id (default: line number).
    input_format (str): 'auto', 'jsonl' or 'text' (for non-Parquet input).
    resume (bool): Continue an existing JSONL output (else overwrite it).
    code (Optional[PathLike]): Python file registering custom components; every actor
        imports it before loading the pipeline (as spaCy's `--code`).
    ship_pipeline (Optional[bool]): Send the pipeline directory to the actors through
        the object store (default: when `address` names a cluster).
    num_cpus_per_actor (float): CPUs reserved per actor (also its PyTorch threads).
    num_gpus_per_actor (float): GPUs per actor; > 0 runs the pipeline on the GPU.
    runtime_env (Optional[Dict[str, Any]]): Ray runtime environment for the actors.
    show_progress (bool): Ray Data's progress bars.
    progress (Optional[Callable[[int], None]]): Called with records written so far.
    RETURNS (RayAnnotateStats): Counts, wall time and per-actor memory.
    """
    if num_actors < 1 or batch_size < 1:
        raise ValueError("num_actors and batch_size must be at least 1")
    ray = _require_ray()
    input_path, output_path = Path(input_path), Path(output_path)
    parquet_out = is_parquet(output_path)
    pipeline = str(pipeline_path)
    if ship_pipeline is None:
        ship_pipeline = address is not None
    code_text = Path(code).read_text(encoding="utf8") if code is not None else None

    def items_for(start: int) -> Iterator[InputRecord]:
        return _open_input(input_path, text_field, id_field, input_format, start)

    if resume and not parquet_out:
        done, _, items = resume_point(items_for, input_path, output_path)
    else:
        done, items = 0, items_for(0)
    stats = RayAnnotateStats(skipped=done, num_actors=num_actors)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    first = next(items, None)
    if first is None:  # nothing (left) to annotate: no need for Ray
        (_ParquetSink(output_path) if parquet_out else _JsonlSink(output_path, done > 0)).close(
            complete=True
        )
        return stats
    items = itertools.chain([first], items)
    n_cpus = max(2, int(numpy.ceil(num_actors * num_cpus_per_actor)))
    started = time.perf_counter()
    with _RaySession(address, n_cpus):
        # The whole input goes to the object store first (Ray spills it to disk if needed);
        # the driver itself holds one block at a time.
        refs = [ray.put(table) for table in _input_blocks(items, batch_size)]
        sink: Union[_ParquetSink, _JsonlSink] = (
            _ParquetSink(output_path) if parquet_out else _JsonlSink(output_path, done > 0)
        )
        archive = None
        if ship_pipeline and Path(pipeline).is_dir():
            archive = [ray.put(_archive(Path(pipeline)))]
        context = ray.data.DataContext.get_current()
        saved = (context.execution_options.preserve_order, context.enable_progress_bars)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = show_progress
        complete = False
        try:
            dataset = ray.data.from_arrow_refs(refs).map_batches(
                PipelineActor,
                fn_constructor_kwargs={
                    "pipeline": pipeline,
                    "archive": archive,
                    "code": code_text,
                    "batch_size": batch_size,
                    "torch_threads": max(1, int(num_cpus_per_actor)),
                    "gpu": num_gpus_per_actor > 0,
                },
                batch_size=batch_size,
                batch_format="numpy",
                # A fixed pool of `num_actors` (what `concurrency=num_actors` meant before
                # Ray 2.51); few blocks in flight per actor keeps the pool balanced.
                compute=ray.data.ActorPoolStrategy(
                    size=num_actors, max_tasks_in_flight_per_actor=2
                ),
                num_cpus=num_cpus_per_actor,
                num_gpus=num_gpus_per_actor or None,
                runtime_env=runtime_env,
            )
            _write_in_order(dataset, sink, stats, done + 1, started, progress)
            complete = True
        finally:
            sink.close(complete)
            context.execution_options.preserve_order, context.enable_progress_bars = saved
    stats.seconds = time.perf_counter() - started
    return stats


def _write_in_order(
    dataset: Any, sink: Union[_ParquetSink, _JsonlSink], stats: RayAnnotateStats,
    first_line: int, started: float, progress: Optional[Callable[[int], None]],
) -> None:
    """Write the actors' records by input line, holding back any that arrive early."""
    pending: dict[int, bytes] = {}
    expected = first_line
    for block in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        for line, record, pid, rss in zip(block["line"], block["record"], block["pid"],
                                          block["rss"]):
            pending[int(line)] = bytes(record)
            pid, rss = int(pid), int(rss)
            stats.actor_rss_bytes[pid] = max(stats.actor_rss_bytes.get(pid, 0), rss)
        ready = []
        while expected in pending:
            ready.append(pending.pop(expected))
            expected += 1
        if ready:
            if not stats.written:
                stats.first_record_seconds = time.perf_counter() - started
                stats.first_block = len(ready)
            sink.write(ready)
            stats.written += len(ready)
            stats.errors += sum(_is_error(line) for line in ready)
            if progress is not None:
                progress(stats.written)
    if pending:
        raise RuntimeError(
            f"Ray returned records for lines {sorted(pending)[:5]}... but not line {expected}."
        )


def _is_error(line: bytes) -> bool:
    return "error" in json.loads(line)


def annotate_cli_ray(
    pipeline: str,
    input_path: Path,
    output_path: Path,
    *,
    batch_size: int = 64,
    num_actors: int = 1,
    address: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    input_format: str = "auto",
    resume: bool = True,
    code: Optional[Path] = None,
    gpu_id: int = -1,
) -> RayAnnotateStats:
    """What `python -m spacy_albert annotate --engine ray` runs: annotate and report.

    Arguments as for `annotate_with_ray`; `gpu_id >= 0` gives each actor one GPU.
    RETURNS (RayAnnotateStats): The run's counts; failures exit with status 1.
    """
    from wasabi import msg

    try:
        stats = annotate_with_ray(
            pipeline, input_path, output_path,
            num_actors=num_actors, batch_size=batch_size, address=address,
            text_field=text_field, id_field=id_field, input_format=input_format,
            resume=resume, code=code, num_gpus_per_actor=1.0 if gpu_id >= 0 else 0.0,
        )
    except ResumeError as err:
        msg.fail("Cannot resume", str(err), exits=1)
    except ImportError as err:
        msg.fail(str(err), exits=1)
    skipped = f" (skipped {stats.skipped:,} already done)" if stats.skipped else ""
    msg.good(
        f"Wrote {stats.written:,} records to {output_path}{skipped}; "
        f"{stats.errors:,} error records. {stats.docs_per_second:,.1f} docs/s on "
        f"{num_actors} actor(s) ({stats.seconds:.1f}s including Ray start-up)."
    )
    return stats


def _bench_main(argv: Optional[list[str]] = None) -> None:
    """`python -m spacy_albert.annotate.ray_engine`: throughput and per-actor memory on Ray."""
    import argparse

    parser = argparse.ArgumentParser(description=_bench_main.__doc__)
    parser.add_argument("pipeline")
    parser.add_argument("corpus", help="JSONL whose texts are cycled to make the input")
    parser.add_argument("--n", type=int, default=2000, help="records in the input")
    parser.add_argument("--num-actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--work-dir", default=None)
    args = parser.parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="ray-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    texts = [json.loads(line)["text"] for line in open(args.corpus, encoding="utf8")]
    source = work / "input.jsonl"
    with open(source, "w", encoding="utf8") as file:
        for i, text in zip(range(args.n), itertools.cycle(texts)):
            file.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
    init_local_ray(num_cpus=max(2, max(args.num_actors)))
    try:
        for n in args.num_actors:
            stats = annotate_with_ray(
                args.pipeline, source, work / f"out-{n}.jsonl", num_actors=n,
                batch_size=args.batch_size, resume=False, show_progress=False,
            )
            print(json.dumps(stats.to_dict()), flush=True)
    finally:
        shutdown_local_ray()


if __name__ == "__main__":
    # Run the package's copy of this module, so Ray pickles `PipelineActor` by reference.
    from spacy_albert.annotate.ray_engine import _bench_main as bench_main

    bench_main()
