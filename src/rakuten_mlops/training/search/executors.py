"""Where search jobs run: in this process one at a time, or as Prefect tasks on any task runner.

The flow hands the search a `TaskExecutor` over its Dask task runner; tests and scripts without a
flow use `InlineExecutor`. Both give the driver the same three calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from prefect.futures import PrefectFuture, as_completed

from rakuten_mlops.training.search.evaluate import Job, JobResult, SearchData, evaluate_job


class Executor(Protocol):
    """Runs jobs; `workers` is how many may be in flight at once."""

    workers: int

    def submit(self, job: Job) -> Any:
        """Start a job and return its handle."""
        ...

    def next_done(self, handles: Sequence[Any]) -> Any:
        """Block until one of the handles is finished and return it."""
        ...

    def result(self, handle: Any) -> JobResult:
        """The finished job's result."""
        ...


class InlineExecutor:
    """Each job runs when submitted, in the calling thread: sequential and reproducible."""

    workers = 1

    def __init__(self, data: SearchData) -> None:
        self._data = data
        self._results: dict[int, JobResult] = {}
        self._next = 0

    def submit(self, job: Job) -> int:
        """Run the job now; the handle is its number."""
        self._next += 1
        self._results[self._next] = evaluate_job(self._data, job)
        return self._next

    def next_done(self, handles: Sequence[Any]) -> Any:
        """Every submitted job is already done: the oldest."""
        return handles[0]

    def result(self, handle: Any) -> JobResult:
        """The stored result (forgotten once read)."""
        return self._results.pop(handle)


class TaskExecutor:
    """Jobs as runs of a Prefect task taking (data, job): parallel on the flow's task runner.

    `data` is the future of a task that returned the SearchData, so a Dask cluster holds it once per
    worker instead of receiving it with every job.
    """

    def __init__(self, task: Any, data: PrefectFuture[SearchData], workers: int) -> None:
        self._task = task
        self._data = data
        self.workers = max(1, workers)

    def submit(self, job: Job) -> PrefectFuture[JobResult]:
        """Submit the task run."""
        future: PrefectFuture[JobResult] = self._task.submit(self._data, job)
        return future

    def next_done(self, handles: Sequence[Any]) -> Any:
        """The first of the futures to finish."""
        return next(as_completed(list(handles)))

    def result(self, handle: Any) -> JobResult:
        """The task's return value (a JobResult; evaluate_job never raises for a bad candidate)."""
        result: JobResult = handle.result()
        return result
