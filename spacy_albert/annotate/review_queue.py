"""The review queue of an annotation run: the least confident records, kept as they stream.

`annotate --review OUT` offers every record here *before* `--min-score` filters its
entities, so a weak entity still brings its record to the reviewer. Memory is bounded by
the queue size, not by the input.
"""

import heapq
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import srsly

from ..confidence.review import RecordLayout, record_confidence, review_record
from .records import Record


class ReviewQueue:
    """The `size` least confident result records seen so far (error records skipped).

    size (int): How many records to keep.
    layout (RecordLayout): How to read the pipeline's cats (`RecordLayout.from_pipeline`).
    """

    def __init__(self, size: int, layout: RecordLayout = RecordLayout()):
        if size < 1:
            raise ValueError(f"the review queue size must be at least 1, got {size}")
        self.size = size
        self.layout = layout
        # A max-heap on confidence (negated), ties broken by arrival: the earlier stays.
        self._heap: list[tuple[float, int, Record]] = []
        self._arrival = itertools.count()

    def offer(self, records: Iterable[Record]) -> None:
        for record in records:
            if "error" in record:
                continue
            item = (-record_confidence(record, self.layout), -next(self._arrival), record)
            if len(self._heap) < self.size:
                heapq.heappush(self._heap, item)
            elif item > self._heap[0]:
                heapq.heapreplace(self._heap, item)

    def write(self, path: Union[str, Path]) -> int:
        """Write the queue as review JSONL, least confident first; return the lines."""
        ordered = sorted(self._heap, key=lambda item: (-item[0], -item[1]))
        lines = [review_record(record, self.layout) for _, _, record in ordered]
        srsly.write_jsonl(path, lines)
        return len(lines)
