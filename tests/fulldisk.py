"""A full disk, injected where each writer meets the OS: the file handle the sink or the report
writes through, and the row the journal writes (SQLite's own SQLITE_FULL error).

Everything above that point is the real code: the error mapping, the journal's reserve and
rollback, the runner, the scheduler's stop, the exit code.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from orchestrator.core.jobs import Job
from orchestrator.core.states import StateName
from orchestrator.edges.journal_writes import Change


class FullHandle:
    """A file handle on a disk with no space left: every write raises ENOSPC; closing (and
    everything else) goes to the real handle."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> FullHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def full(opener: Callable[..., BinaryIO]) -> Callable[..., FullHandle]:
    """`opener` (a writer's `_open_temp`), its handles on a full disk."""

    def open_full(*arguments: Any) -> FullHandle:
        return FullHandle(opener(*arguments))

    return open_full


class FullDiskJournal:
    """Builds journals whose writes of `state` meet a full disk `failures` times in all (then
    the disk has room again); counts the failures it injected."""

    def __init__(self, state: str, failures: int) -> None:
        self.state, self.failures = state, failures

    def __call__(self, path: Path) -> Any:
        from orchestrator.edges.journal import Journal  # a subclass per factory: no shared state

        factory = self

        class Full(Journal):
            def _upsert(
                self,
                connection: sqlite3.Connection,
                job: Job,
                state: StateName,
                change: Change,
                note: str | None,
            ) -> Any:
                if state == factory.state and factory.failures > 0:
                    factory.failures -= 1
                    raise sqlite3.OperationalError("database or disk is full")
                return super()._upsert(connection, job, state, change, note)

        return Full(path)
