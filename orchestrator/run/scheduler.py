"""Fan the jobs of a run out in one task group, under the limits, and stop cleanly when asked.

Limits on exports in flight and downloads live in the runner; here, a launch limit keeps the number
of live job tasks bounded, so a backfill of 100,000 jobs does not hold 100,000 coroutines. Stopping
cancels scopes: jobs that are not downloading stop at once (the journal already knows where each
one is), downloads in progress get a grace period, then everything is cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog

from orchestrator.core.jobs import Job
from orchestrator.edges.journal import PENDING_STATES, JobRecord, Journal
from orchestrator.errors import CredentialsRejected
from orchestrator.run.results import JobResult
from orchestrator.run.runner import JobRunner

_log = structlog.get_logger("orchestrator.scheduler")


class Scheduler:
    """Runs a list of jobs to results; `stop()` may be called from any task."""

    def __init__(
        self, runner: JobRunner, journal: Journal, *, launch_limit: int, grace_seconds: float
    ) -> None:
        self._runner = runner
        self._journal = journal
        self._launch = anyio.Semaphore(launch_limit)
        self._grace_seconds = grace_seconds
        self._job_scopes: dict[str, anyio.CancelScope] = {}
        self._stopping = anyio.Event()
        self._results: dict[str, list[JobResult]] = {}
        self._launching = anyio.CancelScope()

    def __repr__(self) -> str:
        state = "stopping" if self._stopping.is_set() else "running"
        return f"Scheduler({state}, live={len(self._job_scopes)}, done={len(self._results)})"

    def stop(self) -> None:
        """Stop launching; cancel every job that is not downloading. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._launching.cancel()
        for key, scope in self._job_scopes.items():
            if key not in self._runner.downloading:
                scope.cancel()

    async def run(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Every job's results, in plan order; jobs cut short by a stop are `interrupted`."""
        records = await self._journal.load()
        async with anyio.create_task_group() as watchers:
            async with anyio.create_task_group() as job_group:
                watchers.start_soon(self._enforce_grace, job_group.cancel_scope, name="grace")
                with self._launching:
                    for job in _resumed_first(jobs, records):
                        await self._launch.acquire()
                        scope = anyio.CancelScope()
                        self._job_scopes[job.key] = scope
                        record = records.get(job.key)
                        job_group.start_soon(
                            self._guarded, job, record, scope, name=f"job {job.key}"
                        )
            watchers.cancel_scope.cancel()
        return [result for job in jobs for result in self._results_of(job)]

    async def _enforce_grace(self, jobs_scope: anyio.CancelScope) -> None:
        """Once stopping, give downloads the grace period, then cancel whatever still runs."""
        await self._stopping.wait()
        await anyio.sleep(self._grace_seconds)
        if self._job_scopes:
            _log.warning("orchestrator.grace_expired", cancelled=len(self._job_scopes))
        jobs_scope.cancel()

    async def _guarded(self, job: Job, record: JobRecord | None, scope: anyio.CancelScope) -> None:
        """Run one job so that its failure, whatever it is, becomes a result, not a crash."""
        try:
            with scope:
                if self._stopping.is_set():
                    scope.cancel()
                self._results[job.key] = await self._runner.run(job, record)
        except CredentialsRejected:
            raise
        except Exception as error:
            _log.exception("orchestrator.job_crashed", job=job.key)
            self._results[job.key] = [
                JobResult(job, "failed", error=f"internal error: {type(error).__name__}: {error}")
            ]
        finally:
            del self._job_scopes[job.key]
            self._launch.release()

    def _results_of(self, job: Job) -> list[JobResult]:
        return self._results.get(job.key) or [
            JobResult(job, "interrupted", error="the run stopped before this job finished")
        ]


def _resumed_first(jobs: Sequence[Job], records: dict[str, JobRecord]) -> list[Job]:
    """Jobs the server is already running come first: they hold no new server capacity."""
    pending = [job for job in jobs if _state(records, job) in PENDING_STATES]
    rest = [job for job in jobs if _state(records, job) not in PENDING_STATES]
    return pending + rest


def _state(records: dict[str, JobRecord], job: Job) -> str | None:
    record = records.get(job.key)
    return record.state if record else None
