"""Micro-batching: texts from concurrent requests share one pipeline call on one thread.

Requests `submit` their items and get a `concurrent.futures.Future`; a single worker
thread owns the pipeline, waits up to `max_wait_s` after the first queued job for more
(until `max_batch` items), runs them together and hands each job its results. The queue
is bounded in items: a submit that would overflow it fails at once with
`QueueFullError`, so load beyond capacity becomes fast 503s instead of growing memory
and latency.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Optional, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
logger = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """The queue has no room for the submitted items."""


class NotReadyError(RuntimeError):
    """The worker has not finished its setup (or it failed)."""


@dataclass
class _Job(Generic[Item, Result]):
    items: Sequence[Item]
    future: "Future[list[Result]]" = field(default_factory=Future)


class MicroBatcher(Generic[Item, Result]):
    """Run `process(items) -> results` on one worker thread, batching across submitters.

    process (Callable[[list[Item]], list[Result]]): One result per item, in order.
    max_batch (int): Most items per `process` call.
    max_wait_s (float): How long a batch waits for more jobs after its first one.
    max_queue (int): Most items waiting (not yet being processed).
    """

    def __init__(
        self,
        process: Callable[[list[Item]], list[Result]],
        max_batch: int = 32,
        max_wait_s: float = 0.005,
        max_queue: int = 256,
    ):
        if max_batch < 1 or max_queue < 1:
            raise ValueError(f"max_batch and max_queue must be >= 1, got {max_batch}, {max_queue}")
        self.process = process
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._jobs: deque[_Job[Item, Result]] = deque()
        self._queued_items = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self.ready = threading.Event()
        self.setup_error: Optional[BaseException] = None

    @property
    def queued_items(self) -> int:
        """Items waiting to be processed."""
        return self._queued_items

    def start(self, setup: Optional[Callable[[], Any]] = None) -> None:
        """Start the worker; it runs `setup` (e.g. load + warm up) before taking jobs.

        setup (Optional[Callable[[], Any]]): Runs first on the worker thread; `ready`
            is set after it returns. If it raises, `setup_error` holds the error.
        """
        self._thread = threading.Thread(
            target=self._run, args=(setup,), name="spacy-albert-batcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Finish the jobs already queued, then end the worker thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, items: Sequence[Item]) -> "Future[list[Result]]":
        """Queue the items as one job.

        items (Sequence[Item]): The job's items (at most `max_queue`).
        RETURNS (Future[list[Result]]): Resolves to one result per item.
        RAISES (NotReadyError): Setup has not finished or failed.
        RAISES (QueueFullError): The items do not fit in the queue now.
        """
        if not self.ready.is_set():
            raise NotReadyError("the pipeline is still loading" if self.setup_error is None
                                else f"the pipeline failed to load: {self.setup_error}")
        job: _Job[Item, Result] = _Job(list(items))
        with self._cond:
            if self._stopping:
                raise NotReadyError("the server is shutting down")
            if self._queued_items + len(job.items) > self.max_queue:
                raise QueueFullError(
                    f"the queue is full ({self._queued_items} of {self.max_queue} items waiting)"
                )
            self._jobs.append(job)
            self._queued_items += len(job.items)
            self._cond.notify()
        return job.future

    def _run(self, setup: Optional[Callable[[], Any]]) -> None:
        if setup is not None:
            try:
                setup()
            except BaseException as err:  # noqa: BLE001 - reported through readiness
                logger.exception("setup failed")
                self.setup_error = err
                return
        self.ready.set()
        while True:
            jobs = self._next_jobs()
            if not jobs:
                return
            self._run_jobs(jobs)

    def _next_jobs(self) -> list[_Job[Item, Result]]:
        """Block for a first job, then gather more until max_batch items or max_wait_s."""
        with self._cond:
            while not self._jobs and not self._stopping:
                self._cond.wait()
            if not self._jobs:
                return []
            deadline = time.monotonic() + self.max_wait_s
            while self._queued_items < self.max_batch and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            jobs, count = [], 0
            while self._jobs and (not jobs or count + len(self._jobs[0].items) <= self.max_batch):
                job = self._jobs.popleft()
                jobs.append(job)
                count += len(job.items)
            self._queued_items -= count
            return jobs

    def _run_jobs(self, jobs: list[_Job[Item, Result]]) -> None:
        # A request that went away cancelled its future: skip its items.
        jobs = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        items = [item for job in jobs for item in job.items]
        try:
            results: list[Result] = []
            for start in range(0, len(items), self.max_batch):
                results.extend(self.process(items[start : start + self.max_batch]))
            if len(results) != len(items):
                raise RuntimeError(f"process returned {len(results)} results for {len(items)}")
        except BaseException as err:  # noqa: BLE001 - handed to the waiting requests
            logger.exception("batch failed")
            for job in jobs:
                job.future.set_exception(err)
            return
        offset = 0
        for job in jobs:
            job.future.set_result(results[offset : offset + len(job.items)])
            offset += len(job.items)
