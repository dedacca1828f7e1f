"""The journal on object storage, for runs with no disk: a log of small immutable objects, in the
manner of Delta Lake's and Iceberg's commits (a conditional create decides who wins).

    <prefix>/.orchestrator/journal[.shard-I-of-N]/
        log/<seq, 20 digits>.json          one group commit: the batch of entries (core.journal_log)
        checkpoint/<seq, 20 digits>.json   the whole state after log <seq>

The state lives in memory (core.journal_log.JournalState). Each group commit is ONE object, the
next sequence number, written with a conditional create (If-None-Match: *); the write returns only
when the store has acknowledged it, which for S3, GCS and Azure means it is durable, and an object
exists whole or not at all. Loading takes the newest checkpoint and replays the log objects after
it, which must follow on without a gap. Compaction (at open and every COMPACT_EVERY commits) writes
a checkpoint, then deletes the log objects and older checkpoints it covers; a kill between the two
leaves objects that the next load ignores and the next compaction deletes.

Why a killed run (SIGKILL at any instant) loses nothing it acted on: a write's caller proceeds only
after the store acknowledged its object, so a create is sent only after its intent is durable, and
polled only after its ids are; an object the kill cut short was never created, and its writer never
returned. So the next run finds every export whose ids were journaled (and polls it, never creating
it again), and resubmits, flagged, only those whose create may have left unanswered.

Fencing: the run lock is a lease (edges.storage.lease), and every write first asks it whether it is
still held (`fence`). A run that lost its lease while a write was in flight is fenced by the log:
each run's first entry (`opened`) takes the next sequence number, so a write of the run before it
that lands late targets a number already taken, meets AlreadyExists with a body not its own, and
raises JournalWriteFailed. Compaction keeps this run's `opened` object for that reason. An
AlreadyExists whose body is byte for byte ours is our own write retried after a lost answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import obstore
import structlog
from obstore.exceptions import AlreadyExistsError

from orchestrator.core.jobs import Job
from orchestrator.core.journal_log import (
    OBSERVATIONS_KEPT,
    DamagedJournal,
    Entry,
    JournalState,
    check_document,
    log_document,
)
from orchestrator.core.location import Location
from orchestrator.core.polling import Observation
from orchestrator.core.records import HistoryEntry, JobRecord
from orchestrator.core.states import JOURNALED, StateName
from orchestrator.edges.journal_writes import Change, JournalWrites
from orchestrator.edges.storage.stores import describe_error
from orchestrator.errors import JournalUnavailable, JournalWriteFailed

if TYPE_CHECKING:
    from obstore.store import ObjectStore

T = TypeVar("T")
COMPACT_EVERY = 200
"""Commits between checkpoints: a load after a kill reads at most this many log objects."""
READS_IN_FLIGHT = 16
LOAD_ATTEMPTS = 3
"""A reader without the lease may list log objects that a compaction deletes before it reads
them; it lists again."""
_log = structlog.get_logger("orchestrator.journal")


def _name(seq: int) -> str:
    return f"{seq:020d}.json"


@dataclass
class Loaded:
    """A journal as read from the store: its state and where its log stands."""

    state: JournalState
    seq: int
    checkpoint: int
    logs: list[int]


class _Write:
    __slots__ = ("apply", "done", "error", "result")

    def __init__(self, apply: Callable[[JournalState], tuple[Any, Entry]]) -> None:
        self.apply = apply
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class ObjectJournal(JournalWrites):
    """The journal port over a folder of log objects; `open` loads it and marks this run's start."""

    def __init__(
        self,
        store: ObjectStore,
        location: Location,
        folder: str,
        *,
        holder: str,
        fence: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._store, self._folder, self._holder = store, folder, holder
        self.url = location.url(folder)
        self._fence, self._clock = fence, clock
        self._state = JournalState()
        self._seq = self._checkpoint = self._opened = 0
        self._logs: list[int] = []
        self._pending: list[_Write] = []
        self._writer = anyio.Lock()

    def __repr__(self) -> str:
        return f"ObjectJournal({self.url!r}, seq={self._seq}, jobs={len(self._state.records)})"

    async def open(self) -> None:
        """Load the journal, write this run's `opened` entry (the fence against the run before),
        and compact what earlier runs left."""
        loaded = await read_journal(self._store, self._folder, self.url)
        self._state, self._seq, self._checkpoint = loaded.state, loaded.seq, loaded.checkpoint
        self._logs = loaded.logs
        await self._commit(lambda state: (None, state.opened(self._holder, self._clock())))
        self._opened = self._seq
        async with self._writer:
            with anyio.CancelScope(shield=True):
                await self._compact()

    async def load(self) -> dict[str, JobRecord]:
        await anyio.lowlevel.checkpoint()
        return dict(self._state.records)

    async def history(self, key: str) -> list[HistoryEntry]:
        await anyio.lowlevel.checkpoint()
        return [entry for k, entry in self._state.events if k == key]

    async def observations(self) -> list[Observation]:
        await anyio.lowlevel.checkpoint()
        return list(self._state.observations[-OBSERVATIONS_KEPT:])

    async def learned(self, observation: Observation) -> None:
        await self._commit(lambda state: (None, state.learn(observation, self._clock())))

    async def _apply(
        self, job: Job, state: StateName, change: Change, note: str | None
    ) -> JobRecord | None:
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        before: JobRecord | None = await self._commit(
            lambda journal: journal.upsert(job, state, change, note, self._clock())
        )
        return before

    async def _put_back(self, key: str, previous: JobRecord | None) -> None:
        await self._commit(lambda state: (None, state.put_back(key, previous, self._clock())))

    async def _commit(self, apply: Callable[[JournalState], tuple[T, Entry]]) -> T:
        """Run `apply` in the next group commit; return its result once its log object is
        durable. Writes that arrive while one commit is being written go together in the next."""
        write = _Write(apply)
        self._pending.append(write)
        try:
            async with self._writer:
                if not write.done:
                    batch, self._pending = self._pending, []
                    with anyio.CancelScope(shield=True):  # the batch holds others' writes too
                        await self._flush(batch)
        finally:
            if not write.done and write in self._pending:
                self._pending.remove(write)  # cancelled before any commit took it: never written
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[no-any-return]

    async def _flush(self, batch: list[_Write]) -> None:
        """Apply the batch to the state and write it as one log object; if that fails, the state
        is rolled back and every writer of the batch hears why."""
        failure: BaseException | None = None
        self._state.mark()
        try:
            entries = []
            for write in batch:
                write.result, entry = write.apply(self._state)
                entries.append(entry)
            await self._append(entries)
            self._state.settle()
        except BaseException as error:
            self._state.rollback()
            failure = error
        for write in batch:
            write.error, write.done = failure, True
        if failure is None and len(self._logs) >= COMPACT_EVERY:
            await self._compact()

    async def _append(self, entries: list[Entry]) -> None:
        """The next log object, created only if no one has it yet; JournalWriteFailed if the lease
        is gone, the store refuses, or another run took the number."""
        refused = self._fence()
        if refused:
            raise JournalWriteFailed(f"cannot write the journal {self.url}: {refused}")
        seq = self._seq + 1
        path = f"{self._folder}/log/{_name(seq)}"
        body = json.dumps(log_document(seq, self._holder, entries)).encode()
        try:
            await obstore.put_async(self._store, path, body, mode="create")
        except AlreadyExistsError:
            if await self._read(path) != body:
                raise JournalWriteFailed(
                    f"another run wrote the journal {self.url} (log {seq}) while this one held "
                    "it: this run lost its lease and stops; the other goes on"
                ) from None
        except Exception as error:
            raise JournalWriteFailed(
                f"cannot write the journal {self.url}: {describe_error(error)}; the run stops, "
                "since it could no longer record what it sends"
            ) from None
        self._seq = seq
        self._logs.append(seq)

    async def _read(self, path: str) -> bytes | None:
        try:
            return bytes(await (await obstore.get_async(self._store, path)).bytes_async())
        except Exception:
            return None

    async def _compact(self) -> None:
        """A checkpoint of the state at the last log object, then the objects it covers deleted
        (all but this run's `opened` one). A failure only postpones it: the log stays whole."""
        if all(n == self._opened for n in self._logs):
            return  # nothing but this run's fence to cover
        seq = self._seq
        body = json.dumps(self._state.checkpoint(seq)).encode()
        try:
            await obstore.put_async(
                self._store, f"{self._folder}/checkpoint/{_name(seq)}", body, mode="create"
            )
        except AlreadyExistsError:
            pass  # the same log, so the same state: written before an answer was lost
        except Exception as error:
            _log.warning(
                "orchestrator.journal_compaction_failed",
                journal=self.url,
                error=describe_error(error),
            )
            return
        covered = [n for n in self._logs if n <= seq and n != self._opened]
        paths = [f"{self._folder}/log/{_name(n)}" for n in covered]
        if self._checkpoint:
            paths.append(f"{self._folder}/checkpoint/{_name(self._checkpoint)}")
        self._checkpoint = seq
        self._logs = [n for n in self._logs if n not in covered]
        try:
            await obstore.delete_async(self._store, paths)
        except Exception as error:  # left for the next compaction; loads ignore them
            _log.warning(
                "orchestrator.journal_compaction_failed",
                journal=self.url,
                error=describe_error(error),
            )


async def read_journal(store: ObjectStore, folder: str, url: str) -> Loaded:
    """A journal's state from its newest checkpoint and the log objects after it. Readers without
    the lease (`status`) may race a compaction: a vanished object makes them list again."""
    for _ in range(LOAD_ATTEMPTS - 1):
        try:
            return await _read_once(store, folder, url)
        except FileNotFoundError:
            continue
    try:
        return await _read_once(store, folder, url)
    except FileNotFoundError:
        raise JournalUnavailable(f"the journal {url} kept changing while it was read") from None


async def _read_once(store: ObjectStore, folder: str, url: str) -> Loaded:
    try:
        listed = await obstore.list(store, f"{folder}").collect_async()
    except Exception as error:
        raise JournalUnavailable(
            f"cannot list the journal {url}: {describe_error(error)}"
        ) from None
    numbers: dict[str, list[int]] = {"log": [], "checkpoint": []}
    for meta in listed:
        kind, _, name = meta["path"].removeprefix(f"{folder}/").partition("/")
        if kind in numbers and name.endswith(".json") and name[:-5].isdigit():
            numbers[kind].append(int(name[:-5]))
    base = max(numbers["checkpoint"], default=0)
    newer = sorted(n for n in numbers["log"] if n > base)
    if newer != list(range(base + 1, base + 1 + len(newer))):
        missing = sorted(set(range(base + 1, newer[-1])) - set(newer))[0]
        raise JournalUnavailable(
            f"the journal {url} is damaged: log object {missing} is missing; it cannot be "
            "resumed safely (move it aside to start afresh, and expect resubmissions)"
        )
    try:
        state = JournalState()
        if base:
            state = JournalState.from_checkpoint(
                await _document(store, f"{folder}/checkpoint/{_name(base)}")
            )
        for document in await _documents(store, [f"{folder}/log/{_name(n)}" for n in newer]):
            check_document(document, "orchestrator-journal-log")
            state.replay(document["entries"])
    except DamagedJournal as error:
        raise JournalUnavailable(f"the journal {url} cannot be read: {error}") from None
    return Loaded(state, newer[-1] if newer else base, base, sorted(numbers["log"]))


async def _documents(store: ObjectStore, paths: list[str]) -> list[Any]:
    """The JSON documents at `paths`, read READS_IN_FLIGHT at a time, in order."""
    found: list[Any] = [None] * len(paths)
    limiter = anyio.CapacityLimiter(READS_IN_FLIGHT)

    async def read(index: int) -> None:
        async with limiter:
            found[index] = await _document(store, paths[index])

    try:
        async with anyio.create_task_group() as group:
            for index in range(len(paths)):
                group.start_soon(read, index)
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return found


async def _document(store: ObjectStore, path: str) -> Any:
    """One JSON document; FileNotFoundError if it vanished (a compaction), DamagedJournal if it
    is not JSON, JournalUnavailable if the store fails."""
    try:
        body = await (await obstore.get_async(store, path)).bytes_async()
    except FileNotFoundError:
        raise
    except Exception as error:
        raise JournalUnavailable(f"cannot read {path}: {describe_error(error)}") from None
    try:
        return json.loads(bytes(body))
    except ValueError as error:
        raise DamagedJournal(f"{path} is not JSON ({error})") from None
