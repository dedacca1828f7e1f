"""The Output protocol both kinds of output implement (a local folder, a bucket's prefix), and the
options they take besides their location. No obstore here: a local run never imports it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from orchestrator.core.layout import STATE_FOLDER
from orchestrator.core.location import Location
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.shard import Shard
from orchestrator.edges.filesystems import JournalMode
from orchestrator.edges.journal import Journal
from orchestrator.edges.ports import JobJournal, Sink
from orchestrator.edges.report import RunHeader

DEFAULT_TTL = 30.0
"""A bucket lease's TTL in seconds when ORCHESTRATOR_LEASE_SECONDS is not set."""
JOURNAL_FOLDER = f"{STATE_FOLDER}/journal"
LEASE_FILE = f"{STATE_FOLDER}/lease.json"


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """The settings the output needs besides its location."""

    shard: Shard = field(default_factory=Shard)
    lease_seconds: float = DEFAULT_TTL
    """ORCHESTRATOR_LEASE_SECONDS."""
    journal: Path | None = None
    """ORCHESTRATOR_JOURNAL: a local journal path instead of the default place."""
    journal_mode: JournalMode = "auto"
    """ORCHESTRATOR_JOURNAL_MODE, for a SQLite journal."""
    sqlite: Callable[[Path], Journal] = Journal
    """Builds a SQLite journal at a path: the composition root's choice (tests give a journal
    whose disk fills up)."""


class Reports(Protocol):
    async def write(
        self, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
    ) -> str:
        """Write the run report; return where it is (a path or a URL)."""

    async def prune(self, keep: int, current: str) -> int:
        """Remove the oldest reports beyond `keep`, never `current` (as `write` returned it);
        return how many went. One that cannot be removed is left for the next run."""


class Output(Protocol):
    location: Location
    sink: Sink
    reports: Reports

    def journal(self) -> AbstractAsyncContextManager[JobJournal]: ...

    async def check(self, exports: Iterable[str] = ()) -> None: ...

    def describe(self) -> dict[str, object]: ...

    def secrets(self) -> list[str]: ...

    async def journal_records(self) -> dict[str, dict[str, JobRecord]]: ...
