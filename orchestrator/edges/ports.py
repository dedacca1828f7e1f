"""The edges the runner and scheduler talk to, as protocols: the API client, the journal, the sink.

Each has a real implementation beside it (`ReportsClient`, `Journal`, `FileSink`), one on object
storage for the journal and the sink (`edges.storage`), and an in-memory one (`MemoryJournal`,
`MemorySink`); all of a port's implementations pass the same contract tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import PurePosixPath
from typing import Protocol, TypeVar

from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Job
from orchestrator.core.polling import Observation
from orchestrator.core.records import HistoryEntry, JobRecord
from orchestrator.core.stored import StoredFile
from orchestrator.edges.journal_writes import Ending

T = TypeVar("T")
Consume = Callable[[AsyncIterator[bytes], int | None], Awaitable[T]]
"""Takes a download's byte stream and its announced size, if any."""


class Sender(Protocol):
    async def submit(self, job: Job) -> RunIds:
        """Create the export; the first try spends the budget reserved for it and is shielded
        from cancellation, so a create that left always gets its answer."""


class ApiClient(Protocol):
    def reserve(self, kind: str) -> AbstractAsyncContextManager[Sender]:
        """Take one request of the budget, and hand back what sends it."""

    async def status(self, status_url: str) -> StatusReport: ...

    async def download(self, download_url: str, consume: Consume[T]) -> T: ...

    def sealed(self, url: str) -> str:
        """`url` with its secret values sealed, for the journal."""

    def unsealed(self, url: str) -> str:
        """A sealed URL made usable again; raises SealBroken when it cannot be."""


class JobJournal(Protocol):
    async def load(self) -> dict[str, JobRecord]: ...

    async def intend(self, job: Job, *, attempts: int, uncertain: bool) -> None:
        """A create is about to leave."""

    async def withdraw(self, job: Job) -> None:
        """The create was answered 401: nothing was created; the intent is taken back."""

    async def submitted(self, job: Job, ids: RunIds) -> None:
        """The server's ids for the export (status URL sealed)."""

    async def ready(self, job: Job) -> None: ...

    async def stored(self, job: Job, file: StoredFile) -> None: ...

    async def ended(
        self, job: Job, state: Ending, reason: str, *, attempts: int | None = None
    ) -> None: ...

    async def found_again(self, job: Job, record: JobRecord, file: StoredFile) -> None:
        """The recorded file, found by its sha256 under new facts: keep them."""

    async def history(self, key: str) -> list[HistoryEntry]: ...

    async def learned(self, observation: Observation) -> None:
        """Keep what an export took to be ready, for the polls of later runs."""

    async def observations(self) -> list[Observation]:
        """What earlier exports took, oldest first (the most recent few thousand)."""


class Sink(Protocol):
    async def store(
        self,
        relative: PurePosixPath,
        chunks: AsyncIterator[bytes],
        *,
        expected_size: int | None,
        report_format: str,
        key: str | None = None,
    ) -> StoredFile:
        """Store the stream whole under `relative` (or nothing); `key` is the job's stable key,
        which a store may keep with the file (an object's metadata), as it keeps the sha256."""

    async def discard_partials(self, relative: PurePosixPath) -> int: ...

    async def put(self, relative: PurePosixPath, data: bytes) -> None:
        """A small file (a completion marker), written whole or not at all."""

    async def remove(self, relative: PurePosixPath) -> bool:
        """Remove a small file if it is there; whether it was."""

    async def exists(self, relative: PurePosixPath) -> bool: ...

    async def matches(self, file: StoredFile, *, verify: bool = False) -> StoredFile | None:
        """The recorded `file` as found now, if it is still the one written (else None)."""
