"""The fake's knobs: credentials, job timing, limits and injected faults.

Frozen values, checked on construction, so a benchmark or test states its whole scenario in one
place. Every probability is drawn per request from one `random.Random(seed)`, so a run is repeatable
as far as the order of requests is.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from .content import DEFAULT_ROWS_PER_DAY

Duration = float | tuple[float, float]
"""Seconds a job runs: a fixed value, or a (min, max) range drawn uniformly per job."""


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"fault {name} must be a probability in [0, 1], got {value}")


def _check_duration(name: str, value: Duration) -> None:
    low, high = value if isinstance(value, tuple) else (value, value)
    if low < 0 or high < low:
        raise ValueError(f"{name} must be >= 0 seconds (min <= max), got {value!r}")


_PROBABILITIES = (
    "rate_limit",
    "server_error",
    "job_failure",
    "cut_download",
    "expired_url",
    "text_plain",
)


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often: probabilities per request, plus deterministic failures."""

    rate_limit: float = 0.0
    """Any API request answers 429 with `Retry-After: retry_after_seconds`."""
    server_error: float = 0.0
    """Any API request answers 500, 502 or 503 with an HTML body, like a proxy in front."""
    job_failure: float = 0.0
    """A created job ends CLOSED/FAILED instead of COMPLETED."""
    cut_download: float = 0.0
    """Storage sends Content-Length, then closes the connection halfway through the body."""
    expired_url: float = 0.0
    """The download endpoint redirects to a pre-signed URL that has already expired."""
    text_plain: float = 0.0
    """A JSON answer of the API is labelled `text/plain`, as the vendor does for some bodies."""
    retry_after_seconds: int = 1
    fail_first_submits: int = 0
    """The first N jobs created for each distinct request end FAILED (then they succeed)."""
    failing_exports: frozenset[str] = frozenset()
    """Export ids whose jobs always end FAILED."""
    max_window_seconds: float | None = None
    """Jobs whose window is longer than this always end FAILED, as big exports do on the real API."""

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            _check_probability(name, getattr(self, name))
        if self.retry_after_seconds < 0 or self.fail_first_submits < 0:
            raise ValueError("retry_after_seconds and fail_first_submits must be >= 0")


@dataclass(frozen=True, slots=True)
class FakeConfig:
    """Everything that shapes the fake's behaviour; the defaults suit the demo."""

    username: str = "demo"
    password: str = field(default="demo-password", repr=False)
    company_key: str = "demo-company"
    job_duration: Duration = (0.2, 1.0)
    job_duration_by_export: Mapping[str, Duration] = field(default_factory=dict)
    url_ttl_seconds: float = 300.0
    max_running_per_company: int | None = None
    """Creating one more job than this answers 429 "too many running exports"; None: no cap."""
    rows_per_day: int = DEFAULT_ROWS_PER_DAY
    seed: int = 0
    public_host: str = "127.0.0.1"
    """Host written into the URLs the API hands out, with the bound port."""
    public_url: str | None = None
    """Origin of the API in the URLs it hands out, replacing public_host and the bound port."""
    storage_public_url: str | None = None
    """Same override for the object-storage origin of pre-signed URLs."""
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        _check_duration("job_duration", self.job_duration)
        for export_id, duration in self.job_duration_by_export.items():
            _check_duration(f"job_duration_by_export[{export_id!r}]", duration)
        if self.url_ttl_seconds < 0 or self.rows_per_day < 0:
            raise ValueError("url_ttl_seconds and rows_per_day must be >= 0")
        if self.max_running_per_company is not None and self.max_running_per_company < 1:
            raise ValueError("max_running_per_company must be >= 1 or None")

    def duration_for(self, export_id: str, rng: random.Random) -> float:
        """Seconds the next job of `export_id` runs; a range is drawn from `rng`."""
        duration = self.job_duration_by_export.get(export_id, self.job_duration)
        if isinstance(duration, tuple):
            return rng.uniform(*duration)
        return float(duration)
