"""`python -m spacy_albert annotate`: annotate a JSONL, text or Parquet file, resumably."""

import dataclasses
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from wasabi import msg

from ..annotate.local import annotate_file
from ..annotate.options import INPUT_FORMATS, AnnotateOptions, AnnotateStats
from ..annotate.ray_engine import RayAnnotateStats, RayOptions, annotate_with_ray
from ..annotate.redact import REDACT_MODES, check_labels, entity_labels, recall_by_label
from ..annotate.resume import ResumeError
from ..annotate.review_queue import ReviewQueue
from ..confidence.review import RecordLayout, entity_threshold
from ..pipeline.confidence import EntityScorer
from ._app import app

ENGINES = ("local", "ray")


@app.command("annotate")
def annotate_cli(
    pipeline: str = typer.Argument(
        ..., help="Pipeline directory or installed package name."
    ),
    input_path: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="JSONL (one object per line), plain text (one doc per line) or Parquet.",
    ),
    output_path: Path = typer.Argument(
        ..., dir_okay=False, help="Output JSONL; an existing one is continued (--no-resume). "
        "--engine ray also writes Parquet (.parquet/.pq), whole."
    ),
    batch_size: int = typer.Option(
        64, "--batch-size", "-b", min=1, help="Docs per batch; output is fsynced after each."
    ),
    n_process: int = typer.Option(
        1, "--n-process", "-n", min=1, help="Worker processes for nlp.pipe."
    ),
    text_field: str = typer.Option("text", "--text-field", help="JSONL: field with the text."),
    id_field: str = typer.Option(
        "id", "--id-field", help="JSONL: field with the id (default: the line number)."
    ),
    input_format: str = typer.Option(
        "auto",
        "--format",
        help="Input format: auto, jsonl, text or parquet (auto: .jsonl/.ndjson/.json are "
        "JSONL, .parquet/.pq Parquet, anything else text).",
    ),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="Continue an existing output, or overwrite it."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar on stderr."
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU."),
    engine: str = typer.Option(
        "local", "--engine", help="local (nlp.pipe on this machine) or ray (an actor pool "
        "on Ray; pip install 'spacy-albert[ray]')."
    ),
    num_actors: int = typer.Option(
        1, "--num-actors", min=1, help="--engine ray: actors, each loading the pipeline once."
    ),
    address: Optional[str] = typer.Option(
        None, "--address", help="--engine ray: 'auto' or 'ray://HOST:10001' for a cluster "
        "(default: a local Ray on 127.0.0.1, stopped afterwards)."
    ),
    code: Optional[Path] = typer.Option(
        None, "--code", exists=True, dir_okay=False,
        help="--engine ray: Python file registering custom components; every actor imports it.",
    ),
    min_score: Optional[str] = typer.Option(
        None, "--min-score", help="Keep only entities whose score is at least this: a number "
        "in [0, 1], or 'auto' for the threshold `calibrate --min-precision` stored in the "
        "pipeline. Needs albert_entity_scorer (local engine).",
    ),
    review: Optional[Path] = typer.Option(
        None, "--review", dir_okay=False, help="Also write the least confident records of "
        "this run to this JSONL, ready to correct and read back with `convert textcat` "
        "(local engine).",
    ),
    review_size: int = typer.Option(
        100, "--review-size", min=1, help="--review: how many records to keep."
    ),
    redact: Optional[str] = typer.Option(
        None, "--redact", help="Comma-separated entity labels (e.g. PER,LOC) whose text is "
        "replaced in the output; offsets refer to the redacted text. A pre-processing aid, "
        "not a guarantee: what the pipeline misses stays (local engine).",
    ),
    redact_mode: str = typer.Option(
        "label", "--redact-mode", help="--redact: 'label' ([PER]) or 'pseudonym' "
        "([PER_1], the same number for the same text within a record).",
    ),
) -> None:
    """Annotate every line of INPUT with PIPELINE and write one JSONL record per line.

    Records are {"id", "text", "cats", "ents": [{"start", "end", "label", "text"}]},
    in input order (entities also get a "score" where the pipeline scores them); a line
    that cannot be annotated (invalid JSON or UTF-8, missing or non-string text, a doc
    that raises) gets {"id", "error"} and the job goes on. The
    output is written a batch at a time and fsynced, so a killed run is continued by
    running the same command again: a torn last line is dropped, finished lines are
    skipped, and no record is written twice. Memory stays constant in the file size.
    """
    if input_format not in INPUT_FORMATS:
        msg.fail(f"--format must be one of {', '.join(INPUT_FORMATS)}", exits=1)
    if engine not in ENGINES:
        msg.fail(f"--engine must be one of {', '.join(ENGINES)}", exits=1)
    if engine == "ray" and (min_score is not None or review is not None or redact):
        msg.fail("--min-score, --review and --redact run with --engine local only", exits=1)
    if redact_mode not in REDACT_MODES:
        msg.fail(f"--redact-mode must be one of {', '.join(REDACT_MODES)}", exits=1)
    options = AnnotateOptions(
        batch_size=batch_size, text_field=text_field, id_field=id_field,
        input_format=input_format, resume=resume,  # type: ignore[arg-type]
        redact=tuple(label.strip() for label in (redact or "").split(",") if label.strip()),
        redact_mode=redact_mode,  # type: ignore[arg-type]
    )
    try:
        if engine == "ray":
            ray_options = RayOptions(
                num_actors=num_actors, address=address, code=code,
                num_gpus_per_actor=1.0 if gpu_id >= 0 else 0.0, show_progress=progress,
            )
            stats: AnnotateStats = annotate_with_ray(
                pipeline, input_path, output_path, options, ray_options
            )
        else:
            stats = _annotate_local(pipeline, input_path, output_path, options, n_process,
                                    gpu_id, progress, min_score, review, review_size)
    except ResumeError as err:
        msg.fail("Cannot resume", str(err), exits=1)
    except ImportError as err:
        msg.fail(str(err), exits=1)
    skipped = f" (skipped {stats.skipped:,} already done)" if stats.skipped else ""
    speed = ""
    if isinstance(stats, RayAnnotateStats):
        speed = (f" {stats.docs_per_second:,.1f} docs/s on {stats.num_actors} actor(s) "
                 f"({stats.seconds:.1f}s including Ray start-up).")
    msg.good(
        f"Wrote {stats.written:,} records to {output_path}{skipped}; "
        f"{stats.errors:,} error records.{speed}"
    )


def _annotate_local(
    pipeline: str, input_path: Path, output_path: Path, options: AnnotateOptions,
    n_process: int, gpu_id: int, progress: bool, min_score: Optional[str],
    review: Optional[Path], review_size: int,
) -> AnnotateStats:
    """Load the pipeline and run `annotate_file`, with a progress bar over the input's bytes."""
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(pipeline)
    _check_redaction(nlp, options.redact)
    threshold = _min_score(nlp, min_score)
    if threshold is not None:
        options = dataclasses.replace(options, min_score=threshold)
    queue = ReviewQueue(review_size, RecordLayout.from_pipeline(nlp)) if review else None
    bar = _progress_bar(input_path) if progress else None

    def update(offset: int, written: int) -> None:
        if bar is not None:
            bar.update(offset - bar.n)
            bar.set_postfix(docs=written, refresh=False)

    try:
        stats = annotate_file(nlp, input_path, output_path, options, n_process, update, queue)
    finally:
        if bar is not None:
            bar.close()
    if queue is not None and review is not None:
        msg.info(f"Wrote the {queue.write(review):,} least confident records to {review}")
    return stats


def _check_redaction(nlp: Any, labels: tuple[str, ...]) -> None:
    """Refuse labels the pipeline never predicts; say how much each one may miss."""
    if not labels:
        return
    try:
        check_labels(labels, entity_labels(nlp))
    except ValueError as err:
        msg.fail("--redact", str(err), exits=1)
    for label, recall in recall_by_label(nlp.meta, labels).items():
        measured = "not measured" if recall is None else f"{recall:.1%} on the dev set"
        msg.warn(f"--redact {label}: the pipeline's recall is {measured}; "
                 "entities it misses stay in the text")


def _min_score(nlp: Any, value: Optional[str]) -> Optional[float]:
    """--min-score as a number: the given one, or the pipeline's stored threshold."""
    if value is None:
        return None
    if not any(isinstance(pipe, EntityScorer) for _, pipe in nlp.pipeline):
        msg.fail("--min-score needs entity scores: add albert_entity_scorer "
                 "(python -m spacy_albert calibrate PIPELINE DEV OUT)", exits=1)
    if value == "auto":
        threshold = entity_threshold(nlp)
        if threshold is None:
            msg.fail("--min-score auto: the pipeline stores no threshold; run "
                     "python -m spacy_albert calibrate ... --min-precision P first", exits=1)
        return threshold
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0.0 <= threshold <= 1.0:
        msg.fail(f"--min-score must be a number in [0, 1] or 'auto', got {value!r}", exits=1)
    return threshold


def _progress_bar(input_path: Path) -> Optional[Any]:
    """A tqdm bar over the input's bytes, on stderr (None when tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with transformers
        return None
    return tqdm(
        total=input_path.stat().st_size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=input_path.name,
        file=sys.stderr,
        dynamic_ncols=True,
    )
