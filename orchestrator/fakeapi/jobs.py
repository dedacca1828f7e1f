"""Export jobs: their identifiers, their timeline, and where to find them again.

A job is RUNNING from its creation until `ends_at` on the fake's monotonic clock, then COMPLETED,
or FAILED when a fault chose so at creation. No background task moves it along: its state is read
from the clock whenever asked, which is what lets tests drive time by hand. A job also counts the
status polls it was asked (some answer forms depend on them) and remembers its first download.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from .params import ExportRequest

Outcome = Literal["RUNNING", "COMPLETED", "FAILED"]
Source = Literal["care", "publishing"]

_RUN_ID_BYTES = 32
"""32 bytes give 44 base64 characters ending in one `=`, like the vendor's runIds after "23"."""


def new_run_id() -> str:
    """A vendor-like runId: "23" + base64 of random bytes, always holding `+`, `/` and `=`.

    Every job carries all three characters that need percent-encoding in a URL, so every job
    exercises a client's URL handling.
    """
    while True:
        run_id = "23" + base64.b64encode(secrets.token_bytes(_RUN_ID_BYTES)).decode()
        if "+" in run_id and "/" in run_id:
            return run_id


def new_access_token() -> str:
    """A per-job analyticsAccessToken: base64 of 16 random bytes, so it ends in `==`.

    Like the quick start's `53u6j8zjSLAe6e%2F8s80LtA%3D%3D`, it always holds a `+` or `/` as well,
    so every token needs percent-encoding in a URL.
    """
    while True:
        token = base64.b64encode(secrets.token_bytes(16)).decode()
        if "+" in token or "/" in token:
            return token


@dataclass(slots=True)
class Job:
    """One export job; after creation only the caches, poll counts and first download change."""

    workflow_id: str
    run_id: str
    token: str
    company_key: str
    source: Source
    request: ExportRequest
    object_id: str
    created_at: float
    ends_at: float
    failure_reason: str | None
    size: int | None = None
    gzip_size: int | None = None
    polls: int = 0
    """Status requests answered for this job."""
    polls_after_end: int = 0
    """Of those, the ones answered from its finished state (after any QUEUED ones)."""
    first_download_at: float | None = None
    """Monotonic time of the first download request after the job was ready."""

    def outcome(self, now: float) -> Outcome:
        """The job's state at monotonic time `now`."""
        if now < self.ends_at:
            return "RUNNING"
        return "FAILED" if self.failure_reason is not None else "COMPLETED"

    @property
    def content_type(self) -> str:
        return "text/csv" if self.request.report_format == "csv" else "application/json"


def new_job(
    *,
    company_key: str,
    source: Source,
    request: ExportRequest,
    now: float,
    duration: float,
    failure_reason: str | None,
) -> Job:
    """A fresh job with new random identifiers, running from `now` for `duration` seconds."""
    return Job(
        workflow_id=str(uuid.uuid4()),
        run_id=new_run_id(),
        token=new_access_token(),
        company_key=company_key,
        source=source,
        request=request,
        object_id=f"{secrets.token_hex(16)}.{request.report_format}",
        created_at=now,
        ends_at=now + duration,
        failure_reason=failure_reason,
    )


class JobStore:
    """Jobs by workflowId and by storage object id."""

    def __init__(self) -> None:
        self._by_workflow: dict[str, Job] = {}
        self._by_object: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        self._by_workflow[job.workflow_id] = job
        self._by_object[job.object_id] = job

    def find(self, workflow_id: str, raw_run_segment: str) -> Job | None:
        """The job a status or download path names, or None.

        The runId segment is decoded the way a Java server decodes form text (`%XX` escapes, `+`
        as a space): `%2B`, `%2F` and `%3D` (or a literal `=`) match, while a raw `+` does not,
        and a raw `/` has already split the path into the wrong segments.
        """
        job = self._by_workflow.get(workflow_id)
        if job is None or unquote_plus(raw_run_segment) != job.run_id:
            return None
        return job

    def by_object(self, object_id: str) -> Job | None:
        return self._by_object.get(object_id)

    def all(self) -> list[Job]:
        """Every job, in creation order."""
        return list(self._by_workflow.values())

    def __len__(self) -> int:
        return len(self._by_workflow)

    def __repr__(self) -> str:
        return f"JobStore(jobs={len(self._by_workflow)})"
