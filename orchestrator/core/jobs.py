"""What one export job is: a request to the API for one window, with a key stable across runs.

Pure values only. The planner builds them from the manifest; everything downstream (client, runner,
journal, output layout) reads them and never changes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

Source = Literal["care", "publishing"]
ReportFormat = Literal["csv", "json"]
Method = Literal["GET", "POST"]

CARE_PATH = "/api/public/reports/report/{export_id}"
"""The create endpoint of Care exports (the quick start's prose doubles `report/`: a typo)."""
PUBLISHING_PATH = "/api/public/reports/report/marketing/{export_id}"
KEY_LENGTH = 16
"""Hex digits of the sha256 kept as a job key: 64 bits, collision-free for any realistic run."""


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval [start, end) of aware datetimes in the manifest's zone.

    Python compares and subtracts datetimes that share a tzinfo by wall clock, ignoring `fold`
    (a 23-hour DST day would measure 24 hours), so every comparison and sum here is done in UTC.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.start.astimezone(UTC) >= self.end.astimezone(UTC):
            raise ValueError(f"window start {self.start} is not before end {self.end}")

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return epoch_ms(self.end)

    @property
    def length(self) -> timedelta:
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    def open_at(self, now: datetime) -> bool:
        """Whether the window has not ended at the aware instant `now`: its data is not final yet."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return self.end.astimezone(UTC) > now.astimezone(UTC)

    def split(self) -> tuple[Window, Window]:
        """Halve by elapsed time (whole seconds), keeping the zone; the halves tile the window."""
        half = timedelta(seconds=int(self.length.total_seconds()) // 2)
        middle = (self.start.astimezone(UTC) + half).astimezone(self.start.tzinfo)
        return Window(self.start, middle), Window(middle, self.end)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, the unit of the API's startTime and endTime."""
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One export request for one window. `key` identifies it across runs: computed from the
    fields that define the request's result, never given.

    `filter_params` are the wire pairs the filters become (lists already joined or repeated as the
    API expects), in a stable order; `columns` empty means every column.
    """

    export_name: str
    export_id: str
    source: Source
    format: ReportFormat
    locale: str
    method: Method
    window: Window
    columns: tuple[str, ...] = ()
    filter_label: str | None = None
    filter_params: tuple[tuple[str, str], ...] = ()
    parent_key: str | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", job_key(self))

    def request_params(self) -> list[tuple[str, str]]:
        """Every parameter of the create request except `companyKey`, which the client adds."""
        params = [
            ("startTime", str(self.window.start_ms)),
            ("endTime", str(self.window.end_ms)),
            ("reportFormat", self.format),
            ("locale", self.locale),
        ]
        params.extend(("reportMetrics", column) for column in self.columns)
        params.extend(self.filter_params)
        return params

    def piece(self, window: Window) -> Job:
        """The same request over a part of this job's window, as its own job with its own key."""
        return replace(self, window=window, parent_key=self.key)


def job_key(job: Job) -> str:
    """A hash of everything that defines the request's result, so it is stable across runs.

    The HTTP method and the filter label change neither the request's meaning nor its data, so
    they are left out; the export name is kept so two exports of one id never share a key.
    """
    canonical = json.dumps(
        [
            job.export_name,
            job.export_id,
            job.source,
            job.format,
            job.locale,
            job.window.start_ms,
            job.window.end_ms,
            list(job.columns),
            [list(pair) for pair in job.filter_params],
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]
