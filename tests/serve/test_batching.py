"""MicroBatcher: jobs from several submitters share a call, the queue is bounded, and
failures reach the waiting submitters instead of killing the worker."""

import threading
from collections.abc import Iterator
from concurrent.futures import wait
from typing import Any, Callable

import pytest

from spacy_albert.serve.batching import MicroBatcher, NotReadyError, QueueFullError

Start = Callable[..., MicroBatcher[str, str]]


class GatedProcess:
    """A `process` function that records its batches and can be held shut."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.opened.set()

    def __call__(self, items: list[str]) -> list[str]:
        self.entered.set()
        assert self.opened.wait(10)
        self.batches.append(list(items))
        if "boom" in items:
            raise RuntimeError("boom in the batch")
        return [item.upper() for item in items]


@pytest.fixture
def process() -> Iterator[GatedProcess]:
    gated = GatedProcess()
    yield gated
    gated.opened.set()  # never leave a worker stuck, whatever the test did


@pytest.fixture
def start(process: GatedProcess) -> Iterator[Start]:
    """Start a batcher over `process`; every batcher started is stopped afterwards."""
    batchers: list[MicroBatcher[str, str]] = []

    def start_batcher(**kwargs: Any) -> MicroBatcher[str, str]:
        batcher: MicroBatcher[str, str] = MicroBatcher(process, **kwargs)
        batcher.start()
        assert batcher.ready.wait(5)
        batchers.append(batcher)
        return batcher

    yield start_batcher
    process.opened.set()
    for batcher in batchers:
        batcher.stop(5)


def test_jobs_queued_while_busy_share_one_call(process: GatedProcess, start: Start):
    batcher = start(max_batch=8, max_wait_s=0.0, max_queue=16)
    process.opened.clear()
    first = batcher.submit(["a"])
    assert process.entered.wait(5)  # the worker is inside the first call
    later = [batcher.submit([f"b{i}", f"c{i}"]) for i in range(3)]
    assert batcher.queued_items == 6
    process.opened.set()
    assert first.result(5) == ["A"]
    assert [f.result(5) for f in later] == [[f"B{i}", f"C{i}"] for i in range(3)]
    assert process.batches == [["a"], ["b0", "c0", "b1", "c1", "b2", "c2"]]


def test_batches_hold_at_most_max_batch_items(process: GatedProcess, start: Start):
    batcher = start(max_batch=2, max_wait_s=0.0, max_queue=64)
    assert batcher.submit(["a", "b", "c", "d", "e"]).result(5) == list("ABCDE")
    assert all(len(batch) <= 2 for batch in process.batches)


def test_waits_briefly_for_more_jobs(process: GatedProcess, start: Start):
    batcher = start(max_batch=4, max_wait_s=2.0, max_queue=64)
    futures = [batcher.submit([str(i)]) for i in range(4)]
    wait(futures, timeout=5)
    # All four arrived within the wait, and a full batch does not wait longer.
    assert process.batches == [["0", "1", "2", "3"]]


def test_full_queue_refuses_at_once(process: GatedProcess, start: Start):
    batcher = start(max_batch=1, max_wait_s=0.0, max_queue=2)
    process.opened.clear()
    running = batcher.submit(["a"])
    assert process.entered.wait(5)
    queued = batcher.submit(["b", "c"])
    with pytest.raises(QueueFullError, match="2 of 2"):
        batcher.submit(["d"])
    process.opened.set()
    assert running.result(5) == ["A"] and queued.result(5) == ["B", "C"]
    assert batcher.submit(["d"]).result(5) == ["D"]  # room again


def test_a_failing_batch_fails_its_jobs_and_the_worker_goes_on(start: Start):
    batcher = start(max_batch=8, max_wait_s=0.0, max_queue=8)
    with pytest.raises(RuntimeError, match="boom in the batch"):
        batcher.submit(["boom"]).result(5)
    assert batcher.submit(["ok"]).result(5) == ["OK"]


def test_cancelled_jobs_are_skipped(process: GatedProcess, start: Start):
    batcher = start(max_batch=8, max_wait_s=0.0, max_queue=8)
    process.opened.clear()
    batcher.submit(["a"])
    assert process.entered.wait(5)
    gone = batcher.submit(["gone"])
    assert gone.cancel()
    kept = batcher.submit(["kept"])
    process.opened.set()
    assert kept.result(5) == ["KEPT"]
    assert ["gone"] not in process.batches and all("gone" not in b for b in process.batches)


def test_not_ready_until_setup_ran_and_setup_errors_are_kept():
    release = threading.Event()
    batcher: MicroBatcher[str, str] = MicroBatcher(lambda items: items)
    batcher.start(setup=lambda: release.wait(10))
    with pytest.raises(NotReadyError, match="loading"):
        batcher.submit(["a"])
    release.set()
    assert batcher.ready.wait(5)
    assert batcher.submit(["a"]).result(5) == ["a"]
    batcher.stop(5)

    def broken_setup() -> None:
        raise OSError("no such pipeline")

    failed: MicroBatcher[str, str] = MicroBatcher(lambda items: items)
    failed.start(setup=broken_setup)
    failed.stop(5)
    assert isinstance(failed.setup_error, OSError)
    with pytest.raises(NotReadyError, match="no such pipeline"):
        failed.submit(["a"])


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda items: items, max_batch=0)
