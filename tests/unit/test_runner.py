"""The runner with a scripted client: decisions taken from the state machine, I/O done once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.core.backoff import PollPolicy, ResubmitPolicy, RetryPolicy
from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Job, Window, make_job
from orchestrator.edges.journal import Journal
from orchestrator.edges.sink import FileSink
from orchestrator.errors import CredentialsRejected
from orchestrator.run.runner import JobRunner, Policies

DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
JOB = make_job(
    export_name="c",
    export_id="conversation",
    source="care",
    format="csv",
    locale="en_US",
    method="GET",
    window=DAY,
)


class ScriptedClient:
    """Every export fails; the pieces of a split window meet rejected credentials."""

    def __init__(self) -> None:
        self.submits: list[Job] = []

    async def submit(self, job: Job) -> RunIds:
        self.submits.append(job)
        if job.parent_key is not None:
            raise CredentialsRejected("the API rejected the credentials (401)", status=401)
        return RunIds("wf", "run", "https://api/status?companyKey=k")

    async def status(self, status_url: str) -> StatusReport:
        return StatusReport("CLOSED", "FAILED", "too big", "", None)

    async def download(
        self,
        download_url: str,
        consume: Callable[[AsyncIterator[bytes], int | None], Awaitable[Any]],
    ) -> Any:
        raise AssertionError("nothing is ever ready")

    def sealed(self, url: str) -> str:
        return url

    def unsealed(self, url: str) -> str:
        return url


@pytest.mark.anyio
async def test_rejected_credentials_in_a_split_pieces_escape_plainly(tmp_path: Path) -> None:
    """A 401 met by a piece of a split window stops the run like any other job's 401."""
    journal = Journal(tmp_path / "journal.sqlite")
    journal.open()
    client = ScriptedClient()
    runner = JobRunner(
        client=client,  # type: ignore[arg-type]
        sink=FileSink(tmp_path / "out"),
        journal=journal,
        policies=Policies(
            RetryPolicy(),
            PollPolicy(first_seconds=0.001),
            ResubmitPolicy(max_attempts=1, min_window_seconds=60),
        ),
        in_flight=anyio.CapacityLimiter(4),
        downloads=anyio.CapacityLimiter(1),
        jitter=lambda: 0.0,
    )
    try:
        with anyio.fail_after(5), pytest.raises(CredentialsRejected):
            await runner.run(JOB, None)
    finally:
        journal.close()
    assert [job.parent_key for job in client.submits][:2] == [None, JOB.key]
