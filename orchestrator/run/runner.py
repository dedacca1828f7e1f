"""Drive one job through its states, doing the I/O each state asks for and journaling each step.

The decisions live in `orchestrator.core.lifecycle`; this module only performs them. Every expected
failure becomes a state (and, in the end, a `JobResult`); only `CredentialsRejected` escapes, since
it means the whole run must stop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

import anyio
import structlog

from orchestrator.core.backoff import PollPolicy, ResubmitPolicy, RetryPolicy
from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job
from orchestrator.core.layout import relative_path
from orchestrator.core.lifecycle import (
    Cooldown,
    Failed,
    Fetch,
    Poll,
    SplitUp,
    State,
    Stored,
    Submit,
    Terminal,
    TimedOut,
    after_run_lost,
    after_status,
    cooled,
    fetch_again,
    poll_again,
    submitted,
)
from orchestrator.edges.client import ReportsClient
from orchestrator.edges.journal import JobRecord, Journal
from orchestrator.edges.sink import FileSink, StoredFile
from orchestrator.errors import (
    BadResponse,
    CertificateRejected,
    CredentialsRejected,
    DownloadError,
    OriginRefused,
    RunUnknown,
    SinkError,
    TransientApiError,
)
from orchestrator.run.results import JobResult, Status

_log = structlog.get_logger("orchestrator.runner")
_planned_key: ContextVar[str | None] = ContextVar("planned_key", default=None)
"""The key of the planned job the current task works for (the same for every piece of it)."""


@dataclass(frozen=True, slots=True)
class Policies:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    resubmit: ResubmitPolicy = field(default_factory=ResubmitPolicy)
    job_timeout_seconds: float = 6 * 3600.0


@dataclass
class _Progress:
    """The last state reached, kept outside the cancel scope so a timeout can report it."""

    state: State


class JobRunner:
    """Runs jobs to a result; one instance serves every job of a run."""

    def __init__(
        self,
        *,
        client: ReportsClient,
        sink: FileSink,
        journal: Journal,
        policies: Policies,
        in_flight: anyio.CapacityLimiter,
        downloads: anyio.CapacityLimiter,
        jitter: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        force: bool = False,
    ) -> None:
        self._client = client
        self._sink = sink
        self._journal = journal
        self._policies = policies
        self._in_flight = in_flight
        self._downloads = downloads
        self._jitter = jitter
        self._sleep = sleep
        self._force = force
        self.downloading: Counter[str] = Counter()
        """Files streaming right now, by the key of the planned job they belong to (a piece of a
        split window counts for its planned job); a stop lets these jobs finish."""

    def __repr__(self) -> str:
        return f"JobRunner(in_flight={self._in_flight!r}, downloads={self._downloads!r})"

    async def run(self, job: Job, record: JobRecord | None) -> list[JobResult]:
        """Take `job` from where the journal left it to a result (several, if it was split)."""
        structlog.contextvars.bind_contextvars(
            job=job.key, export=job.export_name, window=job.window.start.isoformat()
        )
        if _planned_key.get() is None:
            _planned_key.set(job.key)  # pieces of a split run in child tasks, which inherit it
        reused = await self._reusable(job, record)
        if reused is not None:
            _log.info("orchestrator.job_reused", path=reused.path)
            return [reused]
        start = _resume_state(job, record, self._client.unsealed)
        final = await self._drive(job, start)
        return await self._finish(
            job, final, uncertain=isinstance(start, Submit) and start.uncertain
        )

    async def _reusable(self, job: Job, record: JobRecord | None) -> JobResult | None:
        if self._force or record is None or record.state not in ("downloaded", "empty"):
            return None
        if not record.path or not record.sha256:
            return None
        if not await self._sink.matches(relative_path(job), record.sha256):
            return None
        return JobResult(
            job=job,
            status="empty" if record.state == "empty" else "downloaded",
            attempts=record.attempts,
            ids=_ids(record),
            path=record.path,
            bytes=record.bytes,
            rows=record.rows,
            sha256=record.sha256,
            reused=True,
        )

    async def _drive(self, job: Job, state: State) -> Terminal:
        progress = _Progress(state)
        with anyio.move_on_after(self._policies.job_timeout_seconds) as deadline:
            return await self._steps(job, progress)
        assert deadline.cancelled_caught
        last = progress.state
        return TimedOut(getattr(last, "attempts", 0), getattr(last, "ids", None))

    async def _steps(self, job: Job, progress: _Progress) -> Terminal:
        holding_slot = False
        try:
            while True:
                state = progress.state
                if isinstance(state, Terminal):
                    return state
                remote = isinstance(state, Submit | Poll)
                if remote and not holding_slot:
                    await self._in_flight.acquire()
                    holding_slot = True
                elif not remote and holding_slot:
                    self._in_flight.release()
                    holding_slot = False
                progress.state = await self._step(job, state)
                _log_transition(state, progress.state)
        finally:
            if holding_slot:
                self._in_flight.release()

    async def _step(self, job: Job, state: Submit | Poll | Fetch | Cooldown) -> State:
        match state:
            case Submit():
                return await self._submit(job, state)
            case Poll():
                return await self._poll(job, state)
            case Fetch():
                return await self._fetch(job, state)
            case Cooldown():
                await self._sleep(self._policies.resubmit.cooldown(state.attempts))
                return cooled(state)
            case _:
                assert_never(state)

    async def _submit(self, job: Job, state: Submit) -> State:
        await self._record(
            job,
            "submitting",
            attempts=state.attempts + 1,
            uncertain=int(state.uncertain),
            workflow_id=None,
            run_id=None,
            status_url=None,
            error=None,
        )
        try:
            ids = await self._client.submit(job)
        except (TransientApiError, BadResponse, CertificateRejected) as error:
            return Failed(state.attempts + 1, f"submit failed: {error}")
        await self._record(
            job,
            "submitted",
            workflow_id=ids.workflow_id,
            run_id=ids.run_id,
            status_url=self._client.sealed(ids.status_url),
        )
        return submitted(state, ids)

    async def _poll(self, job: Job, state: Poll) -> State:
        await self._sleep(self._policies.poll.delay(state.polls))
        try:
            report = await self._client.status(state.ids.status_url)
        except RunUnknown as error:
            return self._run_lost(job, state.attempts, f"the server lost the run: {error}")
        except TransientApiError as error:
            _log.warning("orchestrator.poll_failed", error=str(error))
            return poll_again(state)
        except (BadResponse, OriginRefused, CertificateRejected) as error:
            return Failed(state.attempts, str(error), state.ids)
        next_state = after_status(state, report, job.window, self._policies.resubmit)
        if isinstance(next_state, Fetch):
            await self._record(job, "ready")
        return next_state

    async def _fetch(self, job: Job, state: Fetch) -> State:
        if state.tries:
            await self._sleep(self._policies.retry.delay(state.tries, self._jitter()))
        relative = relative_path(job)
        if not state.tries:
            await self._sink.discard_partials(relative)

        async def store(chunks: AsyncIterator[bytes], size: int | None) -> StoredFile:
            return await self._sink.store(
                relative, chunks, expected_size=size, report_format=job.format
            )

        try:
            async with self._downloads:
                planned = _planned_key.get() or job.key
                self.downloading[planned] += 1
                try:
                    stored = await self._client.download(state.download_url, store)
                finally:
                    self.downloading[planned] -= 1
                    if not self.downloading[planned]:
                        del self.downloading[planned]
        except (DownloadError, TransientApiError) as error:
            _log.warning("orchestrator.download_retry", error=str(error), tries=state.tries + 1)
            return fetch_again(state, str(error), self._policies.retry.max_attempts)
        except RunUnknown as error:
            return self._run_lost(job, state.attempts, f"the server lost the run: {error}")
        except (BadResponse, OriginRefused, CertificateRejected, SinkError) as error:
            return Failed(state.attempts, str(error), state.ids)
        return Stored(
            state.attempts, state.ids, str(stored.path), stored.bytes, stored.rows, stored.sha256
        )

    def _run_lost(self, job: Job, attempts: int, reason: str) -> State:
        return after_run_lost(attempts, reason, job.window, self._policies.resubmit)

    async def _finish(self, job: Job, final: Terminal, *, uncertain: bool) -> list[JobResult]:
        match final:
            case Stored():
                status: Status = "empty" if final.empty else "downloaded"
                await self._record(
                    job,
                    status,
                    path=final.path,
                    bytes=final.bytes,
                    rows=final.rows,
                    sha256=final.sha256,
                    error=None,
                )
                return [
                    JobResult(
                        job,
                        status,
                        final.attempts,
                        final.ids,
                        final.path,
                        final.bytes,
                        final.rows,
                        final.sha256,
                        resubmitted_uncertain=uncertain,
                    )
                ]
            case Failed():
                await self._record(job, "failed", attempts=final.attempts, error=final.reason)
                return [JobResult(job, "failed", final.attempts, final.ids, error=final.reason)]
            case TimedOut():
                reason = f"not finished after {self._policies.job_timeout_seconds:g} s"
                _log.error("orchestrator.job_state", state="timed_out", reason=reason)
                await self._record(job, "timed_out", error=reason)
                return [JobResult(job, "timed_out", final.attempts, final.ids, error=reason)]
            case SplitUp():
                await self._record(job, "split", error=final.reason)
                return await self._run_pieces(job, final)
            case _:
                assert_never(final)

    async def _run_pieces(self, job: Job, split: SplitUp) -> list[JobResult]:
        """Run each half of a failed window as its own job, concurrently, and gather the results."""
        note = f"split after {split.attempts} failed attempts: {split.reason}"
        results = [JobResult(job, "split", split.attempts, error=note)]
        pieces = [job.piece(half) for half in split.halves]
        _log.warning("orchestrator.job_split", pieces=[p.key for p in pieces], reason=split.reason)

        async def run_piece(piece: Job) -> None:
            results.extend(await self.run(piece, await self._journal.get(piece.key)))

        try:
            async with anyio.create_task_group() as group:
                for piece in pieces:
                    group.start_soon(run_piece, piece, name=f"job {piece.key}")
        except* CredentialsRejected as rejected:
            raise rejected.exceptions[0] from None  # plain, as from any other job: stop the run
        return results

    async def _record(self, job: Job, state: str, **values: Any) -> None:
        await self._journal.record(
            job.key,
            state,
            parent_key=job.parent_key,
            export_name=job.export_name,
            window_start=job.window.start.isoformat(),
            window_end=job.window.end.isoformat(),
            **values,
        )


def _resume_state(job: Job, record: JobRecord | None, unseal: Callable[[str], str]) -> State:
    """Where a job starts, given what an earlier run journaled about it.

    A ready export is polled once more rather than fetched: the download URL carries a per-job
    token, which the journal does not keep, and the poll hands out a fresh one.
    """
    if record is None:
        return Submit()
    ids = _ids(record)
    if record.state == "submitting":
        return Submit(uncertain=True)
    if record.state in ("submitted", "ready") and ids:
        return Poll(record.attempts, replace(ids, status_url=unseal(ids.status_url)))
    if record.state == "split":
        return SplitUp(
            record.attempts, record.error or "split in an earlier run", job.window.split()
        )
    return Submit()


def _ids(record: JobRecord) -> RunIds | None:
    if record.workflow_id and record.run_id and record.status_url:
        return RunIds(record.workflow_id, record.run_id, record.status_url)
    return None


_STATE_NAMES: dict[type, str] = {
    Submit: "submitting",
    Poll: "submitted",
    Fetch: "ready",
    Cooldown: "cooling_down",
    Failed: "failed",
    TimedOut: "timed_out",
    SplitUp: "split",
}


def _log_transition(before: State, after: State) -> None:
    """One log line per state change, named as the journal names states."""
    if type(before) is type(after):
        return
    if isinstance(after, Stored):
        state = "empty" if after.empty else "downloaded"
    else:
        state = _STATE_NAMES[type(after)]
    fields: dict[str, object] = {"state": state}
    if isinstance(after, Poll):
        fields.update(workflow_id=after.ids.workflow_id, attempt=after.attempts)
    elif isinstance(after, Cooldown | Failed | SplitUp):
        fields["reason"] = after.reason
    elif isinstance(after, Stored):
        fields.update(path=after.path, bytes=after.bytes, rows=after.rows)
    log = _log.error if isinstance(after, Failed) else _log.info
    log("orchestrator.job_state", **fields)
