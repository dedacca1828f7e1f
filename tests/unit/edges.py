"""In-memory edges for runner and scheduler tests: a scripted API client, a sink, a gate.

The `Gate` names every await point of a job's life; a test can cancel the job at any one of them
(as httpcore's cancellation tests do for each phase of a request) and then check the journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import anyio
import anyio.lowlevel

from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Job, Window
from orchestrator.core.records import JobRecord
from orchestrator.core.states import StateName
from orchestrator.edges.journal_writes import Change
from orchestrator.edges.memory_journal import MemoryJournal
from orchestrator.edges.memory_sink import MemorySink as MemorySink
from orchestrator.errors import SealBroken

T = TypeVar("T")
DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
BODY = b"a,b\n1,2\n3,4\n"


def day_job(name: str = "c", window: Window = DAY) -> Job:
    return Job(
        export_name=name,
        export_id="conversation",
        source="care",
        format="csv",
        locale="en_US",
        method="GET",
        window=window,
    )


def running() -> StatusReport:
    return StatusReport("RUNNING", "", None, "", None)


def completed(url: str = "https://api/download") -> StatusReport:
    return StatusReport("CLOSED", "COMPLETED", None, url, None)


def failed() -> StatusReport:
    return StatusReport("CLOSED", "FAILED", "too big", "", None)


@dataclass
class Gate:
    """Every await point passes here; at `stop_at`, the scope given is cancelled."""

    stop_at: str | None = None
    scope: anyio.CancelScope | None = None
    passed: list[str] = field(default_factory=list)

    async def at(self, point: str) -> None:
        self.passed.append(point)
        if point == self.stop_at and self.scope is not None:
            self.scope.cancel()
        await anyio.lowlevel.checkpoint()


class GatedJournal(MemoryJournal):
    """A memory journal whose every write is an await point of the gate."""

    def __init__(self, gate: Gate) -> None:
        super().__init__(clock=lambda: 0.0)
        self.gate = gate

    async def _apply(
        self, job: Job, state: StateName, change: Change, note: str | None
    ) -> JobRecord | None:
        await self.gate.at(f"journal:{state}")
        return await super()._apply(job, state, change, note)


class ScriptedClient:
    """Answers from a script: the status reports in order (the last one repeats), then a file.

    It keeps the real client's promise: `reserve` waits for the budget (the gate's "budget"), and
    the create it hands back is shielded from its first await, so it always gets its answer.
    """

    def __init__(
        self,
        gate: Gate,
        statuses: list[StatusReport] | None = None,
        *,
        submit_error: Callable[[Job], Exception | None] = lambda job: None,
        body: bytes = BODY,
    ) -> None:
        self.gate = gate
        self.statuses = statuses or [completed()]
        self.submit_error = submit_error
        self.body = body
        self.sent: list[Job] = []
        self.polls = 0

    @asynccontextmanager
    async def reserve(self, kind: str) -> AsyncIterator[Reservation]:
        await self.gate.at("budget")
        yield Reservation(self)

    async def create(self, job: Job) -> RunIds:
        error = self.submit_error(job)
        with anyio.CancelScope(shield=True):
            await self.gate.at("create")
            self.sent.append(job)
        if error is not None:
            raise error
        number = len(self.sent)
        return RunIds(f"wf{number}", f"run{number}", f"https://api/status/{number}?companyKey=k")

    async def status(self, status_url: str) -> StatusReport:
        await self.gate.at("status")
        index = min(self.polls, len(self.statuses) - 1)
        self.polls += 1
        return self.statuses[index]

    async def download(
        self, download_url: str, consume: Callable[[AsyncIterator[bytes], int | None], Awaitable[T]]
    ) -> T:
        await self.gate.at("download")

        async def chunks() -> AsyncIterator[bytes]:
            await self.gate.at("chunk")
            yield self.body

        return await consume(chunks(), len(self.body))

    def sealed(self, url: str) -> str:
        return url.replace("companyKey=k", "companyKey=SEALED")

    def unsealed(self, url: str) -> str:
        if "broken" in url:
            raise SealBroken("the password changed")
        return url.replace("companyKey=SEALED", "companyKey=k")


@dataclass(frozen=True, slots=True)
class Reservation:
    """The scripted client's budget for one create, taken."""

    client: ScriptedClient

    async def submit(self, job: Job) -> RunIds:
        return await self.client.create(job)
