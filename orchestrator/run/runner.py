"""Drive one job through its states: perform the I/O each state asks for, turn the outcome into an
event, let `core.lifecycle.advance` decide, journal what must survive a crash.

Bookkeeping that must not be lost is shielded: the ids of a created export are journaled under
`CancelScope(shield=True)` right after the answer, and so is a job's final state. A job is journaled
`submitting` only once its request is about to leave (the budget granted), so a run stopped before
that leaves the job as it was. Only the errors that must stop the whole run escape (STOPS_THE_RUN):
rejected credentials, a journal that cannot be written, a full output disk. A job stopped by a
full disk keeps its journaled ids (`ready`), so the next run polls it again instead of creating it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, assert_never

import anyio
import anyio.abc
import anyio.lowlevel
import structlog

from orchestrator.core.jobs import Job
from orchestrator.core.layout import relative_path
from orchestrator.core.lifecycle import (
    Broken,
    Cooldown,
    CooledDown,
    Cut,
    Event,
    Expired,
    Failed,
    Fetch,
    FileStored,
    Live,
    Lost,
    Policies,
    Poll,
    Refused,
    SplitUp,
    State,
    StatusSeen,
    Stored,
    Submit,
    Submitted,
    Terminal,
    TimedOut,
    Transient,
    advance,
    resume,
)
from orchestrator.core.polling import DurationModel, Observation
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.states import StateName
from orchestrator.edges.ports import ApiClient, JobJournal, Sink
from orchestrator.edges.sink import FileFacts, StoredFile
from orchestrator.errors import (
    CredentialsRejected,
    DownloadError,
    ExportRefused,
    JournalWriteFailed,
    OrchestratorError,
    OutputFull,
    RunUnknown,
    SealBroken,
    TransientApiError,
)
from orchestrator.run.shelter import Shelter

_log = structlog.get_logger("orchestrator.runner")
STOPS_THE_RUN = (CredentialsRejected, JournalWriteFailed, OutputFull)
"""Errors no job can turn into an outcome: every later job would meet them too."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A job's result, and the jobs it split into (the scheduler runs those next)."""

    result: JobResult
    pieces: tuple[Job, ...] = ()


def _ignore(job: Job, state: State) -> None:
    return None  # no one is watching


class JobRunner:
    """Runs jobs to an outcome; one instance serves every job of a run."""

    def __init__(
        self,
        *,
        client: ApiClient,
        sink: Sink,
        journal: JobJournal,
        policies: Policies,
        in_flight: anyio.CapacityLimiter,
        downloads: anyio.CapacityLimiter,
        shelter: Shelter,
        jitter: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        on_state: Callable[[Job, State], None] = _ignore,
        on_reused: Callable[[Job, Stored], None] = _ignore,
        durations: DurationModel | None = None,
        pressure: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], float] = anyio.current_time,
        force: bool = False,
        verify: bool = False,
        started: datetime | None = None,
    ) -> None:
        self._client = client
        self._sink = sink
        self._journal = journal
        self._policies = policies
        self._in_flight = in_flight
        self._downloads = downloads
        self._shelter = shelter
        self._jitter = jitter
        self._sleep = sleep
        self._on_state = on_state
        self._on_reused = on_reused
        self._durations = durations if durations is not None else DurationModel()
        self._pressure = pressure
        self._clock = clock
        self._force = force
        self._verify = verify
        self._started = started or datetime.now(UTC)
        """When the run started: a window not ended by then is `open`, its file not final."""
        self._warned: set[str] = set()
        self._scouts: dict[tuple[str, int], str] = {}
        """The export polling on the short cold schedule, per kind not yet learned."""
        self._learned: dict[tuple[str, int], anyio.Event] = {}
        """Set when an export of the kind is learned: the others waiting then re-plan."""
        self._latest: dict[str, JobRecord | None] = {}
        """The journal's record of each job as this runner last saw or wrote it."""

    def __repr__(self) -> str:
        return f"JobRunner(in_flight={self._in_flight!r}, downloads={self._downloads!r})"

    async def run(self, job: Job, record: JobRecord | None) -> Outcome:
        """Take `job` from where the journal left it to its outcome."""
        structlog.contextvars.bind_contextvars(
            job=job.key, export=job.export_name, window=job.window.start.isoformat()
        )
        reused = await self._reusable(job, record)
        if reused is not None:
            _log.debug("orchestrator.job_reused", path=reused.path)
            assert reused.path is not None and reused.sha256 is not None
            kept = Stored(0, None, reused.path, reused.bytes or 0, reused.rows, reused.sha256)
            self._on_reused(job, kept)
            return Outcome(reused)
        self._latest[job.key] = record
        state = self._unsealed(job, resume(record, job.window))
        self._on_state(job, state)
        uncertain = isinstance(state, Submit) and state.uncertain
        try:
            final = await self._drive(job, state)
        finally:
            self._latest.pop(job.key, None)  # a 100,000-job run holds only live jobs' records
            for kind in [kind for kind, scout in self._scouts.items() if scout == job.key]:
                del self._scouts[kind]  # a scout that ended unlearned: the next one scouts
        outcome = _outcome(job, final, uncertain=uncertain)
        if isinstance(final, Stored) and job.window.open_at(self._started):
            return replace(outcome, result=replace(outcome.result, open=True))
        return outcome

    async def record_crash(self, job: Job, reason: str) -> None:
        """Journal a job that ended in a bug, so `status` and the next run see it as failed."""
        await self._record_final(job, Failed(0, reason))

    async def _reusable(self, job: Job, record: JobRecord | None) -> JobResult | None:
        """The journaled result of `job` if its file is still the one written (see
        `FileSink.matches`); a file found by its sha256 under a new mtime or inode has these
        refreshed in the journal, so it is hashed once, not on every run."""
        if self._force or record is None or record.state not in ("downloaded", "empty"):
            return None
        if record.open:  # fetched before its window ended: not final, fetch it again
            return None
        if not record.path or not record.sha256:
            return None
        facts = FileFacts(record.sha256, record.bytes, record.mtime_ns, record.inode)
        found = await self._sink.matches(relative_path(job), facts, verify=self._verify)
        if found is None:
            return None
        if (found.mtime_ns, found.inode) != (record.mtime_ns, record.inode):
            note = "same sha256 under a new mtime or inode: reused"
            values = {"mtime_ns": found.mtime_ns, "inode": found.inode}
            await self._journal.record(job.key, record.state, note=note, **values)
        return JobResult(
            job=job,
            status="empty" if record.state == "empty" else "downloaded",
            attempts=record.attempts,
            ids=record.ids,
            path=record.path,
            bytes=record.bytes,
            rows=record.rows,
            sha256=record.sha256,
            reused=True,
        )

    def _unsealed(self, job: Job, state: State) -> State:
        """A resumed poll needs the status URL the server gave; if the journal's sealed copy
        cannot be opened (the password changed), the job is resubmitted instead."""
        if not isinstance(state, Poll):
            return state
        try:
            url = self._client.unsealed(state.ids.status_url)
        except SealBroken as error:
            reason = f"cannot reuse the journaled status URL ({error}); submitting again"
            _log.warning("orchestrator.seal_broken", reason=reason)
            return advance(state, Lost(reason), self._policies, job.window)
        return replace(state, ids=replace(state.ids, status_url=url))

    async def _drive(self, job: Job, state: State) -> Terminal:
        """Steps until a terminal state, within the job timeout."""
        last = [state]
        with anyio.move_on_after(self._policies.job_timeout_seconds) as deadline:
            return await self._steps(job, last, deadline)
        live = last[0]
        assert not isinstance(live, Terminal)
        reason = f"not finished after {self._policies.job_timeout_seconds:g} s"
        timed_out = await self._enter(job, live, Expired(reason))
        assert isinstance(timed_out, TimedOut)
        return timed_out

    async def _steps(self, job: Job, last: list[State], deadline: anyio.CancelScope) -> Terminal:
        holding_slot = False
        try:
            while True:
                state = last[0]
                if isinstance(state, Terminal):
                    return state
                remote = isinstance(state, Submit | Poll)
                if remote and not holding_slot:
                    await self._in_flight.acquire()
                    holding_slot = True
                elif not remote and holding_slot:
                    self._in_flight.release()
                    holding_slot = False
                event = await self._perform(job, state, deadline.deadline)
                last[0] = await self._enter(job, state, event)
        finally:
            if holding_slot:
                self._in_flight.release()

    async def _perform(self, job: Job, state: Live, deadline: float) -> Event:
        """The I/O one state asks for, its outcome as an event; every expected error maps to an
        event here, in one place."""
        try:
            match state:
                case Submit():
                    return await self._submit(job, state)
                case Poll():
                    return await self._poll(job, state)
                case Fetch():
                    return await self._fetch(job, state, deadline)
                case Cooldown():
                    await self._sleep(self._policies.resubmit.cooldown(state.attempts))
                    return CooledDown()
                case _:
                    assert_never(state)
        except STOPS_THE_RUN:
            raise
        except OrchestratorError as error:
            return _event_for(error)

    async def _enter(self, job: Job, before: Live, event: Event) -> State:
        """Advance, journal what the new state must leave behind, and say so in the log."""
        after = advance(before, event, self._policies, job.window)
        if isinstance(after, Terminal):
            await self._record_final(job, after)
        elif isinstance(after, Fetch) and not isinstance(before, Fetch):
            await self._record(job, "ready")
            if isinstance(before, Poll) and isinstance(event, StatusSeen):
                await self._learn(job, before, event)
        elif (
            isinstance(after, Poll)
            and isinstance(before, Poll)
            and after.ids.status_url != before.ids.status_url
        ):
            sealed = self._client.sealed(after.ids.status_url)
            await self._record(job, "submitted", status_url=sealed)
        _log_change(before, after, event)
        self._on_state(job, after)
        return after

    async def _submit(self, job: Job, state: Submit) -> Event:
        before = self._latest.get(job.key)
        announced = False

        async def announce() -> None:
            nonlocal announced
            announced = True
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

        # a stop that came while this job was handed its slot must win: from `announce` on, the
        # create is shielded and would be sent (and, the journal failing, not be journaled)
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            ids = await self._client.submit(job, announce=announce)
        except CredentialsRejected:
            if announced:  # the server answered 401: nothing was created, nothing is uncertain
                with anyio.CancelScope(shield=True):
                    await self._journal.restore(job.key, before)
            raise
        with anyio.CancelScope(shield=True):  # the ids must reach the journal, whatever happens
            try:
                await self._record(
                    job,
                    "submitted",
                    workflow_id=ids.workflow_id,
                    run_id=ids.run_id,
                    status_url=self._client.sealed(ids.status_url),
                )
            except JournalWriteFailed as error:
                if not error.written:  # the next run submits it again (flagged): say what it was
                    _log.error(
                        "orchestrator.ids_not_journaled",
                        workflow_id=ids.workflow_id,
                        run_id=ids.run_id,
                    )
                raise
        return Submitted(ids, at=self._clock())

    async def _poll(self, job: Job, state: Poll) -> Event:
        kind = (job.export_id, _seconds(job))
        if not await self._wait_to_poll(job, state, kind) and state.since is not None:
            # an export of its kind was learned meanwhile: wait for the model's time instead
            await self._sleep(self._poll_delay(state, kind))
        report = await self._client.status(state.ids.status_url)
        if report.unknown_state and job.key not in self._warned:
            self._warned.add(job.key)  # once per job: it is polled on within the job timeout
            _log.warning("orchestrator.unknown_runner_state", runner_state=report.runner_state)
        return StatusSeen(report, at=self._clock())

    def _poll_delay(self, state: Poll, kind: tuple[str, int]) -> float:
        """The wait before the next poll: the learned model's, else the cold schedule's."""
        model = None
        elapsed = 0.0
        if state.since is not None:  # a resumed export's age is unknown: poll it as a new kind
            model = self._durations.estimate(*kind)
            elapsed = self._clock() - state.since
        return self._policies.poll.delay(
            state.polls,
            elapsed=elapsed,
            model=model,
            jitter=self._jitter(),
            pressure=self._pressure(),
        )

    async def _wait_to_poll(self, job: Job, state: Poll, kind: tuple[str, int]) -> bool:
        """Wait until the next poll is due; True if it is, False if the first export of a kind
        not yet learned has just been learned (then the model says when).

        Of the exports of a kind with no model yet, one scouts on the short cold schedule; the
        others wait twice as long, and wake as soon as the scout (or any of them) is learned.
        """
        delay = self._poll_delay(state, kind)
        if state.since is None or self._durations.estimate(*kind) is not None:
            await self._sleep(delay)
            return True
        scout = self._scouts.setdefault(kind, job.key)
        if scout != job.key:
            delay *= 2
        learned = self._learned.setdefault(kind, anyio.Event())
        due = True

        async def nap(group: anyio.abc.TaskGroup) -> None:
            await self._sleep(delay)
            group.cancel_scope.cancel()

        async def learn(group: anyio.abc.TaskGroup) -> None:
            nonlocal due
            await learned.wait()
            due = False
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(nap, group)
            group.start_soon(learn, group)
        return due

    async def _fetch(self, job: Job, state: Fetch, deadline: float) -> Event:
        if state.tries:
            await self._sleep(self._policies.retry.delay(state.tries, self._jitter()))
        relative = relative_path(job)
        if not state.tries:
            await self._sink.discard_partials(relative)

        async def store(chunks: AsyncIterator[bytes], size: int | None) -> StoredFile:
            return await self._sink.store(
                relative, chunks, expected_size=size, report_format=job.format
            )

        async with self._downloads:
            with self._shelter.protect(deadline) as shelter:
                stored = await self._client.download(state.download_url, store)
            if shelter.cancelled_caught:  # the grace period or the job timeout ran out
                await anyio.lowlevel.checkpoint()
                return Cut("the download was stopped")
        return FileStored(
            str(stored.path),
            stored.bytes,
            stored.rows,
            stored.sha256,
            stored.mtime_ns,
            stored.inode,
        )

    async def _learn(self, job: Job, polled: Poll, seen: StatusSeen) -> None:
        """What this export took, for the polls of the exports like it (now and in later runs)."""
        if polled.since is None or seen.at is None:
            return
        lower = (polled.running_at or polled.since) - polled.since
        observation = Observation(job.export_id, _seconds(job), lower, seen.at - polled.since)
        self._durations.learn(observation)
        kind = (observation.export_id, observation.window_seconds)
        self._learned.pop(kind, anyio.Event()).set()  # wake the others of its kind
        self._scouts.pop(kind, None)
        await self._journal.learned(observation)

    async def _record_final(self, job: Job, final: Terminal) -> None:
        """A job's last word, journaled whatever cancellation arrives."""
        values: dict[str, Any]
        match final:
            case Stored():
                values = {
                    "path": final.path,
                    "bytes": final.bytes,
                    "rows": final.rows,
                    "sha256": final.sha256,
                    "mtime_ns": final.mtime_ns,
                    "inode": final.inode,
                    "open": int(job.window.open_at(self._started)),
                    "error": None,
                }
            case Failed():
                values = {"attempts": final.attempts, "error": final.reason}
            case TimedOut() | SplitUp():
                values = {"error": final.reason}
            case _:
                assert_never(final)
        with anyio.CancelScope(shield=True):
            await self._record(job, final.name, **values)

    async def _record(self, job: Job, state: StateName, **values: Any) -> None:
        self._latest[job.key] = await self._journal.record(
            job.key,
            state,
            parent_key=job.parent_key,
            export_name=job.export_name,
            window_start=job.window.start.isoformat(),
            window_end=job.window.end.isoformat(),
            **values,
        )


def _seconds(job: Job) -> int:
    return int(job.window.length.total_seconds())


def _event_for(error: OrchestratorError) -> Event:
    """The lifecycle event an expected error stands for."""
    reason = str(error)
    if isinstance(error, ExportRefused):
        return Refused(reason)
    if isinstance(error, RunUnknown):
        return Lost(f"the server lost the run: {reason}")
    if isinstance(error, SealBroken):
        return Lost(reason)
    if isinstance(error, TransientApiError):
        return Transient(reason)
    if isinstance(error, DownloadError):
        return Cut(reason)
    return Broken(reason)  # BadResponse, OriginRefused, CertificateRejected, SinkError, ...


def _outcome(job: Job, final: Terminal, *, uncertain: bool) -> Outcome:
    match final:
        case Stored():
            return Outcome(
                JobResult(
                    job,
                    final.name,
                    final.attempts,
                    final.ids,
                    final.path,
                    final.bytes,
                    final.rows,
                    final.sha256,
                    resubmitted_uncertain=uncertain,
                )
            )
        case Failed():
            return Outcome(JobResult(job, "failed", final.attempts, final.ids, error=final.reason))
        case TimedOut():
            return Outcome(
                JobResult(job, "timed_out", final.attempts, final.ids, error=final.reason)
            )
        case SplitUp():
            note = f"split after {final.attempts} failed attempts: {final.reason}"
            pieces = tuple(job.piece(half) for half in final.halves)
            _log.warning("orchestrator.job_split", pieces=[p.key for p in pieces])
            return Outcome(JobResult(job, "split", final.attempts, error=note), pieces)
        case _:
            assert_never(final)


def _log_change(before: State, after: State, event: Event) -> None:
    """One log line per change of state, named as the journal names states."""
    if type(before) is type(after):
        if isinstance(event, Transient):
            _log.info("orchestrator.poll_failed", error=event.reason)
        elif isinstance(event, Cut):
            _log.info("orchestrator.download_retry", error=event.reason)
        return
    fields: dict[str, object] = {"state": after.name}
    if isinstance(after, Poll):
        fields.update(workflow_id=after.ids.workflow_id, attempt=after.attempts)
    elif isinstance(after, Cooldown | Failed | SplitUp | TimedOut):
        fields["reason"] = after.reason
    elif isinstance(after, Stored):
        fields.update(path=after.path, bytes=after.bytes, rows=after.rows)
    if isinstance(after, Failed | TimedOut):
        _log.error("orchestrator.job_state", **fields)
    elif isinstance(after, Cooldown | SplitUp):
        _log.warning("orchestrator.job_state", **fields)
    else:
        _log.info("orchestrator.job_state", **fields)
