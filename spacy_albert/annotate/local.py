"""Batch annotation on this machine, in one process or several: a file in, JSONL out.

`annotate_file` writes one record (see `records`) per input line, in input order, never
aborts on bad input, and resumes a killed run (see `resume`). Memory is constant in the
size of the input and output: the input is read one line at a time, and at most one
batch of records (`batch_size` for one process, what spaCy keeps in flight for several)
is held at once. Only a single line is ever held whole, so one enormous line costs its
own size.
"""

from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..confidence.review import filter_record_entities
from .options import AnnotateOptions, AnnotateStats
from .records import InputRecord, Record, annotate_item, doc_to_record, encode_record
from .redact import redact_record
from .resume import JsonlAppender, resume_point
from .review_queue import ReviewQueue

PathLike = Union[str, Path]
ProgressCallback = Callable[[int, int], None]


def annotate_records(
    nlp: Language, items: Iterable[InputRecord], batch_size: int = 64
) -> Iterator[tuple[InputRecord, Record]]:
    """Annotate input records in one process, one batch at a time, in order.

    A batch goes through `nlp.pipe`; if that raises, its records are redone one at a
    time so that only the docs that fail become error records.

    nlp (Language): The pipeline.
    items (Iterable[InputRecord]): The input records.
    batch_size (int): Docs per batch.
    YIELDS (tuple[InputRecord, Record]): Each input with its output record.
    """
    for batch in minibatch(items, size=batch_size):
        good = [item for item in batch if item.error is None]
        try:
            docs = nlp.pipe([item.text for item in good], batch_size=batch_size)
            records = {id(item): doc_to_record(doc, item.id) for item, doc in zip(good, docs)}
        except Exception:  # noqa: BLE001 - fall back to one doc at a time
            records = {id(item): annotate_item(nlp, item) for item in good}
        for item in batch:
            yield item, records.get(id(item)) or annotate_item(nlp, item)


def _skip_failed_worker_batch(
    name: Optional[str], proc: Any, docs: Optional[list[Doc]], error: Exception
) -> None:
    """Error handler for `nlp.pipe(n_process>1)`: skip a worker's failed batch (the
    parent calls it with no component) and raise for anything else, so that component
    errors still reach the worker's or `annotate_item`'s error handling."""
    if name is None and proc is None:
        return None
    raise error


def annotate_records_multiprocess(
    nlp: Language, items: Iterable[InputRecord], batch_size: int = 64, n_process: int = 2
) -> Iterator[tuple[InputRecord, Record]]:
    """Annotate input records with `nlp.pipe(n_process=...)`, in order.

    spaCy drops a worker's whole batch when one of its docs raises; such gaps are
    detected from the records' positions and redone here one doc at a time.

    nlp (Language): The pipeline.
    items (Iterable[InputRecord]): The input records.
    batch_size (int): Docs per worker batch.
    n_process (int): Worker processes.
    YIELDS (tuple[InputRecord, Record]): Each input with its output record.
    """
    pending: deque[tuple[int, InputRecord]] = deque()

    def feed() -> Iterator[tuple[str, int]]:
        for position, item in enumerate(items):
            pending.append((position, item))
            if item.error is None:
                yield item.text, position  # type: ignore[misc]

    previous = nlp.default_error_handler
    nlp.default_error_handler = _skip_failed_worker_batch
    try:
        stream = nlp.pipe(feed(), as_tuples=True, batch_size=batch_size, n_process=n_process)
        for doc, position in stream:
            while pending[0][0] < position:
                item = pending.popleft()[1]
                yield item, annotate_item(nlp, item)
            item = pending.popleft()[1]
            yield item, doc_to_record(doc, item.id)
        while pending:
            item = pending.popleft()[1]
            yield item, annotate_item(nlp, item)
    finally:
        nlp.default_error_handler = previous


def annotate_file(
    nlp: Language,
    input_path: PathLike,
    output_path: PathLike,
    options: AnnotateOptions = AnnotateOptions(),
    n_process: int = 1,
    progress: Optional[ProgressCallback] = None,
    review: Optional[ReviewQueue] = None,
) -> AnnotateStats:
    """Annotate a JSONL, plain-text or Parquet file into a JSONL file, resumably.

    nlp (Language): The pipeline.
    input_path (PathLike): The input (see `inputs.iter_input_records`).
    output_path (PathLike): Output JSONL; appended to when resuming.
    options (AnnotateOptions): Batch size, input fields and format, resume.
    n_process (int): Worker processes for `nlp.pipe` (1: this process only).
    progress (Optional[ProgressCallback]): Called after every write with (bytes of
        input consumed, records written in this run).
    review (Optional[ReviewQueue]): Offered every record of this run (redacted when
        `options.redact` asks) before `options.min_score` filters its entities.
    RETURNS (AnnotateStats): Records skipped (already done), written, and errors.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    start = resume_point(input_path, output_path, options)
    if n_process == 1:
        annotated = annotate_records(nlp, start.items, options.batch_size)
    else:
        annotated = annotate_records_multiprocess(
            nlp, start.items, options.batch_size, n_process
        )
    stats = AnnotateStats(skipped=start.done)
    offset = start.offset
    if progress is not None:
        progress(offset, 0)
    with JsonlAppender(output_path, append=options.resume) as out:
        for batch in minibatch(annotated, size=options.batch_size):
            records = [record for _, record in batch]
            if options.redact:
                records = [redact_record(r, options.redact, options.redact_mode) for r in records]
            if review is not None:
                review.offer(records)
            out.write(
                [encode_record(filter_record_entities(r, options.min_score)) for r in records]
            )
            stats.written += len(batch)
            stats.errors += sum("error" in record for _, record in batch)
            offset = batch[-1][0].end_offset
            if progress is not None:
                progress(offset, stats.written)
    return stats
