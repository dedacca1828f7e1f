"""Counts of what a run asked of the API: requests by kind and answer, retries by kind, bytes.

The client records into one `RequestTally` per run; the metrics file, the progress display and the
run report read it. It is plain counting (no I/O, no clock), shared by tasks of one event loop.
Each job also counts its own API requests (`JobRequests`), for its closing log line: the count lives
in a context variable of the job's task, so the client adds to it without being told which job.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar

NETWORK_ERROR = "network"
"""The `code` of a request that got no HTTP answer (connection refused, reset, timed out)."""


class RequestTally:
    """API requests by (kind, code), retries by kind, and bytes stored."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.retries: Counter[str] = Counter()
        self.bytes = 0

    def __repr__(self) -> str:
        return (
            f"RequestTally(requests={sum(self.requests.values())}, "
            f"retries={sum(self.retries.values())}, bytes={self.bytes})"
        )

    def request(self, kind: str, code: int | str) -> None:
        """One request of `kind` (create, status, download, storage, probe, teams) answered `code`
        (an HTTP status, or NETWORK_ERROR)."""
        self.requests[(kind, str(code))] += 1

    def retry(self, kind: str) -> None:
        self.retries[kind] += 1

    def stored(self, count: int) -> None:
        self.bytes += count

    def total(self, kind: str | None = None) -> int:
        """Requests sent, of one kind or of every kind."""
        return sum(n for (k, _), n in self.requests.items() if kind is None or k == kind)

    def answered(self, code: int | str) -> int:
        """Requests of any kind that were answered `code` (429, for instance)."""
        return sum(n for (_, c), n in self.requests.items() if c == str(code))


class JobRequests:
    """API requests (creates, polls, downloads, retries included) sent for one job."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __repr__(self) -> str:
        return f"JobRequests({self.count})"


_JOB_REQUESTS: ContextVar[JobRequests | None] = ContextVar("job_requests", default=None)


def count_job_requests() -> JobRequests:
    """Start counting the API requests of the job this task runs (each job runs in its own task,
    whose context variables no other task sees)."""
    counter = JobRequests()
    _JOB_REQUESTS.set(counter)
    return counter


def job_request_sent() -> None:
    """One API request left for the job this task runs, if it counts them."""
    counter = _JOB_REQUESTS.get()
    if counter is not None:
        counter.count += 1
