"""Batch lines on this machine: one worker in this process, or N worker processes.

Each process is started with ``spawn`` (a fork would copy torch's thread pools and any
CUDA state) and loads its models once, in the pool's initializer; the cores are split
between the workers (torch threads = cores // workers). Results come back as lines
finish, in any order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from itertools import islice
from typing import Any

from ..errors import EmotrackError
from .work import BatchSettings, LineJob, LineWorker

Record = dict[str, Any]

_worker: LineWorker | None = None  # the model-holding worker of this process


def _start_worker(settings: BatchSettings) -> None:
    global _worker
    _worker = LineWorker(settings)


def _run_line(job: LineJob) -> Record:
    assert _worker is not None, "the pool initializer did not run"
    return _worker.run(job)


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_workers() -> int:
    """One worker per core available to this process (each with one torch thread)."""
    return available_cores()


def run_local(jobs: list[LineJob], settings: BatchSettings, workers: int,
              on_result: Callable[[Record], None]) -> None:
    """Run ``jobs``, calling ``on_result`` in this process with each record as it comes."""
    if not jobs:
        return
    cores = available_cores()
    workers = max(1, min(workers, len(jobs)))
    if settings.torch_threads is None:
        settings = replace(settings, torch_threads=max(1, cores // workers))
    if workers == 1:
        worker = LineWorker(settings)
        for job in jobs:
            on_result(worker.run(job))
        return
    _run_in_processes(jobs, settings, workers, on_result)


def _run_in_processes(jobs: Iterable[LineJob], settings: BatchSettings, workers: int,
                      on_result: Callable[[Record], None]) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(settings,))
    pending = {}
    try:
        queue = iter(jobs)
        # Keep each worker a couple of lines ahead, not the whole batch queued: a Ctrl+C
        # then cancels little, and memory stays flat for 100,000-line batches.
        for job in islice(queue, 2 * workers):
            pending[pool.submit(_run_line, job)] = job
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                on_result(_result_of(future, job))
                for more in islice(queue, 1):
                    pending[pool.submit(_run_line, more)] = more
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _result_of(future, job: LineJob) -> Record:
    try:
        return future.result()
    except BrokenProcessPool:
        raise EmotrackError("a batch worker process died (out of memory, or the model failed to load); "
                           "the finished lines are kept, run the batch again to continue") from None
