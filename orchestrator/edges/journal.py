"""The durable journal: every job's state by its stable key, in SQLite (WAL), one writer at a time.

The intent to submit is written before the create request and the ids right after its answer, so a
run that dies anywhere can tell, on the next start, which exports the server already has. A file
lock beside the database keeps two runs apart; being an OS lock, it dies with its process, so a
SIGKILLed run never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from orchestrator.core.polling import Observation
from orchestrator.core.records import RECORD_COLUMNS, JobRecord
from orchestrator.core.states import JOURNALED, StateName
from orchestrator.edges.folders import FILE_MODE, make_folders, touch_private
from orchestrator.errors import JournalLocked, JournalUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key          TEXT PRIMARY KEY,
    parent_key   TEXT,
    export_name  TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    uncertain    INTEGER NOT NULL DEFAULT 0,
    workflow_id  TEXT,
    run_id       TEXT,
    status_url   TEXT,
    path         TEXT,
    bytes        INTEGER,
    rows         INTEGER,
    sha256       TEXT,
    error        TEXT,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    key   TEXT NOT NULL,
    state TEXT NOT NULL,
    at    REAL NOT NULL,
    note  TEXT
);
CREATE INDEX IF NOT EXISTS events_by_key ON events (key);
CREATE TABLE IF NOT EXISTS durations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    export_id      TEXT NOT NULL,
    window_seconds INTEGER NOT NULL,
    lower          REAL NOT NULL,
    upper          REAL NOT NULL,
    at             REAL NOT NULL
);
"""
_ADDED_COLUMNS = {
    "mtime_ns": "INTEGER",
    "inode": "INTEGER",
    "open": "INTEGER NOT NULL DEFAULT 0",
}
"""Columns newer than the first journals: added to an older journal when it is opened."""
OBSERVATIONS_KEPT = 5000
"""Most recent durations read back for the polling model: plenty per kind of export."""


_COLUMNS = RECORD_COLUMNS
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"  # noqa: S608 - column names are ours


class _Write:
    """One write waiting for the next group commit, and what became of it."""

    __slots__ = ("apply", "done", "error", "result")

    def __init__(self, apply: Callable[[sqlite3.Connection], Any]) -> None:
        self.apply = apply
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class Journal:
    """Async access to the journal database; calls run in one worker thread at a time.

    Writes are group-committed: while one transaction is being written and fsync'd, the writes
    that arrive wait and then go together in the next one, so a busy run pays one fsync for many
    state changes and a quiet one still commits each change at once.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(1)
        self._connection: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._pending: list[_Write] = []
        self._writer = anyio.Lock()

    def __repr__(self) -> str:
        state = "open" if self._connection else "closed"
        return f"Journal({str(self.path)!r}, {state})"

    def open(self, *, exclusive: bool = True) -> None:
        """Open (creating if needed); when `exclusive`, take the run lock or raise JournalLocked."""
        try:
            make_folders(self.path.parent)
            if exclusive:
                self._lock_fd = _take_lock(self.path.with_name(self.path.name + ".lock"))
            touch_private(self.path)  # SQLite gives its -wal and -shm files the database's mode
            self._connection = _connect(self.path)
        except (OSError, sqlite3.Error) as error:
            self.close()
            raise JournalUnavailable(
                f"cannot open the journal {self.path}: {error}; check the output folder "
                "(--out) or the journal path (--journal)"
            ) from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def load(self) -> dict[str, JobRecord]:
        """Every record, by key."""
        records = await self._run(self._select_all)
        return {record.key: record for record in records}

    async def record(
        self, key: str, state: StateName, *, note: str | None = None, **values: Any
    ) -> JobRecord:
        """Set a job's state (and any other columns) and append the change to its history."""
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        unknown = set(values) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown journal columns {sorted(unknown)}")
        record: JobRecord = await self._commit(
            lambda connection: self._upsert(connection, key, state, note, values)
        )
        return record

    async def restore(self, key: str, previous: JobRecord | None) -> None:
        """Put a job's record back as it was (or remove it): a write that proved untrue."""
        await self._commit(lambda connection: self._put_back(connection, key, previous))

    async def learned(self, observation: Observation) -> None:
        """Keep what an export took to be ready, for the polls of later runs."""
        row = (
            observation.export_id,
            observation.window_seconds,
            observation.lower,
            observation.upper,
            self._clock(),
        )
        await self._commit(
            lambda connection: connection.execute(
                "INSERT INTO durations (export_id, window_seconds, lower, upper, at) "
                "VALUES (?, ?, ?, ?, ?)",
                row,
            )
        )

    async def observations(self) -> list[Observation]:
        """What earlier exports took, oldest first (the most recent few thousand)."""
        query = (
            "SELECT export_id, window_seconds, lower, upper FROM durations ORDER BY id DESC LIMIT ?"
        )
        rows = await self._run(
            lambda: self._require().execute(query, (OBSERVATIONS_KEPT,)).fetchall()
        )
        return [Observation(*row) for row in reversed(rows)]

    async def _commit(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Run `apply` in the next group commit and return its result once it is durable."""
        write = _Write(apply)
        self._pending.append(write)
        try:
            async with self._writer:
                if not write.done:
                    batch, self._pending = self._pending, []
                    with anyio.CancelScope(shield=True):  # the batch holds others' writes too
                        await anyio.to_thread.run_sync(
                            self._apply_all, batch, limiter=self._limiter
                        )
        finally:
            if not write.done and write in self._pending:
                self._pending.remove(write)  # cancelled before any commit took it: never written
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[no-any-return]

    def _apply_all(self, batch: list[_Write]) -> None:
        connection = self._require()
        try:
            with _Transaction(connection):
                for write in batch:
                    write.result = write.apply(connection)
        except (sqlite3.Error, OSError) as error:
            failure = JournalUnavailable(
                f"writing the journal {self.path} failed: {error}; the run cannot record its "
                "progress (is the disk full?)"
            )
            for write in batch:
                write.error = failure
        except BaseException as error:
            for write in batch:
                write.error = error
        for write in batch:
            write.done = True

    async def history(self, key: str) -> list[tuple[str, float, str | None]]:
        """The states a job went through, oldest first, with their times and notes."""
        return await self._run(lambda: self._events(key))

    def _upsert(
        self,
        connection: sqlite3.Connection,
        key: str,
        state: str,
        note: str | None,
        values: dict[str, Any],
    ) -> JobRecord:
        now = self._clock()
        row = connection.execute(f"{_SELECT} WHERE key = ?", (key,)).fetchone()
        current: dict[str, Any] = (
            dict(zip(_COLUMNS, row, strict=True)) if row else {"created_at": now}
        )
        current.update(values)
        current.update(key=key, state=state, updated_at=now)
        record = JobRecord(**current)
        _put(connection, record)
        connection.execute(
            "INSERT INTO events (key, state, at, note) VALUES (?, ?, ?, ?)",
            (key, state, now, note),
        )
        return record

    def _put_back(
        self, connection: sqlite3.Connection, key: str, previous: JobRecord | None
    ) -> None:
        if previous is None:
            connection.execute("DELETE FROM jobs WHERE key = ?", (key,))
        else:
            _put(connection, previous)
        connection.execute(
            "INSERT INTO events (key, state, at, note) VALUES (?, ?, ?, ?)",
            (key, previous.state if previous else "forgotten", self._clock(), "restored"),
        )

    def _select_all(self) -> list[JobRecord]:
        rows = self._require().execute(_SELECT).fetchall()
        return [JobRecord(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]

    def _events(self, key: str) -> list[tuple[str, float, str | None]]:
        query = "SELECT state, at, note FROM events WHERE key = ? ORDER BY id"
        return list(self._require().execute(query, (key,)).fetchall())

    def _require(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the journal is not open")
        return self._connection

    async def _run(self, call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)


def _put(connection: sqlite3.Connection, record: JobRecord) -> None:
    placeholders = ", ".join("?" for _ in _COLUMNS)
    connection.execute(
        f"INSERT OR REPLACE INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - column names are ours
        [getattr(record, column) for column in _COLUMNS],
    )


def read_records(path: Path) -> dict[str, JobRecord]:
    """Every record of a journal, read without the run lock (a run may be writing: WAL lets
    readers in). Raises JournalUnavailable when the file is missing or is not a journal."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise JournalUnavailable(f"cannot open the journal {path}: {error}") from None
    try:
        present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
        columns = [column for column in _COLUMNS if column in present]  # an older journal
        rows = connection.execute(f"SELECT {', '.join(columns)} FROM jobs").fetchall()  # noqa: S608 - column names are ours
        return {row[0]: JobRecord(**dict(zip(columns, row, strict=True))) for row in rows}
    except sqlite3.Error as error:
        raise JournalUnavailable(
            f"{path} is not an orchestrator journal ({error}); give the journal of a run "
            "(--journal) or its output folder (--out)"
        ) from None
    finally:
        connection.close()


def read_observations(path: Path) -> list[Observation]:
    """What earlier exports took, from a journal read without its lock; none if it has none."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        rows = connection.execute(
            "SELECT export_id, window_seconds, lower, upper FROM durations ORDER BY id DESC "
            "LIMIT ?",
            (OBSERVATIONS_KEPT,),
        ).fetchall()
    except sqlite3.Error:  # an older journal, or none at all
        return []
    finally:
        connection.close()
    return [Observation(*row) for row in reversed(rows)]


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=5000")
        connection.executescript(_SCHEMA)
        present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                connection.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    except sqlite3.Error:
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
        self._connection.execute("ROLLBACK" if kind else "COMMIT")


def _take_lock(path: Path) -> int:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise JournalLocked(
            f"another orchestrator run is using the journal {path.with_suffix('')}; "
            "wait for it to finish, or give this run its own --out or journal"
        ) from None
    return descriptor
