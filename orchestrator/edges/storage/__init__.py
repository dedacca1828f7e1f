"""Where a run's output goes, and everything that lives beside it, behind one entry point for the
composition root and the CLI:

    output = open_output(parse_location(settings_out_text), StorageOptions(shard=..., ...))
    output.describe()            `config`: the store, the journal, and where the credentials
                                 come from (secret values masked)
    output.secrets()             the store's secret values, to join the log redaction
    await output.check(exports)  before any API request: the folder can take files, or the bucket
                                 exists and may be listed (SettingsError / OutputNotWritable, exit 2)
    async with output.journal() as journal:
                                 takes the run lock (the SQLite journal's flock, or the bucket's
                                 lease, renewed while the block runs), loads; releases at the end
    output.sink                  the Sink port: FileSink or ObjectSink
    await output.reports.write(header, results, secrets)
                                 the run report, `<out>/_runs/<run id>.json`; returns where
    await output.journal_records()
                                 `status`: every shard's journal records, read without the lock

A local folder (a plain path or file://) is today's behaviour: FileSink, the SQLite journal at
`<out>/.orchestrator/journal[.shard-I-of-N].sqlite` with its flock, the report file. A bucket
(s3://, gs://, az://) is ObjectSink, the ObjectJournal under
`<prefix>/.orchestrator/journal[.shard-I-of-N]/` and its Lease beside it; unless
ORCHESTRATOR_JOURNAL (`journal`) names a local path: then the SQLite journal is there, locked by
its flock. The two kinds are one protocol (`Output`), so the caller never asks which it has.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

import anyio
import obstore

from orchestrator.core.layout import JOURNAL_FILE, RUNS_FOLDER, STATE_FOLDER
from orchestrator.core.location import Location
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.shard import Shard, is_journal_of
from orchestrator.edges.filesystems import JournalMode
from orchestrator.edges.journal import Journal, read_records
from orchestrator.edges.ports import JobJournal, Sink
from orchestrator.edges.preflight import check_journal_files, check_output_tree, check_writable
from orchestrator.edges.report import RunHeader, report_bytes, report_name, write_report
from orchestrator.edges.sink import FileSink
from orchestrator.edges.status import journal_files
from orchestrator.edges.storage.lease import DEFAULT_TTL, Lease, new_holder
from orchestrator.edges.storage.object_journal import ObjectJournal, read_journal
from orchestrator.edges.storage.object_sink import ObjectSink
from orchestrator.edges.storage.stores import (
    build_store,
    check_access,
    credential_source,
    describe_error,
    storage_secrets,
)
from orchestrator.errors import SinkError

if TYPE_CHECKING:
    from obstore.store import ObjectStore

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


class Reports(Protocol):
    async def write(
        self, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
    ) -> str:
        """Write the run report; return where it is (a path or a URL)."""


class Output(Protocol):
    location: Location
    sink: Sink
    reports: Reports

    def journal(self) -> AbstractAsyncContextManager[JobJournal]: ...

    async def check(self, exports: Iterable[str] = ()) -> None: ...

    def describe(self) -> dict[str, object]: ...

    def secrets(self) -> list[str]: ...

    async def journal_records(self) -> dict[str, dict[str, JobRecord]]: ...


def open_output(
    location: Location, options: StorageOptions, environ: Mapping[str, str] = os.environ
) -> Output:
    """The output at `location`: nothing is read or written until it is used (SettingsError for a
    bucket whose store cannot be built from the environment)."""
    if location.local:
        return LocalOutput(location, options)
    return BucketOutput(location, options, build_store(location, environ))


@asynccontextmanager
async def _sqlite_journal(path: Path, mode: JournalMode) -> AsyncIterator[JobJournal]:
    """The SQLite journal, its flock held from open to close (JournalLocked when taken)."""
    journal = Journal(path, mode=mode)
    journal.open()
    try:
        yield journal
    finally:
        journal.close()


class LocalOutput:
    """A folder on this machine: today's output."""

    def __init__(self, location: Location, options: StorageOptions) -> None:
        self.location, self._options = location, options
        self.root = Path(location.path)
        self.sink: Sink = FileSink(self.root)
        self.reports: Reports = _FolderReports(self.root)

    def __repr__(self) -> str:
        return f"LocalOutput({str(self.root)!r})"

    @property
    def journal_path(self) -> Path:
        base = self._options.journal or self.root / STATE_FOLDER / JOURNAL_FILE
        return Path(self._options.shard.file_for(base))

    def journal(self) -> AbstractAsyncContextManager[JobJournal]:
        return _sqlite_journal(self.journal_path, self._options.journal_mode)

    async def check(self, exports: Iterable[str] = ()) -> None:
        check_output_tree(self.root, self.journal_path, exports)
        await anyio.lowlevel.checkpoint()

    def describe(self) -> dict[str, object]:
        return {**credential_source(self.location), "journal": str(self.journal_path)}

    def secrets(self) -> list[str]:
        return []

    async def journal_records(self) -> dict[str, dict[str, JobRecord]]:
        base = self._options.journal or self.root / STATE_FOLDER / JOURNAL_FILE
        paths = await anyio.to_thread.run_sync(journal_files, base)
        return {str(path): read_records(path) for path in paths}


class _FolderReports:
    def __init__(self, root: Path) -> None:
        self._root = root

    async def write(
        self, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
    ) -> str:
        path = await anyio.to_thread.run_sync(write_report, self._root, run, results, secrets)
        return str(path)


class BucketOutput:
    """A prefix in a bucket: the files, and (unless a local journal is named) the journal and the
    lease under `<prefix>/.orchestrator/`."""

    def __init__(self, location: Location, options: StorageOptions, store: ObjectStore) -> None:
        self.location, self._options, self._store = location, options, store
        self.sink: Sink = ObjectSink(store, location)
        self.reports: Reports = _BucketReports(store, location)
        self.holder = new_holder()

    def __repr__(self) -> str:
        return f"BucketOutput({self.location.url()!r})"

    def _shard_path(self, base: str) -> str:
        return self._options.shard.file_for(PurePosixPath(base)).as_posix()

    def journal(self) -> AbstractAsyncContextManager[JobJournal]:
        if self._options.journal is not None:
            path = Path(self._options.shard.file_for(self._options.journal))
            return _sqlite_journal(path, self._options.journal_mode)
        return self._leased_journal()

    @asynccontextmanager
    async def _leased_journal(self) -> AsyncIterator[JobJournal]:
        """Take the shard's lease (waiting at most one TTL for a killed run's), keep renewing it
        while the block runs, load the journal under it, and release it at the end."""
        lease = Lease(
            self._store,
            self.location,
            self._shard_path(LEASE_FILE),
            holder=self.holder,
            ttl=self._options.lease_seconds,
        )
        await lease.take()
        try:
            journal = ObjectJournal(
                self._store,
                self.location,
                self._shard_path(JOURNAL_FOLDER),
                holder=self.holder,
                fence=lease.fence,
            )
            async with anyio.create_task_group() as group:
                await group.start(lease.keep, name=f"lease {lease.url}")
                try:
                    await journal.open()
                    yield journal
                finally:
                    group.cancel_scope.cancel()
        finally:
            await lease.release()

    async def check(self, exports: Iterable[str] = ()) -> None:
        await check_access(self._store, self.location)
        if self._options.journal is not None:
            path = Path(self._options.shard.file_for(self._options.journal))
            check_writable([path.parent])
            check_journal_files(path)

    def describe(self) -> dict[str, object]:
        journal = (
            str(self._options.journal)
            if self._options.journal
            else self.location.url(self._shard_path(JOURNAL_FOLDER))
        )
        return {
            **credential_source(self.location),
            "journal": journal,
            "lease": None
            if self._options.journal
            else self.location.url(self._shard_path(LEASE_FILE)),
            "lease_seconds": self._options.lease_seconds,
        }

    def secrets(self) -> list[str]:
        return storage_secrets()

    async def journal_records(self) -> dict[str, dict[str, JobRecord]]:
        """Every shard's journal under `.orchestrator/`, read without the lease."""
        if self._options.journal is not None:
            paths = await anyio.to_thread.run_sync(journal_files, self._options.journal)
            return {str(path): read_records(path) for path in paths}
        listed = await obstore.list_with_delimiter_async(self._store, STATE_FOLDER)
        folders = sorted(
            prefix
            for prefix in listed["common_prefixes"]
            if is_journal_of(PurePosixPath(prefix).name, PurePosixPath("journal"))
        )
        found = {}
        for folder in folders:
            url = self.location.url(folder)
            found[url] = dict((await read_journal(self._store, folder, url)).state.records)
        return found


class _BucketReports:
    def __init__(self, store: ObjectStore, location: Location) -> None:
        self._store, self._location = store, location

    async def write(
        self, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
    ) -> str:
        """One PUT: the report appears whole or not at all."""
        path = f"{RUNS_FOLDER}/{report_name(run)}"
        body = report_bytes(run, results, secrets)
        try:
            await obstore.put_async(
                self._store, path, body, attributes={"Content-Type": "application/json"}
            )
        except Exception as error:
            raise SinkError(
                f"cannot write the run report {self._location.url(path)}: {describe_error(error)}"
            ) from None
        return self._location.url(path)
