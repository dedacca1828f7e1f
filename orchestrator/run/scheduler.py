"""Fan the jobs of a run out in one task group, under a launch limit, and decide alone when to stop.

    async with Scheduler(runner, progress, limits, rules) as scheduler:
        results = await scheduler.run(jobs, records, preflight=client.check_access)
    scheduler.stopped                     # why the run stopped early, if it did

The scheduler is an async context manager that owns its task groups (as APScheduler 4 does): on
entry it starts, named, the loops that may stop a run (signals, the deadline) and the pacer; a stop
from any of them, or from a job that meets an error no job survives, cancels one scope. A launch
limit keeps the number of live job tasks bounded, so a backfill of 100,000 jobs does not hold
100,000 coroutines; the pieces of a split window are launched by the same loop, under the same
limit, ahead of new work. Downloads in progress finish within the grace period (the shelter),
unless the stop is a halt (a full disk, a journal that cannot be written): then nothing waits.
Rejected credentials stop the run and leave `run()` as CredentialsRejected.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Self

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import State, started
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.states import PENDING
from orchestrator.errors import (
    CredentialsRejected,
    JournalWriteFailed,
    OrchestratorError,
    OutputFull,
)
from orchestrator.run.pacing import Pacer
from orchestrator.run.progress import RunProgress
from orchestrator.run.runner import JobRunner, Outcome
from orchestrator.run.shelter import Shelter

_log = structlog.get_logger("orchestrator.scheduler")


@dataclass(frozen=True, slots=True)
class StopCause:
    """Why a run stopped before every job finished."""

    reason: str
    signal: int | None = None
    """SIGTERM or SIGINT, when a signal stopped it."""
    halt: bool = False
    """Nothing more can be stored or journaled: downloads get no grace."""


@dataclass(frozen=True, slots=True)
class StopRules:
    """What may stop a run early, besides its jobs."""

    signals: bool = True
    """SIGTERM and SIGINT stop the run (off where the caller has no signals to give)."""
    deadline_seconds: float | None = None
    """Stop this long after the run started (the run's --max-runtime less the grace)."""


@dataclass(frozen=True, slots=True)
class LaunchLimits:
    launch_limit: int
    """Job tasks alive at once."""
    shelter: Shelter
    pacer: Pacer | None = None


class Scheduler:
    """Runs jobs to results; `stop()` may be called from any task of the same event loop."""

    def __init__(
        self,
        runner: JobRunner,
        progress: RunProgress,
        limits: LaunchLimits,
        rules: StopRules = StopRules(),
    ) -> None:
        self._runner = runner
        self._progress = progress
        self._limits = limits
        self._rules = rules
        self._slots = anyio.Semaphore(limits.launch_limit)
        self._stack: AsyncExitStack | None = None
        self._loops: TaskGroup | None = None
        self._group: TaskGroup | None = None
        self._run_scope = anyio.CancelScope()
        self._queue: deque[tuple[Job, JobRecord | None]] = deque()
        self._live = 0
        self._wake = anyio.Event()
        self._results: dict[str, JobResult] = {}
        self._pieces: dict[str, tuple[Job, ...]] = {}
        self._records: dict[str, JobRecord] = {}
        self._started: set[str] = set()
        self._rejected: CredentialsRejected | None = None
        self.stopped: StopCause | None = None

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "running" if self._group else "idle"
        return f"Scheduler({state}, live={self._live}, done={len(self._results)})"

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            loops = self._loops = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(loops.cancel_scope.cancel)  # on exit, the loops end first
            if self._rules.signals:
                await loops.start(self._stop_on_signals, name="signals")
            if self._rules.deadline_seconds is not None:
                await loops.start(self._stop_at_deadline, name="deadline")
            if self._limits.pacer is not None:
                await loops.start(self._limits.pacer.run, name="pacing")
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
            self._loops = None

    def stop(self, cause: StopCause) -> None:
        """Stop launching and cancel every job (the first cause is kept); downloads in progress
        get the grace period, unless the cause is a halt."""
        self.stopped = self.stopped or cause
        self._limits.shelter.close(grace=not cause.halt)
        self._run_scope.cancel()

    async def run(
        self,
        jobs: Sequence[Job],
        records: dict[str, JobRecord],
        *,
        preflight: Callable[[], Awaitable[object]] | None = None,
    ) -> list[JobResult]:
        """`preflight` (the credential probe), then every job, resumed ones first; every job's
        result once all are done or the run stopped. Raises CredentialsRejected when the API
        rejected the credentials; any other error of `preflight` stops the run before any job."""
        assert self._loops is not None, "use `async with Scheduler(...)`"
        self._records = records
        self._queue.extend((job, records.get(job.key)) for job in _resumed_first(jobs, records))
        with self._run_scope:
            if preflight is not None:
                await self._preflight(preflight)
            if self.stopped is None:
                async with anyio.create_task_group() as group:
                    self._group = group
                    group.start_soon(self._launch, name="launcher")
        self._group = None
        if self._rejected is not None:
            raise self._rejected
        return self.results(jobs)

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

    async def _preflight(self, check: Callable[[], Awaitable[object]]) -> None:
        try:
            await check()
        except CredentialsRejected as error:
            self._rejected = error
            self.stop(StopCause(str(error)))
        except OrchestratorError as error:
            _log.error("orchestrator.api_unreachable", error=str(error))
            self.stop(StopCause(f"the API cannot be used: {error}"))

    async def _launch(self) -> None:
        while self._queue or self._live:
            if not self._queue:
                await self._wake.wait()
                self._wake = anyio.Event()
                continue
            try:
                self._slots.acquire_nowait()  # no checkpoint per job while slots are free
            except anyio.WouldBlock:
                await self._slots.acquire()
            job, record = self._queue.popleft()
            self._live += 1
            assert self._group is not None
            self._group.start_soon(self._guarded, job, record, name=f"job {job.key}")

    async def _guarded(self, job: Job, record: JobRecord | None) -> None:
        """Run one job so that its failure, whatever it is, becomes a result, not a crash."""
        outcome: Outcome | None = None
        try:
            outcome = await self._runner.run(job, record, partial(self._saw, job))
        except CredentialsRejected as error:
            self._rejected = self._rejected or error
            self.stop(StopCause(str(error)))
        except (JournalWriteFailed, OutputFull) as error:
            self._halt(error)
            outcome = Outcome(JobResult(job, "interrupted", error=str(error)))
        except Exception as error:
            outcome = await self._crashed(job, error)
        finally:
            if outcome is not None:
                self._settle(job, outcome)
            self._live -= 1
            self._slots.release()
            self._wake.set()

    async def _crashed(self, job: Job, error: Exception) -> Outcome:
        """A bug in one job: a failed result, journaled, and the run goes on."""
        _log.exception("orchestrator.job_crashed", job=job.key)
        reason = f"internal error: {type(error).__name__}: {error}"
        try:
            await self._runner.record_crash(job, reason)
        except OrchestratorError as unrecorded:  # the journal itself failed
            _log.error("orchestrator.crash_not_journaled", job=job.key, error=str(unrecorded))
            if isinstance(unrecorded, JournalWriteFailed):
                self._halt(unrecorded)
        return Outcome(JobResult(job, "failed", error=reason))

    def _halt(self, error: JournalWriteFailed | OutputFull) -> None:
        """Nothing more can be journaled or stored: stop at once, and say what to do."""
        reason = str(error)
        if isinstance(error, OutputFull):
            reason += "; free space, then run again: it polls the exports already created"
        if self.stopped is None:
            _log.error("orchestrator.run_halted", error=reason)
        self.stop(StopCause(reason, halt=True))

    def _saw(self, job: Job, state: State) -> None:
        if started(state):
            self._started.add(job.key)
        self._progress.changed(job, state)

    def _settle(self, job: Job, outcome: Outcome) -> None:
        result = self._results[job.key] = outcome.result
        if result.reused:
            self._progress.was_reused(job)
        if outcome.pieces:
            self._pieces[job.key] = outcome.pieces
            pieces = [(piece, self._records.get(piece.key)) for piece in outcome.pieces]
            self._queue.extendleft(reversed(pieces))  # work already under way comes first

    def _unfinished(self, job: Job) -> JobResult:
        if job.key in self._started:
            return JobResult(job, "interrupted", error="the run stopped before this job finished")
        return JobResult(job, "not_started", error="the run stopped before this job started")

    async def _stop_on_signals(self, *, task_status: TaskStatus[None]) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
            task_status.started()
            async for number in received:
                name = signal.Signals(number).name
                _log.warning("orchestrator.stopping", signal=name)
                self.stop(StopCause(f"stopped by {name}", signal=number))

    async def _stop_at_deadline(self, *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        delay = self._rules.deadline_seconds
        assert delay is not None
        await anyio.sleep(delay)
        _log.warning("orchestrator.deadline_reached", stopping_after_seconds=round(delay, 1))
        self.stop(StopCause("stopped at the run deadline (--max-runtime)"))


def _resumed_first(jobs: Sequence[Job], records: dict[str, JobRecord]) -> list[Job]:
    """Jobs the server is already running come first: they hold no new server capacity."""
    pending = [job for job in jobs if _state(records, job) in PENDING]
    rest = [job for job in jobs if _state(records, job) not in PENDING]
    return pending + rest


def _state(records: dict[str, JobRecord], job: Job) -> str | None:
    record = records.get(job.key)
    return record.state if record else None
