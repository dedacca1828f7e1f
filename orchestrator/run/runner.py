"""Drive one job through its states: perform the I/O each state asks for, turn the outcome into an
event, let `core.lifecycle.advance` decide, journal what must survive a crash.

The flow is one way: the runner asks the client for the budget (`reserve`), journals its intent,
sends, and journals the answer's ids; the client never calls back. When to poll comes from the
pure scouting policy (`core.scouting`); the runner only sleeps, wakes and reports what it saw.

Bookkeeping that must not be lost is shielded: the intent together with the create it announces,
the ids right after the answer, and a job's final state. At info a job logs one line, when it
ends (`orchestrator.job_finished`: its outcome, file, attempts, API requests and seconds); each
change of state is a debug line, and only trouble (a cooldown, a split, a failure) is louder. Only the errors that must stop the whole
run escape (STOPS_THE_RUN): rejected credentials, a journal that cannot be written, a full output
disk. A job stopped by a full disk keeps its journaled ids (`ready`), so the next run polls it
again instead of creating it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never

import anyio
import anyio.abc
import anyio.lowlevel
import structlog
from structlog.typing import FilteringBoundLogger

from orchestrator.core.envelope import RunIds
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
from orchestrator.core.polling import Observation
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.scouting import Kind, PollWait, Scouting
from orchestrator.core.states import ResultStatus
from orchestrator.core.stored import StoredFile
from orchestrator.edges.ports import ApiClient, JobJournal, Sink
from orchestrator.edges.tally import count_job_requests
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
Watch = Callable[[State], None]
"""Told each state a job enters (the scheduler's, for itself and the progress display)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A job's result, and the jobs it split into (the scheduler runs those next)."""

    result: JobResult
    pieces: tuple[Job, ...] = ()


@dataclass(frozen=True, slots=True)
class Edges:
    """The I/O a job needs: the API, the output tree and the journal."""

    client: ApiClient
    sink: Sink
    journal: JobJournal


@dataclass(frozen=True, slots=True)
class Limits:
    """What jobs share: slots for exports on the server, for downloads, and the downloads' grace."""

    in_flight: anyio.CapacityLimiter
    downloads: anyio.CapacityLimiter
    shelter: Shelter


@dataclass(frozen=True, slots=True)
class Timing:
    """Where the runner's time, randomness and budget pressure come from; tests pass their own."""

    jitter: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = anyio.current_time
    pressure: Callable[[], float] = lambda: 0.0


@dataclass(frozen=True, slots=True)
class Options:
    """What the user asked of this run."""

    started: datetime
    """When the run started: a window not ended by then is `open`, its file not final."""
    force: bool = False
    verify: bool = False


@dataclass(slots=True)
class _Wakeups:
    """One event per kind of export not learned yet: set when it is, to wake its waiting polls."""

    events: dict[Kind, anyio.Event] = field(default_factory=dict)

    def waiter(self, kind: Kind) -> anyio.Event:
        return self.events.setdefault(kind, anyio.Event())

    def wake(self, kind: Kind) -> None:
        self.events.pop(kind, anyio.Event()).set()


def _unwatched(state: State) -> None:
    return None


class JobRunner:
    """Runs jobs to an outcome; one instance serves every job of a run."""

    def __init__(
        self,
        edges: Edges,
        limits: Limits,
        policies: Policies,
        scouting: Scouting,
        timing: Timing,
        options: Options,
    ) -> None:
        self._client, self._sink, self._journal = edges.client, edges.sink, edges.journal
        self._limits = limits
        self._policies = policies
        self._scouting = scouting
        self._timing = timing
        self._options = options
        self._wakeups = _Wakeups()
        self._resumed: set[str] = set()
        """Jobs an earlier run journaled: only they may have left a partial file behind."""
        self._log: FilteringBoundLogger = _log.bind()  # one for the run, not one per call

    def __repr__(self) -> str:
        return f"JobRunner({self._limits!r}, {self._scouting!r})"

    async def run(self, job: Job, record: JobRecord | None, watch: Watch = _unwatched) -> Outcome:
        """Take `job` from where the journal left it to its outcome; `watch` sees every state."""
        reused = await self._reusable(job, record)
        if reused is not None:
            self._log.debug(
                "orchestrator.job_reused", job=job.key, path=reused.file and reused.file.path
            )
            return Outcome(reused)
        structlog.contextvars.bind_contextvars(
            job=job.key, export=job.export_name, window=job.window.start.isoformat()
        )
        began, requests = self._timing.clock(), count_job_requests()
        state = self._unsealed(job, resume(record, job.window))
        watch(state)
        uncertain = isinstance(state, Submit) and state.uncertain
        if record is not None:
            self._resumed.add(job.key)
        try:
            final = await self._drive(job, state, watch)
        finally:
            self._scouting.forget(job.key)  # a scout that ended unlearned: the next one scouts
            self._resumed.discard(job.key)
        seconds = self._timing.clock() - began
        self._log.info("orchestrator.job_finished", **_canonical(final, requests.count, seconds))
        return _outcome(job, final, uncertain=uncertain)

    async def record_crash(self, job: Job, reason: str) -> None:
        """Journal a job that ended in a bug, so `status` and the next run see it as failed."""
        with anyio.CancelScope(shield=True):
            await self._journal.ended(job, "failed", reason, attempts=0)

    async def _reusable(self, job: Job, record: JobRecord | None) -> JobResult | None:
        """The journaled result of `job` if its file is still the one written (see
        `FileSink.matches`); a file found by its sha256 under new facts has these refreshed in
        the journal, so it is hashed once, not on every run."""
        if self._options.force or record is None or record.state not in ("downloaded", "empty"):
            return None
        if record.file is None or record.file.open:  # fetched before its window ended: again
            return None
        found = await self._sink.matches(record.file, verify=self._options.verify)
        if found is None:
            return None
        if not found.same_place(record.file):
            await self._journal.found_again(job, record, found)
        status: ResultStatus = "empty" if record.state == "empty" else "downloaded"
        return JobResult(job, status, record.attempts, record.ids, found, reused=True)

    def _unsealed(self, job: Job, state: State) -> State:
        """A resumed poll needs the status URL the server gave; if the journal's sealed copy
        cannot be opened (the password changed), the job is resubmitted instead."""
        if not isinstance(state, Poll):
            return state
        try:
            url = self._client.unsealed(state.ids.status_url)
        except SealBroken as error:
            reason = f"cannot reuse the journaled status URL ({error}); submitting again"
            self._log.warning("orchestrator.seal_broken", reason=reason)
            return advance(state, Lost(reason), self._policies, job.window)
        return replace(state, ids=replace(state.ids, status_url=url))

    async def _drive(self, job: Job, state: State, watch: Watch) -> Terminal:
        """Steps until a terminal state, within the job timeout; the state is this loop's own."""
        warned = False
        holding_slot = False
        try:
            with anyio.move_on_after(self._policies.job_timeout_seconds) as deadline:
                while not isinstance(state, Terminal):
                    holding_slot = await self._hold_slot(state, holding_slot)
                    event = await self._perform(job, state, deadline.deadline)
                    if isinstance(event, StatusSeen) and event.report.unknown_state and not warned:
                        warned = True  # once per job: it is polled on within the job timeout
                        self._log.warning(
                            "orchestrator.unknown_runner_state",
                            runner_state=event.report.runner_state,
                        )
                    state = await self._enter(job, state, event, watch)
        finally:
            if holding_slot:
                self._limits.in_flight.release()
        if isinstance(state, Terminal):
            return state
        reason = f"not finished after {self._policies.job_timeout_seconds:g} s"
        timed_out = await self._enter(job, state, Expired(reason), watch)
        assert isinstance(timed_out, TimedOut)
        return timed_out

    async def _hold_slot(self, state: Live, holding: bool) -> bool:
        """Hold an in-flight slot while the export is the server's (submit, poll), not otherwise."""
        remote = isinstance(state, Submit | Poll)
        if remote and not holding:
            await _take(self._limits.in_flight)
        elif not remote and holding:
            self._limits.in_flight.release()
        return remote

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
                    await self._timing.sleep(self._policies.resubmit.cooldown(state.attempts))
                    return CooledDown()
                case _:
                    assert_never(state)
        except STOPS_THE_RUN:
            raise
        except OrchestratorError as error:
            return _event_for(error)

    async def _enter(self, job: Job, before: Live, event: Event, watch: Watch) -> State:
        """Advance, journal what the new state must leave behind, and say so in the log."""
        after = advance(before, event, self._policies, job.window)
        if isinstance(after, Terminal):
            await self._record_final(job, after)
        elif isinstance(after, Fetch) and not isinstance(before, Fetch):
            if isinstance(before, Poll) and isinstance(event, StatusSeen):
                await self._learn(job, before, event)
            await self._journal.ready(job)
        elif (
            isinstance(after, Poll)
            and isinstance(before, Poll)
            and after.ids.status_url != before.ids.status_url
        ):
            await self._journal.submitted(job, self._sealed(after.ids))
        _log_change(self._log, before, after, event)
        watch(after)
        return after

    async def _submit(self, job: Job, state: Submit) -> Event:
        """Reserve the budget, journal the intent, send, journal the ids: one way, in order."""
        async with self._client.reserve("create") as sender:
            await anyio.lowlevel.checkpoint_if_cancelled()  # a stop while the budget came wins
            with anyio.CancelScope(shield=True):  # the intent is never left without its create
                await self._journal.intend(
                    job, attempts=state.attempts + 1, uncertain=state.uncertain
                )
            try:
                ids = await sender.submit(job)  # shielded from its first await on
                created = self._timing.clock()  # not after the journal's commit: not the export's
            except CredentialsRejected:  # answered 401: nothing was created
                with anyio.CancelScope(shield=True):
                    await self._journal.withdraw(job)
                raise
        with anyio.CancelScope(shield=True):  # the ids must reach the journal, whatever happens
            try:
                await self._journal.submitted(job, self._sealed(ids))
            except JournalWriteFailed as error:
                if not error.written:  # the next run submits it again (flagged): say what it was
                    self._log.error(
                        "orchestrator.ids_not_journaled",
                        workflow_id=ids.workflow_id,
                        run_id=ids.run_id,
                    )
                raise
        return Submitted(ids, at=created)

    def _sealed(self, ids: RunIds) -> RunIds:
        """The ids as the journal keeps them: the status URL's secret values sealed."""
        return replace(ids, status_url=self._client.sealed(ids.status_url))

    async def _poll(self, job: Job, state: Poll) -> Event:
        kind = _kind(job)
        wait = self._next_poll(job, state, kind)
        if not await self._wait(wait):  # its kind was learned meanwhile: the model says when
            await self._timing.sleep(self._next_poll(job, state, kind).seconds)
        report = await self._client.status(state.ids.status_url)
        return StatusSeen(report, at=self._timing.clock())

    def _next_poll(self, job: Job, state: Poll, kind: Kind) -> PollWait:
        elapsed = None if state.since is None else self._timing.clock() - state.since
        return self._scouting.next_poll(
            job.key,
            kind,
            polls=state.polls,
            elapsed=elapsed,
            jitter=self._timing.jitter(),
            pressure=self._timing.pressure(),
        )

    async def _wait(self, wait: PollWait) -> bool:
        """Sleep the wait; False if it was cut short because its kind was learned."""
        if wait.until_learned is None:
            await self._timing.sleep(wait.seconds)
            return True
        learned = self._wakeups.waiter(wait.until_learned)
        due = True

        async def nap(group: anyio.abc.TaskGroup) -> None:
            await self._timing.sleep(wait.seconds)
            group.cancel_scope.cancel()

        async def wake(group: anyio.abc.TaskGroup) -> None:
            nonlocal due
            await learned.wait()
            due = False
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(nap, group)
            group.start_soon(wake, group)
        return due

    async def _fetch(self, job: Job, state: Fetch, deadline: float) -> Event:
        if state.tries:
            await self._timing.sleep(self._policies.retry.delay(state.tries, self._timing.jitter()))
        relative = relative_path(job)
        if not state.tries and job.key in self._resumed:  # a new job has no earlier partial
            await self._sink.discard_partials(relative)

        await _take(self._limits.downloads)
        try:
            with self._limits.shelter.protect(deadline) as guard:

                async def store(chunks: AsyncIterator[bytes], size: int | None) -> StoredFile:
                    guard.streaming()  # the file's bytes arrive: a stop now grants the grace
                    return await self._sink.store(
                        relative, chunks, expected_size=size, report_format=job.format, key=job.key
                    )

                stored = await self._client.download(state.download_url, store)
            if guard.scope.cancelled_caught:  # stopped, the grace or the job timeout ran out
                await anyio.lowlevel.checkpoint()
                return Cut("the download was stopped")
        finally:
            self._limits.downloads.release()
        return FileStored(replace(stored, open=job.window.open_at(self._options.started)))

    async def _learn(self, job: Job, polled: Poll, seen: StatusSeen) -> None:
        """What this export took, for the polls of the exports like it (now and in later runs);
        journaled before `ready`, so a journal that groups its writes commits both at once."""
        if polled.since is None or seen.at is None:
            return
        lower = (polled.running_at or polled.since) - polled.since
        observation = Observation(job.export_id, _seconds(job), lower, seen.at - polled.since)
        self._wakeups.wake(self._scouting.learn(observation))  # wake the others of its kind
        await self._journal.learned(observation)

    async def _record_final(self, job: Job, final: Terminal) -> None:
        """A job's last word, journaled whatever cancellation arrives."""
        with anyio.CancelScope(shield=True):
            match final:
                case Stored():
                    await self._journal.stored(job, final.file)
                case Failed():
                    await self._journal.ended(job, "failed", final.reason, attempts=final.attempts)
                case TimedOut():
                    await self._journal.ended(job, "timed_out", final.reason)
                case SplitUp():
                    await self._journal.ended(job, "split", final.reason)
                case _:
                    assert_never(final)


async def _take(limiter: anyio.CapacityLimiter) -> None:
    """A token of `limiter`: at once when one is free and nobody waits (a job's own awaits
    are its checkpoints), else in line."""
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()


def _kind(job: Job) -> Kind:
    return (job.export_id, _seconds(job))


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
            result = JobResult(
                job,
                final.name,
                final.attempts,
                final.ids,
                final.file,
                resubmitted_uncertain=uncertain,
            )
            return Outcome(result)
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


def _canonical(final: Terminal, requests: int, seconds: float) -> dict[str, object]:
    """The fields of a job's one line at info, besides the job, export and window bound to every
    line of the job: how it ended, its file, its attempts, its API requests and its seconds."""
    stored = final.file if isinstance(final, Stored) else None
    fields: dict[str, object] = {
        "outcome": final.name,
        "path": stored and stored.path,
        "bytes": stored and stored.bytes,
        "rows": stored and stored.rows,
        "attempts": final.attempts,
        "requests": requests,
        "seconds": round(seconds, 3),
    }
    if not isinstance(final, Stored):
        fields["reason"] = final.reason
    return fields


def _log_change(log: FilteringBoundLogger, before: State, after: State, event: Event) -> None:
    """One debug line per change of state, named as the journal names states; a cooldown or a
    split is a warning, a failure or a timeout an error."""
    if type(before) is type(after):
        if isinstance(event, Transient):
            log.info("orchestrator.poll_failed", error=event.reason)
        elif isinstance(event, Cut):
            log.info("orchestrator.download_retry", error=event.reason)
        return
    fields: dict[str, object] = {"state": after.name}
    if isinstance(after, Poll):
        fields.update(workflow_id=after.ids.workflow_id, attempt=after.attempts)
    elif isinstance(after, Cooldown | Failed | SplitUp | TimedOut):
        fields["reason"] = after.reason
    elif isinstance(after, Stored):
        fields.update(path=after.file.path, bytes=after.file.bytes, rows=after.file.rows)
    if isinstance(after, Failed | TimedOut):
        log.error("orchestrator.job_state", **fields)
    elif isinstance(after, Cooldown | SplitUp):
        log.warning("orchestrator.job_state", **fields)
    else:
        log.debug("orchestrator.job_state", **fields)
