"""Resuming after a kill: the one resume logic both engines use.

The contract has a write half and a read half. Write: output is appended a batch at a time,
flushed and fsynced (`JsonlAppender`), so after a kill the output holds N complete records
plus possibly one torn line. Read: a rerun truncates the torn line, checks that record N's
id is the id of input line N, skips N input lines and carries on (`resume_point`): no
duplicates, no gaps. Both halves read and write in fixed-size pieces, so memory does not
grow with the output.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Optional, Union

from .inputs import iter_input_records
from .options import AnnotateOptions
from .records import InputRecord, Record

PathLike = Union[str, Path]
READ_CHUNK = 1 << 20


class ResumeError(ValueError):
    """The existing output cannot be continued from this input."""


@dataclass
class ResumePoint:
    """Where a run goes on.

    done (int): Records already in the output.
    offset (int): Input bytes those records came from (0 for Parquet).
    items (Iterator[InputRecord]): The input after them.
    """

    done: int
    offset: int
    items: Iterator[InputRecord]


def count_complete_records(path: PathLike, repair: bool = True) -> tuple[int, Optional[Record]]:
    """Count an output file's complete records, truncating a torn last line.

    A kill can leave the last line partly written (no final newline, or not valid
    JSON); it is cut off when `repair` is set. The file is read in fixed-size chunks.

    path (PathLike): An output JSONL file (need not exist).
    repair (bool): Truncate the torn tail in place.
    RETURNS (tuple[int, Optional[Record]]): The number of complete records and the
        last of them (None when there are none).
    """
    path = Path(path)
    if not path.exists():
        return 0, None
    with open(path, "r+b" if repair else "rb") as file:
        size = file.seek(0, os.SEEK_END)
        end = _last_newline_end(file, size)
        while end > 0:
            start = _last_newline_end(file, end - 1)
            file.seek(start)
            try:
                last = json.loads(file.read(end - start).decode("utf-8"))
            except ValueError:
                last = None
            if isinstance(last, dict) and "id" in last:
                break
            end = start  # A damaged line: drop it too.
        else:
            last = None
        if repair and end < size:
            file.truncate(end)
        file.seek(0)
        count = 0
        while file.tell() < end:
            chunk = file.read(min(READ_CHUNK, end - file.tell()))
            count += chunk.count(b"\n")
    return count, last


def _last_newline_end(file: IO[bytes], limit: int) -> int:
    """Offset just past the last b"\\n" before `limit` (0 if none)."""
    pos = limit
    while pos > 0:
        step = min(READ_CHUNK, pos)
        file.seek(pos - step)
        index = file.read(step).rfind(b"\n")
        if index >= 0:
            return pos - step + index + 1
        pos -= step
    return 0


def _same_id(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def resume_point(
    input_path: PathLike, output_path: PathLike, options: AnnotateOptions
) -> ResumePoint:
    """Where to go on with an output that may already hold records.

    The input record of the output's last complete record (the anchor) must carry that
    record's id, so a run never appends to another input's output. With
    `options.resume` off, the run starts at the first input line.

    input_path (PathLike): The input file.
    output_path (PathLike): The existing (or missing) JSONL output.
    options (AnnotateOptions): How to read the input, and whether to resume.
    RETURNS (ResumePoint): Records already done and the input after them.
    RAISES (ResumeError): The output's last record does not match the input.
    """
    if not options.resume:
        return ResumePoint(0, 0, iter_input_records(input_path, options))
    done, last = count_complete_records(output_path)
    items = iter_input_records(input_path, options, start=max(done - 1, 0))
    if not done:
        return ResumePoint(0, 0, items)
    anchor = next(items, None)
    if anchor is None or last is None or not _same_id(anchor.id, last.get("id")):
        found = "fewer lines" if anchor is None else f"id {anchor.id!r} on line {done}"
        raise ResumeError(
            f"{output_path} has {done} records, the last with id "
            f"{None if last is None else last.get('id')!r}, but {input_path} has "
            f"{found}: it is not this input's output. Pass resume=False "
            "(--no-resume) to start over, or choose another output file."
        )
    return ResumePoint(done, anchor.end_offset, items)


class JsonlAppender:
    """Encoded records to a JSONL file, appended and fsynced a batch at a time.

    path (Path): The output file (its folder is created).
    append (bool): Add to an existing file (a resumed run) instead of overwriting it.
    """

    def __init__(self, path: Path, append: bool):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "ab" if append else "wb")

    def write(self, lines: list[bytes]) -> None:
        """Append lines made by `encode_record`, durably: a kill leaves at most one torn."""
        self.file.write(b"".join(lines))
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
