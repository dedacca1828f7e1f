"""Fan the jobs of a run out in one task group, under a launch limit, and stop cleanly when asked.

    async with Scheduler(runner, progress, launch_limit=..., shelter=...) as scheduler:
        await scheduler.run(jobs, records)      # returns when every job is done, or on stop()
    results = scheduler.results(jobs)           # every planned job, with its pieces after it

The scheduler owns its task group (as APScheduler 4 does). A launch limit keeps the number of live
job tasks bounded, so a backfill of 100,000 jobs does not hold 100,000 coroutines; the pieces of a
split window are launched by the same loop, under the same limit, ahead of new work. `stop()`
cancels the task group: every job stops at its next await (the journal already knows where each
one is), except downloads in progress, which the shelter lets finish within the grace period.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

import anyio
import structlog
from anyio.abc import TaskGroup

from orchestrator.core.jobs import Job
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.states import PENDING
from orchestrator.errors import (
    CredentialsRejected,
    JournalWriteFailed,
    OrchestratorError,
    OutputFull,
)
from orchestrator.run.progress import RunProgress
from orchestrator.run.runner import JobRunner, Outcome
from orchestrator.run.shelter import Shelter

_log = structlog.get_logger("orchestrator.scheduler")


class Scheduler:
    """Runs jobs to results; `stop()` may be called from any task of the same event loop."""

    def __init__(
        self, runner: JobRunner, progress: RunProgress, *, launch_limit: int, shelter: Shelter
    ) -> None:
        self._runner = runner
        self._progress = progress
        self._slots = anyio.Semaphore(launch_limit)
        self._shelter = shelter
        self._stack: AsyncExitStack | None = None
        self._group: TaskGroup | None = None
        self._queue: deque[tuple[Job, JobRecord | None]] = deque()
        self._live = 0
        self._wake = anyio.Event()
        self._results: dict[str, JobResult] = {}
        self._pieces: dict[str, tuple[Job, ...]] = {}
        self._records: dict[str, JobRecord] = {}
        self.stopped = False
        self.rejected: CredentialsRejected | None = None
        """Set when the API rejected the credentials mid-run: the run stopped for it."""
        self.halted: JournalWriteFailed | OutputFull | None = None
        """Set when the journal could not be written or the output disk was full: the run
        stopped at once for it, with no grace for downloads (they could not be kept)."""

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "running" if self._group else "idle"
        return f"Scheduler({state}, live={self._live}, done={len(self._results)})"

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            self._group = await stack.enter_async_context(anyio.create_task_group())
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        assert self._stack is not None
        try:
            return await self._stack.__aexit__(kind, error, traceback)
        finally:
            self._group = None

    def stop(self, *, grace: bool = True) -> None:
        """Stop launching and cancel every job; downloads in progress get the grace period,
        unless `grace` is False."""
        if self._group is None:
            return
        self._shelter.close(grace=grace)
        if not self.stopped:
            self.stopped = True
            self._group.cancel_scope.cancel()

    async def run(self, jobs: Sequence[Job], records: dict[str, JobRecord]) -> None:
        """Launch every job (resumed ones first) and return once all are done, or on stop()."""
        assert self._group is not None, "use `async with Scheduler(...)`"
        self._records = records
        self._queue.extend((job, records.get(job.key)) for job in _resumed_first(jobs, records))
        done = anyio.Event()
        self._group.start_soon(self._launch, done, name="launcher")
        await done.wait()

    def results(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Every job's result in plan order, each split job followed by its pieces; a job the
        run did not finish is `interrupted` if anything was sent for it, else `not_started`."""
        ordered: list[JobResult] = []

        def add(job: Job) -> None:
            ordered.append(self._results.get(job.key) or self._unfinished(job))
            for piece in self._pieces.get(job.key, ()):
                add(piece)

        for job in jobs:
            add(job)
        return ordered

    async def _launch(self, done: anyio.Event) -> None:
        try:
            while self._queue or self._live:
                if not self._queue:
                    await self._wake.wait()
                    self._wake = anyio.Event()
                    continue
                await self._slots.acquire()
                job, record = self._queue.popleft()
                self._live += 1
                assert self._group is not None
                self._group.start_soon(self._guarded, job, record, name=f"job {job.key}")
        finally:
            done.set()

    async def _guarded(self, job: Job, record: JobRecord | None) -> None:
        """Run one job so that its failure, whatever it is, becomes a result, not a crash."""
        outcome: Outcome | None = None
        try:
            outcome = await self._runner.run(job, record)
        except CredentialsRejected as error:
            self.rejected = self.rejected or error
            self.stop()
        except (JournalWriteFailed, OutputFull) as error:
            self._halt(error)
            outcome = Outcome(JobResult(job, "interrupted", error=str(error)))
        except Exception as error:
            _log.exception("orchestrator.job_crashed", job=job.key)
            reason = f"internal error: {type(error).__name__}: {error}"
            outcome = Outcome(JobResult(job, "failed", error=reason))
            try:
                await self._runner.record_crash(job, reason)
            except OrchestratorError as unrecorded:  # the journal itself failed
                _log.error("orchestrator.crash_not_journaled", job=job.key, error=str(unrecorded))
                if isinstance(unrecorded, JournalWriteFailed):
                    self._halt(unrecorded)
        finally:
            if outcome is not None:
                self._settle(job, outcome)
            self._live -= 1
            self._slots.release()
            self._wake.set()

    def _halt(self, error: JournalWriteFailed | OutputFull) -> None:
        """Stop at once: nothing more can be journaled or stored (the first reason is kept)."""
        self.halted = self.halted or error
        self.stop(grace=False)

    def _settle(self, job: Job, outcome: Outcome) -> None:
        self._results[job.key] = outcome.result
        if outcome.pieces:
            self._pieces[job.key] = outcome.pieces
            pieces = [(piece, self._records.get(piece.key)) for piece in outcome.pieces]
            self._queue.extendleft(reversed(pieces))  # work already under way comes first

    def _unfinished(self, job: Job) -> JobResult:
        if self._progress.started(job.key):
            return JobResult(job, "interrupted", error="the run stopped before this job finished")
        return JobResult(job, "not_started", error="the run stopped before this job started")


def _resumed_first(jobs: Sequence[Job], records: dict[str, JobRecord]) -> list[Job]:
    """Jobs the server is already running come first: they hold no new server capacity."""
    pending = [job for job in jobs if _state(records, job) in PENDING]
    rest = [job for job in jobs if _state(records, job) not in PENDING]
    return pending + rest


def _state(records: dict[str, JobRecord], job: Job) -> str | None:
    record = records.get(job.key)
    return record.state if record else None
