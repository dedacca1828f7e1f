"""A folder on this machine: today's output. The FileSink, the SQLite journal at
`<out>/.orchestrator/journal[.shard-I-of-N].sqlite` (or ORCHESTRATOR_JOURNAL) locked by its flock,
and the run reports under `<out>/_runs/`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio

from orchestrator.core.layout import JOURNAL_FILE, STATE_FOLDER
from orchestrator.core.location import Location
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.edges.journal import read_records
from orchestrator.edges.ports import JobJournal, Sink
from orchestrator.edges.preflight import check_output_tree
from orchestrator.edges.report import RunHeader, prune_reports, write_report
from orchestrator.edges.sink import FileSink
from orchestrator.edges.status import journal_files
from orchestrator.edges.storage.output import Reports, StorageOptions


@asynccontextmanager
async def sqlite_journal(path: Path, options: StorageOptions) -> AsyncIterator[JobJournal]:
    """The SQLite journal, in ORCHESTRATOR_JOURNAL_MODE, its flock held from open to close
    (JournalLocked when taken)."""
    journal = options.sqlite(path)
    journal.mode = options.journal_mode  # read when it opens
    journal.open()
    try:
        yield journal
    finally:
        journal.close()


async def sqlite_records(base: Path) -> dict[str, dict[str, JobRecord]]:
    """Every shard's SQLite journal beside `base`, read without the lock."""
    paths = await anyio.to_thread.run_sync(journal_files, base)
    return {str(path): read_records(path) for path in paths}


class LocalOutput:
    """A folder on this machine: today's output."""

    def __init__(self, location: Location, options: StorageOptions) -> None:
        self.location, self._options = location, options
        self.root = Path(location.path)
        self.sink: Sink = FileSink(self.root)
        self.reports: Reports = FolderReports(self.root)

    def __repr__(self) -> str:
        return f"LocalOutput({str(self.root)!r})"

    @property
    def journal_path(self) -> Path:
        base = self._options.journal or self.root / STATE_FOLDER / JOURNAL_FILE
        return Path(self._options.shard.file_for(base))

    def journal(self) -> AbstractAsyncContextManager[JobJournal]:
        return sqlite_journal(self.journal_path, self._options)

    async def check(self, exports: Iterable[str] = ()) -> None:
        check_output_tree(self.root, self.journal_path, exports)
        await anyio.lowlevel.checkpoint()

    def describe(self) -> dict[str, object]:
        return {
            "store": self.location.url(),
            "kind": self.location.cloud,
            "journal": str(self.journal_path),
        }

    def secrets(self) -> list[str]:
        return []

    async def journal_records(self) -> dict[str, dict[str, JobRecord]]:
        return await sqlite_records(
            self._options.journal or self.root / STATE_FOLDER / JOURNAL_FILE
        )


class FolderReports:
    """Run reports as files under `<out>/_runs/`, each written atomically."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def write(
        self, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
    ) -> str:
        path = await anyio.to_thread.run_sync(write_report, self._root, run, results, secrets)
        return str(path)

    async def prune(self, keep: int, current: str) -> int:
        return await anyio.to_thread.run_sync(prune_reports, self._root, keep, Path(current))
