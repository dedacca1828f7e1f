"""The edges the runner and scheduler talk to, as protocols: the API client, the journal, the sink.

Each has a real implementation beside it (`ReportsClient`, `Journal`, `FileSink`) and, where it
helps tests, an in-memory one (`MemoryJournal`) that passes the same contract tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Any, Protocol, TypeVar

from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Job
from orchestrator.core.polling import Observation
from orchestrator.core.records import JobRecord
from orchestrator.core.states import StateName
from orchestrator.edges.client import Announce, Consume
from orchestrator.edges.sink import FileFacts, StoredFile

T = TypeVar("T")


class ApiClient(Protocol):
    async def submit(self, job: Job, *, announce: Announce | None = None) -> RunIds:
        """Create the export; `announce` is awaited once, when the request is about to leave."""

    async def status(self, status_url: str) -> StatusReport: ...

    async def download(self, download_url: str, consume: Consume[T]) -> T: ...

    def sealed(self, url: str) -> str:
        """`url` with its secret values sealed, for the journal."""

    def unsealed(self, url: str) -> str:
        """A sealed URL made usable again; raises SealBroken when it cannot be."""


class JobJournal(Protocol):
    async def load(self) -> dict[str, JobRecord]: ...

    async def record(
        self, key: str, state: StateName, *, note: str | None = None, **values: Any
    ) -> JobRecord: ...

    async def restore(self, key: str, previous: JobRecord | None) -> None:
        """Put a job's record back as it was (or remove it): a write that proved untrue."""

    async def history(self, key: str) -> list[tuple[str, float, str | None]]: ...

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
    ) -> StoredFile: ...

    async def discard_partials(self, relative: PurePosixPath) -> int: ...

    async def matches(
        self, relative: PurePosixPath, facts: FileFacts, *, verify: bool = False
    ) -> FileFacts | None:
        """The file as found now if it is the one `facts` describe (see `FileSink.matches`)."""
