"""The durable journal: every job's state by its stable key, in SQLite (WAL), one writer at a time.

The intent to submit is written before the create request and the ids right after its answer, so a
run that dies anywhere can tell, on the next start, which exports the server already has.

The run lock is an `flock` on the database file's own descriptor, held from open to close. No file
beside the database decides it (the `-wal`, the `-shm`, a stale `.lock` may all be deleted: a second
run is still refused), and being an OS lock it dies with its process, so a SIGKILLed run never
leaves it held. It does not shut readers out: SQLite locks with `fcntl` byte ranges, which an
`flock` does not touch, so `status` reads the journal in WAL mode while a run writes it.

WAL does not work on a network filesystem (NFS, EFS, CIFS, CephFS, FUSE): there the journal uses
SQLite's rollback journal with `locking_mode=EXCLUSIVE` (`edges.filesystems` tells them apart, or
ORCHESTRATOR_JOURNAL_MODE says which), which keeps `status` out until the run ends. Better still,
give such runs a bucket (`--out s3://...`): the journal then lives there (`edges.storage`).

A journal says what it is (`journal_schema`): a database that is someone else's is refused
untouched, as is a journal a newer version wrote; one from before versions is stamped.

A full disk must not lose the ids of a create that was sent. A run's journal keeps RESERVE_BYTES
of disk allocated beside it; when a write fails, the reserve is freed and the write tried again,
so the last changes still fit. Either way the writer hears JournalWriteFailed, and the run stops.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio

from orchestrator.core.jobs import Job
from orchestrator.core.polling import OBSERVATIONS_KEPT, Observation
from orchestrator.core.records import HistoryEntry, JobRecord
from orchestrator.core.states import JOURNALED, StateName
from orchestrator.core.stored import StoredFile
from orchestrator.edges.filesystems import JournalMode, journal_mode_for
from orchestrator.edges.folders import FILE_MODE, make_folders, touch_private
from orchestrator.edges.journal_schema import (
    COLUMNS,
    bring_up,
    not_a_journal,
    roll_back,
    schema_to_bring_up,
)
from orchestrator.edges.journal_writes import Change, JournalWrites, fresh
from orchestrator.errors import JournalLocked, JournalUnavailable, JournalWriteFailed

T = TypeVar("T")

RESERVE_BYTES = 1 << 20
"""Disk kept allocated beside a run's journal, freed when a write fails: room for the last ids."""
_WRITE_ERRORS = (sqlite3.DatabaseError, OSError)
"""What a failed write raises (a full disk is SQLITE_FULL or SQLITE_IOERR); anything else is a bug."""
READ_BUSY_SECONDS = 5.0
"""How long a reader (`status`) waits for a journal a run holds locked before saying so."""
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM jobs"  # noqa: S608 - column names are ours


class _Write:
    """One write waiting for the next group commit, and what became of it."""

    __slots__ = ("apply", "done", "error", "result")

    def __init__(self, apply: Callable[[sqlite3.Connection], Any]) -> None:
        self.apply = apply
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class Journal(JournalWrites):
    """Async access to the journal database; calls run in one worker thread at a time.

    Writes are group-committed: while one transaction is being written and fsync'd, the writes
    that arrive wait and then go together in the next one, so a busy run pays one fsync for many
    state changes and a quiet one still commits each change at once. Two writes no recovery
    depends on, an export found ready and what an export took, do not wait at all: they join the
    next commit (every read, and `close`, commits them first).
    """

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, mode: JournalMode = "auto"
    ) -> None:
        super().__init__()
        self.path = path
        self.mode = mode
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(1)
        self._connection: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._reserve: Path | None = None
        self._pending: list[_Write] = []
        self._committed: anyio.Event | None = None
        """Set when the commit under way ends; None while none is."""

    def __repr__(self) -> str:
        state = "open" if self._connection else "closed"
        return f"Journal({str(self.path)!r}, {state})"

    def open(self, *, exclusive: bool = True) -> None:
        """Open (creating if needed); when `exclusive`, take the run lock (or raise JournalLocked)
        and the disk reserve. A database that is not a journal of ours is JournalUnavailable."""
        try:
            make_folders(self.path.parent)
            if exclusive:
                self._lock_fd = _take_lock(self.path)  # creates it: -wal and -shm get its mode
                self._reserve = _make_reserve(self.path)
            else:
                touch_private(self.path)
            self._connection = _connect(self.path, journal_mode_for(self.path, self.mode))
        except JournalUnavailable:
            self.close()
            raise
        except (OSError, sqlite3.Error) as error:
            self.close()
            raise JournalUnavailable(
                f"cannot open the journal {self.path}: {error}; check the output folder "
                "(--out) or the journal path (--journal)"
            ) from None

    def close(self) -> None:
        """Commit the writes still waiting, close the database, free the reserve, then (last)
        let go of the run lock."""
        if self._connection is not None:
            if self._pending:
                batch, self._pending = self._pending, []
                self._apply_all(batch)  # hints only: a failure here loses no ids
            self._connection.close()
            self._connection = None
        self._free_reserve()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _free_reserve(self) -> bool:
        """Give the reserved disk space back; False if there was none left to give."""
        reserve, self._reserve = self._reserve, None
        if reserve is None:
            return False
        with contextlib.suppress(OSError):
            reserve.unlink()
        return True

    async def load(self) -> dict[str, JobRecord]:
        """Every record, by key."""
        await self._settle()
        records = await self._run(self._select_all)
        return {record.key: record for record in records}

    async def learned(self, observation: Observation) -> None:
        """Keep what an export took to be ready, for the polls of later runs: written with the
        next commit (a hint, not worth an fsync and a wait of its own)."""
        row = (
            observation.export_id,
            observation.window_seconds,
            observation.lower,
            observation.upper,
            self._clock(),
        )
        self._pending.append(
            _Write(
                lambda connection: connection.execute(
                    "INSERT INTO durations (export_id, window_seconds, lower, upper, at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            )
        )

    async def observations(self) -> list[Observation]:
        """What earlier exports took, oldest first (the most recent few thousand)."""
        await self._settle()
        query = (
            "SELECT export_id, window_seconds, lower, upper FROM durations ORDER BY id DESC LIMIT ?"
        )
        rows = await self._run(
            lambda: self._require().execute(query, (OBSERVATIONS_KEPT,)).fetchall()
        )
        return [Observation(*row) for row in reversed(rows)]

    async def _apply_soon(self, job: Job, state: StateName, change: Change) -> None:
        """Queue the change for the next commit, and return at once."""
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        self._pending.append(
            _Write(lambda connection: self._upsert(connection, job, state, change, None))
        )

    async def _settle(self) -> None:
        """Commit the writes that wait for a commit, so that a read sees them."""
        if self._pending:
            await self._commit(_nothing)

    async def _commit(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Run `apply` in the next group commit and return its result once it is durable: the
        writer that finds no commit under way leads one with every write waiting; the others
        wait for it to end (all woken at once), and one of those whose write it did not take
        leads the next."""
        write = _Write(apply)
        self._pending.append(write)
        try:
            while not write.done:
                if self._committed is None:
                    await self._lead()
                else:
                    await self._committed.wait()
        finally:
            if not write.done and write in self._pending:
                self._pending.remove(write)  # cancelled before any commit took it: never written
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[no-any-return]

    async def _lead(self) -> None:
        """Commit every write waiting, in one transaction, in the journal's thread."""
        committed = self._committed = anyio.Event()
        batch, self._pending = self._pending, []
        try:
            with anyio.CancelScope(shield=True):  # the batch holds others' writes too
                await anyio.to_thread.run_sync(self._apply_all, batch, limiter=self._limiter)
        finally:
            self._committed = None
            committed.set()

    def _apply_all(self, batch: list[_Write]) -> None:
        """Write the batch in one transaction. If that fails and the reserve is still there, free
        it and write again: the batch is then durable, but its writers still hear that the disk
        is full (JournalWriteFailed), so the run stops while the journal can take its last ids."""
        failure: BaseException | None = None
        try:
            try:
                self._transact(batch)
            except _WRITE_ERRORS as error:
                if not self._free_reserve():
                    raise
                self._transact(batch)
                failure = JournalWriteFailed(
                    f"the disk of the journal {self.path} is full ({error}); the last changes "
                    "went into the space kept in reserve, and the run stops: free space, then "
                    "run again to fetch the exports already created",
                    written=True,
                )
        except _WRITE_ERRORS as error:
            failure = JournalWriteFailed(
                f"cannot write the journal {self.path}: {error}; the run stops, since it could "
                "no longer record what it sends (is the disk full?)"
            )
        except BaseException as error:
            failure = error
        for write in batch:
            write.error = failure
            write.done = True

    def _transact(self, batch: list[_Write]) -> None:
        connection = self._require()
        with _Transaction(connection):
            for write in batch:
                write.result = write.apply(connection)

    async def history(self, key: str) -> list[HistoryEntry]:
        """The states a job went through, oldest first, with their times and notes."""
        await self._settle()
        return await self._run(lambda: self._events(key))

    async def _apply(
        self, job: Job, state: StateName, change: Change, note: str | None
    ) -> JobRecord | None:
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        before: JobRecord | None = await self._commit(
            lambda connection: self._upsert(connection, job, state, change, note)
        )
        return before

    async def _put_back(self, key: str, previous: JobRecord | None) -> None:
        await self._commit(lambda connection: self._replace(connection, key, previous))

    def _upsert(
        self,
        connection: sqlite3.Connection,
        job: Job,
        state: StateName,
        change: Change,
        note: str | None,
    ) -> JobRecord | None:
        now = self._clock()
        row = connection.execute(f"{_SELECT} WHERE key = ?", (job.key,)).fetchone()
        before = _record(row) if row else None
        after = replace(change(before or fresh(job, state, now)), state=state, updated_at=now)
        _put(connection, after)
        _log_event(connection, job.key, state, now, note)
        return before

    def _replace(
        self, connection: sqlite3.Connection, key: str, previous: JobRecord | None
    ) -> None:
        if previous is None:
            connection.execute("DELETE FROM jobs WHERE key = ?", (key,))
        else:
            _put(connection, previous)
        state = previous.state if previous else "forgotten"
        _log_event(connection, key, state, self._clock(), "restored")

    def _select_all(self) -> list[JobRecord]:
        return [_record(row) for row in self._require().execute(_SELECT).fetchall()]

    def _events(self, key: str) -> list[HistoryEntry]:
        query = "SELECT state, at, note FROM events WHERE key = ? ORDER BY id"
        return [HistoryEntry(*row) for row in self._require().execute(query, (key,))]

    def _require(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the journal is not open")
        return self._connection

    async def _run(self, call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)


def _nothing(_connection: sqlite3.Connection) -> None:
    return None


def _put(connection: sqlite3.Connection, record: JobRecord) -> None:
    placeholders = ", ".join("?" for _ in COLUMNS)
    connection.execute(
        f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - column names are ours
        _row(record),
    )


def _log_event(
    connection: sqlite3.Connection, key: str, state: str, at: float, note: str | None
) -> None:
    connection.execute(
        "INSERT INTO events (key, state, at, note) VALUES (?, ?, ?, ?)", (key, state, at, note)
    )


def _row(record: JobRecord) -> tuple[object, ...]:
    """A record as the columns of COLUMNS, in their order: its file flattened, bools as 0 or 1."""
    file = record.file
    values: dict[str, object] = {
        "key": record.key,
        "export_name": record.export_name,
        "window_start": record.window_start,
        "window_end": record.window_end,
        "state": record.state,
        "parent_key": record.parent_key,
        "attempts": record.attempts,
        "uncertain": int(record.uncertain),
        "workflow_id": record.workflow_id,
        "run_id": record.run_id,
        "status_url": record.status_url,
        "path": file.path if file else None,
        "bytes": file.bytes if file else None,
        "rows": file.rows if file else None,
        "sha256": file.sha256 if file else None,
        "mtime_ns": file.mtime_ns if file else None,
        "inode": file.inode if file else None,
        "open": int(file.open) if file else 0,
        "error": record.error,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    return tuple(values[column] for column in COLUMNS)


def _record(row: Sequence[Any], columns: Sequence[str] = COLUMNS) -> JobRecord:
    """The record a row of `columns` holds (an older journal may lack a few)."""
    values = dict(zip(columns, row, strict=True))
    file = None
    if values.get("path") and values.get("sha256"):
        file = StoredFile(
            path=values["path"],
            bytes=values.get("bytes") or 0,
            sha256=values["sha256"],
            rows=values.get("rows"),
            open=bool(values.get("open")),
            mtime_ns=values.get("mtime_ns"),
            inode=values.get("inode"),
        )
    return JobRecord(
        key=values["key"],
        export_name=values["export_name"],
        window_start=values["window_start"],
        window_end=values["window_end"],
        state=values["state"],
        parent_key=values.get("parent_key"),
        attempts=values.get("attempts") or 0,
        uncertain=bool(values.get("uncertain")),
        workflow_id=values.get("workflow_id"),
        run_id=values.get("run_id"),
        status_url=values.get("status_url"),
        file=file,
        error=values.get("error"),
        created_at=values.get("created_at") or 0.0,
        updated_at=values.get("updated_at") or 0.0,
    )


def read_records(path: Path) -> dict[str, JobRecord]:
    """Every record of a journal, read without the run lock (a run may be writing: WAL lets
    readers in). Raises JournalUnavailable when the file is missing or is not a journal."""
    with _reading(path) as connection:
        try:
            present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
            columns = [column for column in COLUMNS if column in present]  # an older journal
            rows = connection.execute(f"SELECT {', '.join(columns)} FROM jobs").fetchall()  # noqa: S608 - column names are ours
        except sqlite3.Error as error:
            raise not_a_journal(path, error) from None
    return {row[0]: _record(row, columns) for row in rows}


def read_observations(path: Path) -> list[Observation]:
    """What earlier exports took, from a journal read without its lock; none if it has none."""
    with _reading(path) as connection:
        try:
            rows = connection.execute(
                "SELECT export_id, window_seconds, lower, upper FROM durations ORDER BY id DESC "
                "LIMIT ?",
                (OBSERVATIONS_KEPT,),
            ).fetchall()
        except sqlite3.Error:  # a journal from before durations were kept
            return []
    return [Observation(*row) for row in reversed(rows)]


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a journal whose schema this version can read."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=READ_BUSY_SECONDS)
    except sqlite3.Error as error:
        raise JournalUnavailable(f"cannot open the journal {path}: {error}") from None
    try:
        try:
            schema_to_bring_up(connection, path)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            raise JournalUnavailable(
                f"the journal {path} is held by a run (on a network filesystem it uses the "
                "rollback journal with exclusive locking, which keeps readers out): try again "
                "when the run has ended"
            ) from None
        yield connection
    finally:
        connection.close()


def _connect(path: Path, mode: Literal["wal", "rollback"] = "wal") -> sqlite3.Connection:
    """The run's connection: the schema checked before anything is written, full syncs; a new or
    older journal gets the current schema and its version stamp in one transaction. WAL on a
    local filesystem; on a network one (see edges.filesystems), where WAL's shared memory does
    not work, the rollback journal with exclusive locking: this run's locks are taken once and
    held, and readers (`status`) wait for the run to end."""
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=5000")
        outdated = schema_to_bring_up(connection, path)
        if mode == "rollback":
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("PRAGMA journal_mode=DELETE")
        else:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        if outdated:
            bring_up(connection)
    except BaseException:
        connection.close()
        raise
    return connection


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the stdlib's implicit handling is off)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            roll_back(self._connection)
            return
        try:
            self._connection.execute("COMMIT")
        except BaseException:
            roll_back(self._connection)
            raise


def _take_lock(path: Path) -> int:
    """The run lock: an exclusive flock on the database file's own descriptor (creating the file
    if it is missing), held until close; JournalLocked when another run holds it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise JournalUnavailable(f"cannot open the journal {path}: it is not a regular file")
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise JournalLocked(
            f"another orchestrator run is using the journal {path}; "
            "wait for it to finish, or give this run its own --out or journal"
        ) from None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _make_reserve(journal: Path) -> Path | None:
    """Allocate RESERVE_BYTES beside the journal. A disk without that much room refuses the run
    (it could not keep its last ids); a file system that cannot allocate ahead goes without."""
    path = journal.with_name(journal.name + "-reserve")
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        os.posix_fallocate(descriptor, 0, RESERVE_BYTES)
    except OSError as error:
        path.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise JournalUnavailable(
                f"cannot open the journal {journal}: no space left beside it for the "
                f"{RESERVE_BYTES // 1024} KiB a run keeps in reserve for its last ids; free space"
            ) from None
        return None
    finally:
        os.close(descriptor)
    return path
