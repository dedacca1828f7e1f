"""The fake's knobs: credentials, job timing, limits, injected faults and answer forms.

Frozen values, checked on construction, so a benchmark or test states its whole scenario in one
place. Every probability is drawn per request from one `random.Random(seed)`, so a run is repeatable
as far as the order of requests is. A knob at zero draws nothing, so turning one on does not shift
the draws of the others when they are off. Every answer form is off by default.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .content import DEFAULT_ROWS_PER_DAY, EmptyForm, expected_file
from .params import Params


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Job seconds drawn from a lognormal distribution: half the jobs run less than `median`."""

    median: float
    sigma: float

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)


Duration = float | tuple[float, float] | LogNormal
"""Seconds a job runs: a fixed value, a (min, max) range drawn uniformly, or a lognormal."""

MAX_REDIRECT_HOPS = 4
"""Extra hops before the storage object: with the API's own redirect, at most 5 in total."""


def parse_duration(text: str) -> Duration:
    """`S`, `MIN:MAX` or `lognormal:MEDIAN:SIGMA` as a Duration; ValueError says what is wrong."""
    parts = text.split(":")
    try:
        if parts[0] == "lognormal" and len(parts) == 3:
            duration: Duration = LogNormal(float(parts[1]), float(parts[2]))
        elif len(parts) == 2:
            duration = (float(parts[0]), float(parts[1]))
        elif len(parts) == 1:
            duration = float(parts[0])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not SECONDS, MIN:MAX or lognormal:MEDIAN:SIGMA") from None
    _check_duration("job seconds", duration)
    return duration


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"fault {name} must be a probability in [0, 1], got {value}")


def _check_duration(name: str, value: Duration) -> None:
    if isinstance(value, LogNormal):
        if not (value.median > 0 and value.sigma >= 0 and math.isfinite(value.median)):
            raise ValueError(f"{name} must have a median > 0 and a sigma >= 0, got {value!r}")
        return
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
    "direct_download",
    "gzip_storage",
    "ids_only_creates",
)
_COUNTS = (
    "retry_after_seconds",
    "fail_first_submits",
    "redirect_hops",
    "late_url_polls",
    "unknown_state_polls",
    "closed_empty_detail_polls",
)


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often: probabilities per request, plus deterministic failures.

    The second group are answer forms the quick start allows (its client is `curl -L`) that a
    client must take in its stride; they are not errors, and all are off by default.
    """

    rate_limit: float = 0.0
    """Any API request answers 429 with `Retry-After: retry_after_seconds`."""
    server_error: float = 0.0
    """Any API request answers 500, 502 or 503 with an HTML body, like a proxy in front."""
    job_failure: float = 0.0
    """A created job ends CLOSED/FAILED instead of COMPLETED."""
    cut_download: float = 0.0
    """A file body (from storage or direct) sends Content-Length, then stops halfway."""
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

    direct_download: float = 0.0
    """The download endpoint answers 200 with the file itself (streamed) instead of a 307."""
    redirect_hops: int = 0
    """The download's redirect goes through this many extra hops (0-4) before the storage object:
    odd hops on the API origin, even ones on the storage origin; none needs credentials, and one
    that receives an Authorization header after the chain left the API origin counts a leak."""
    late_url_polls: int = 0
    """A COMPLETED job answers an empty downloadUrl for its first K status polls after it finished."""
    gzip_storage: float = 0.0
    """Storage sends the body with `Content-Encoding: gzip` whatever the request accepted;
    Content-Length is the length of the compressed bytes."""
    access_tokens: bool = False
    """Every statusUrl and downloadUrl carries the job's analyticsAccessToken instead of the
    companyKey, and a status or download request that carries a companyKey is refused with 403.
    Off: the create answer's statusUrl carries the companyKey and either one is accepted."""
    missing_exports: frozenset[str] = frozenset()
    """Export ids whose create answers 404 (a wrong path, or an export the account lacks)."""
    refused_exports: frozenset[str] = frozenset()
    """Export ids whose create answers 403 (Publishing not enabled for the account, say)."""
    unknown_state_polls: int = 0
    """A job's first K status polls answer runnerState QUEUED, a state no client knows, with an
    empty detail, whether or not the job has finished by then."""
    closed_empty_detail_polls: int = 0
    """After a job finished, its first K status polls answer CLOSED with an empty detail."""
    empty_exports: frozenset[str] = frozenset()
    """Export ids whose files are empty: `[]` for JSON, and for CSV as `empty_form` says."""
    empty_form: EmptyForm = "header"
    """An empty CSV is its header line alone ("header") or a 0-byte body ("zero")."""
    echo_credentials: bool = False
    """A FAILED job's `reason` repeats the credentials of the request that created it (the
    Authorization value, the Basic token, the companyKey and the password), each as sent and
    percent-encoded, as a careless server that echoes its request into error text does."""
    ids_only_creates: float = 0.0
    """A create of a report type the vendor's generic endpoint serves answers `{workflowId,
    runId}` alone, with no statusUrl or downloadUrl, as that endpoint does (API-CATALOG.md §4.2)."""
    early_download_url: bool = False
    """The `user` export's create answer carries its downloadUrl at once, as the vendor's example
    does (API-CATALOG.md §6 surprise 10); fetched before the export is ready, it answers 409."""

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            _check_probability(name, getattr(self, name))
        for name in _COUNTS:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.redirect_hops > MAX_REDIRECT_HOPS:
            raise ValueError(
                f"redirect_hops must be at most {MAX_REDIRECT_HOPS} (5 hops in all), "
                f"got {self.redirect_hops}"
            )
        if self.empty_form not in ("header", "zero"):
            raise ValueError(f"empty_form must be 'header' or 'zero', got {self.empty_form!r}")

    def empty_form_for(self, export_id: str) -> EmptyForm | None:
        """How the files of `export_id` are emptied, or None when they carry their rows."""
        return self.empty_form if export_id in self.empty_exports else None


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
        """Seconds the next job of `export_id` runs; a range or lognormal is drawn from `rng`."""
        duration = self.job_duration_by_export.get(export_id, self.job_duration)
        if isinstance(duration, LogNormal):
            return duration.draw(rng)
        if isinstance(duration, tuple):
            return rng.uniform(*duration)
        return float(duration)

    def expected_file(
        self, export_id: str, params: Params, report_format: Literal["csv", "json"] | None = None
    ) -> bytes:
        """The file this fake serves for a job created with `params`, empty_exports included."""
        return expected_file(
            export_id,
            params,
            report_format,
            rows_per_day=self.rows_per_day,
            empty=self.faults.empty_form_for(export_id),
        )
