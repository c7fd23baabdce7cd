"""The slot fillers' CRFs, trained in worker processes when the data is large.

crfsuite holds the GIL while it trains, so threads would not help: large
datasets train their CRFs in a pool of processes, each CRF starting as soon as
its examples are ready, while the caller fits the intent classifier. Workers
are *spawned*, as forking a threaded daemon is unsafe; spawning re-imports the
program's `__main__`, which must then be guarded by
`if __name__ == "__main__":`. Whenever the pool cannot start or breaks, the
CRFs are trained in this process instead: same result, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # crfsuite loads only when a model is trained
    from .slot_filler import Example, SlotFiller

PARALLEL_MIN_EXAMPLES = 4000  # below this, starting worker processes costs more
# What fails when a pool cannot run: e.g. a __main__ without the `if __name__` guard.
_POOL_ERRORS = (BrokenProcessPool, OSError, RuntimeError)

Job = tuple[str, "Sequence[Example]", int]  # train_filler's arguments: lang, examples, seed


class FillerTraining:
    """CRFs submitted one by one and collected at the end.

    `with FillerTraining(workers, examples) as training:` then `submit` each
    intent's job, do other work, and take `results()`.
    """

    def __init__(self, workers: int, examples: int) -> None:
        """`workers`: processes allowed (1: none; at most one per core and
        one per CRF is useful); `examples`: the CRFs' training sentences."""
        workers = min(workers, os.cpu_count() or 1)
        self._pool: Executor | None = None
        if workers >= 2 and examples >= PARALLEL_MIN_EXAMPLES:
            self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        self._submitting = self._pool  # None once a submission failed
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, Future[SlotFiller]] = {}

    def __enter__(self) -> FillerTraining:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, intent: str, job: Job) -> None:
        """Start training one intent's CRF if there are workers; else it is
        trained by `results()`."""
        from .slot_filler import train_filler

        self._jobs[intent] = job
        if self._submitting is not None:
            try:
                self._futures[intent] = self._submitting.submit(train_filler, *job)
            except _POOL_ERRORS:
                self._submitting = None

    def results(self) -> dict[str, SlotFiller]:
        """Every submitted intent's CRF, waiting for the workers."""
        from .slot_filler import train_filler

        if self._submitting is not None:
            try:
                return {intent: f.result() for intent, f in self._futures.items()}
            except _POOL_ERRORS:
                pass  # fall back to training here
        return {intent: train_filler(*job) for intent, job in self._jobs.items()}
