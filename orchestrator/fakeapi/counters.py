"""What the fake has seen: the numbers tests and benchmarks assert on.

A client's good behaviour is invisible from its own side (did it resubmit a job? leak credentials to
storage? run more than 20 exports at once?), so the fake counts it. `snapshot()` is what
`GET /_fake/counters` serves, for a benchmark whose fake runs in another process. Reading them
from another thread (a fake run on its own loop in a thread) is safe: the parts that grow or get
pruned are guarded by a lock.
"""

from __future__ import annotations

import heapq
import threading

from .clock import Clock

REQUEST_KINDS = ("create", "status", "download", "storage", "hop", "timezones", "teams")
"""`hop`: a redirect_hops hop on either origin; `timezones`, `teams`: the helper endpoints."""
REJECTION_KINDS = (
    "unauthorized",  # 401: missing or wrong Basic credentials
    "forbidden",  # 403: wrong companyKey or access token
    "rate_limited",  # 429 from the rate_limit fault
    "over_capacity",  # 429 because max_running_per_company was reached
    "server_error",  # 500/502/503 from the server_error fault
    "bad_request",  # 400: invalid parameters or unknown export id
    "not_found",  # 404: unknown route, workflowId or runId
    "export_missing",  # 404 on create for an export id in missing_exports
    "export_refused",  # 403 on create for an export id in refused_exports
    "not_ready",  # 409: download asked before the job completed
    "storage_denied",  # 403 from storage or a hop: Authorization header, bad signature or expiry
    "url_expired",  # the subset of storage_denied due to an expired URL
)


class Counters:
    """Running tallies; exports count as running from create until their duration elapses."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._running_ends: dict[str, list[float]] = {}
        self.max_running_by_company: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        """Zero every tally; running exports stay running, and the maximum restarts from them."""
        with self._lock:
            self._zero()

    def _zero(self) -> None:
        self.requests: dict[str, int] = dict.fromkeys(REQUEST_KINDS, 0)
        self.rejections: dict[str, int] = dict.fromkeys(REJECTION_KINDS, 0)
        self.submits_by_request: dict[str, int] = {}
        self.jobs_created = 0
        self.jobs_failed = 0
        """Jobs created to end FAILED (whether or not they have ended yet)."""
        self.downloads_redirected = 0
        self.downloads_direct = 0
        """Download requests answered 200 with the file itself (direct_download)."""
        self.downloads_gzipped = 0
        """Storage bodies sent with Content-Encoding: gzip (gzip_storage)."""
        self.downloads_completed = 0
        """File bodies sent to their end, from storage or direct."""
        self.downloads_cut = 0
        self.expired_urls_issued = 0
        self.credential_leaks = 0
        """Storage requests, and hops after the chain left the API origin, that carried an
        Authorization header, whatever its value."""
        self.basic_credential_leaks = 0
        """The subset whose header held the API's Basic credentials or password."""
        self.max_running_by_company = {
            company: self.running(company) for company in self._running_ends
        }

    def running(self, company: str) -> int:
        """Exports of `company` running now, by the clock."""
        with self._lock:
            ends = self._running_ends.get(company, [])
            now = self._clock()
            while ends and ends[0] <= now:
                heapq.heappop(ends)
            return len(ends)

    @property
    def running_now(self) -> int:
        """Exports running now, all companies together."""
        with self._lock:
            return sum(self.running(company) for company in self._running_ends)

    @property
    def max_running(self) -> int:
        """Most exports ever running at once for one company (the count only rises at a create)."""
        return max(self.max_running_by_company.values(), default=0)

    def job_created(self, company: str, request_key: str, ends_at: float, *, fails: bool) -> int:
        """Record a new job; returns how many jobs this exact request has now created."""
        with self._lock:
            heapq.heappush(self._running_ends.setdefault(company, []), ends_at)
            running = self.running(company)
            best = self.max_running_by_company.get(company, 0)
            self.max_running_by_company[company] = max(best, running)
            self.jobs_created += 1
            self.jobs_failed += int(fails)
            submits = self.submits_by_request.get(request_key, 0) + 1
            self.submits_by_request[request_key] = submits
            return submits

    def max_submits(self) -> int:
        """Most jobs created for any one request: 1 means the client never resubmitted."""
        with self._lock:
            return max(self.submits_by_request.values(), default=0)

    def snapshot(self) -> dict[str, object]:
        """Every counter as plain JSON-ready data."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, object]:
        return {
            "requests": dict(self.requests),
            "rejections": dict(self.rejections),
            "submits_by_request": dict(self.submits_by_request),
            "max_submits": self.max_submits(),
            "jobs_created": self.jobs_created,
            "jobs_failed": self.jobs_failed,
            "downloads_redirected": self.downloads_redirected,
            "downloads_direct": self.downloads_direct,
            "downloads_gzipped": self.downloads_gzipped,
            "downloads_completed": self.downloads_completed,
            "downloads_cut": self.downloads_cut,
            "expired_urls_issued": self.expired_urls_issued,
            "credential_leaks": self.credential_leaks,
            "basic_credential_leaks": self.basic_credential_leaks,
            "running_now": self.running_now,
            "max_running": self.max_running,
            "max_running_by_company": dict(self.max_running_by_company),
        }

    def __repr__(self) -> str:
        return (
            f"Counters(jobs_created={self.jobs_created}, running_now={self.running_now}, "
            f"max_running={self.max_running}, max_submits={self.max_submits()}, "
            f"credential_leaks={self.credential_leaks})"
        )
