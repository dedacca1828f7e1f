"""Counts of what a run asked of the API: requests by kind and answer, retries by kind, bytes.

The client records into one `RequestTally` per run; the metrics file, the progress display and the
run report read it. It is plain counting (no I/O, no clock), shared by tasks of one event loop.
"""

from __future__ import annotations

from collections import Counter

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
