"""A prefix in a bucket: the ObjectSink, the run reports under `<prefix>/_runs/`, and (unless
ORCHESTRATOR_JOURNAL names a local path) the ObjectJournal under `<prefix>/.orchestrator/journal
[.shard-I-of-N]/` with its Lease beside it. Imported only for a bucket output (obstore with it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import anyio
import obstore

from orchestrator.core.layout import RUNS_FOLDER, STATE_FOLDER
from orchestrator.core.location import Location
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.shard import is_journal_of
from orchestrator.edges.ports import JobJournal, Sink
from orchestrator.edges.preflight import check_journal_files, check_writable
from orchestrator.edges.report import RunHeader, beyond_kept, report_bytes, report_name
from orchestrator.edges.storage.lease import Lease, new_holder
from orchestrator.edges.storage.local import sqlite_journal, sqlite_records
from orchestrator.edges.storage.object_journal import ObjectJournal, read_journal
from orchestrator.edges.storage.object_sink import ObjectSink
from orchestrator.edges.storage.output import (
    JOURNAL_FOLDER,
    LEASE_FILE,
    Reports,
    StorageOptions,
)
from orchestrator.edges.storage.stores import (
    access_error,
    check_access,
    credential_source,
    describe_error,
    storage_secrets,
)
from orchestrator.errors import SinkError

if TYPE_CHECKING:
    from obstore.store import ObjectStore


class BucketOutput:
    """A prefix in a bucket: the files, and (unless a local journal is named) the journal and the
    lease under `<prefix>/.orchestrator/`."""

    def __init__(self, location: Location, options: StorageOptions, store: ObjectStore) -> None:
        self.location, self._options, self._store = location, options, store
        self.sink: Sink = ObjectSink(store, location)
        self.reports: Reports = BucketReports(store, location)
        self.holder = new_holder()

    def __repr__(self) -> str:
        return f"BucketOutput({self.location.url()!r})"

    def _shard_path(self, base: str) -> str:
        return self._options.shard.file_for(PurePosixPath(base)).as_posix()

    def journal(self) -> AbstractAsyncContextManager[JobJournal]:
        if self._options.journal is not None:
            path = Path(self._options.shard.file_for(self._options.journal))
            return sqlite_journal(path, self._options)
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
        except BaseExceptionGroup as grouped:  # the run's own error, as a folder's run raises it
            if len(grouped.exceptions) != 1:
                raise
            (single,) = grouped.exceptions
            raise single from single.__cause__
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
            return await sqlite_records(self._options.journal)
        try:
            listed = await obstore.list_with_delimiter_async(self._store, STATE_FOLDER)
        except Exception as error:
            raise access_error(error, self.location, "list the journals under") from None
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


class BucketReports:
    """Run reports as objects under `<prefix>/_runs/`, each one PUT."""

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

    async def prune(self, keep: int, current: str) -> int:
        """List `_runs/`, delete the oldest beyond `keep`; a listing or a deletion that fails
        leaves them for the next run (the report is written: pruning is housekeeping)."""
        try:
            listed = await obstore.list(self._store, f"{RUNS_FOLDER}/").collect_async()
        except Exception:  # housekeeping: the next run tries again
            return 0
        names = [PurePosixPath(meta["path"]).name for meta in listed]
        doomed = beyond_kept(names, keep, PurePosixPath(current).name)
        if not doomed:
            return 0
        try:
            await obstore.delete_async(self._store, [f"{RUNS_FOLDER}/{name}" for name in doomed])
        except Exception:  # housekeeping: the next run tries again
            return 0
        return len(doomed)
