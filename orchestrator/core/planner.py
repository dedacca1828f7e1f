"""The planner: a resolved manifest and a run date in, every job of the run out.

Jobs come in a fixed order (export in manifest order, then window start, then filter set), each
with a key stable across runs. The job ceiling is checked by counting windows exactly before any
job is built (see `windows.count_windows`), so a range of a thousand years fails fast instead of
filling memory, and a plan of exactly the ceiling passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from orchestrator.core.dates import add_months, local_midnight, resolve_date
from orchestrator.core.jobs import Job, Window
from orchestrator.core.manifest import Manifest, Problem, ResolvedExport
from orchestrator.core.windows import count_windows, tile
from orchestrator.errors import ManifestError

MAX_JOBS = 100_000
"""The default job ceiling; the `max_jobs` setting (ORCHESTRATOR_MAX_JOBS) takes it as default."""
MAX_WINDOW = timedelta(days=90)
"""Second-hand: the API serves at most 90 days per request."""
HISTORY_MONTHS = 18
"""Second-hand: the API keeps about 18 months of data."""


@dataclass(frozen=True, slots=True)
class ExportTotals:
    """One export's share of the plan, for the run summary."""

    name: str
    windows: int
    jobs: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Every job of the run in order, what deserves a warning, and counts for the summary."""

    jobs: tuple[Job, ...]
    warnings: tuple[str, ...]
    windows_count: int
    totals: tuple[ExportTotals, ...]


@dataclass(frozen=True, slots=True)
class _Range:
    export: ResolvedExport
    start: datetime
    end: datetime


def plan(
    manifest: Manifest, *, as_of: date, max_jobs: int = MAX_JOBS, now: datetime | None = None
) -> Plan:
    """Expand the manifest into jobs for the run date `as_of`; ManifestError if it cannot be run.

    Given the aware instant `now`, windows that have not ended by then are warned about.
    """
    ranges = _resolve_ranges(manifest, as_of)
    _check_ceiling(ranges, max_jobs)
    _check_epoch(ranges)
    jobs: list[Job] = []
    warnings: list[str] = [str(warning) for warning in manifest.warnings]
    totals: list[ExportTotals] = []
    for item in ranges:
        windows = list(_tile(item))
        jobs.extend(_jobs(item.export, windows))
        warnings.extend(_warnings(item, windows, manifest, as_of))
        if now is not None:
            warnings.extend(_open_warning(item, windows, now))
        count = len(windows) * len(item.export.filter_sets)
        totals.append(ExportTotals(item.export.name, len(windows), count))
    _check_unique(jobs, manifest)
    return Plan(tuple(jobs), tuple(warnings), sum(t.windows for t in totals), tuple(totals))


def _resolve_ranges(manifest: Manifest, as_of: date) -> list[_Range]:
    """Every export's range as instants; empty or unrepresentable ones are located problems."""
    ranges: list[_Range] = []
    problems: list[Problem] = []
    for export in manifest.exports:
        try:
            ranges.append(_resolve_range(manifest, export, as_of))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(problems)
    return ranges


def _resolve_range(manifest: Manifest, export: ResolvedExport, as_of: date) -> _Range:
    try:
        start = resolve_date(export.start, as_of=as_of, zone=manifest.timezone)
        end = resolve_date(export.end, as_of=as_of, zone=manifest.timezone)
    except ValueError as exc:
        raise _error(export, "range", str(exc)) from None
    if end.timestamp() <= start.timestamp():
        message = (
            f"end {export.end} ({end.isoformat()}) is not after start {export.start} "
            f"({start.isoformat()}) as of {as_of}: the range is [start, end)"
        )
        raise _error(export, "range", message)
    return _Range(export, start, end)


def _tile(item: _Range) -> Iterator[Window]:
    """The range's windows; dates beyond what Python can represent are refused."""
    try:
        yield from tile(item.start, item.end, item.export.window)
    except (OverflowError, ValueError) as exc:
        raise _error(item.export, "range", f"cannot cut into windows: {exc}") from None


def count_jobs(manifest: Manifest, *, as_of: date) -> int:
    """How many jobs `plan` builds for the run date, counted without building one."""
    return sum(_count(item, None) for item in _resolve_ranges(manifest, as_of))


def _check_ceiling(ranges: list[_Range], max_jobs: int) -> None:
    """Refuse a plan of more than `max_jobs` jobs, counted exactly, export by export."""
    total = 0
    for item in ranges:
        total += _count(item, max_jobs - total)
        if total > max_jobs:
            message = (
                f"the plan has more than {max_jobs:,} jobs (windows x filter sets, counted up to "
                "this export): shorten the range, lengthen the window, or raise the job ceiling "
                "(--max-jobs or ORCHESTRATOR_MAX_JOBS)"
            )
            raise _error(item.export, "", message)


def _count(item: _Range, limit: int | None) -> int:
    """The export's jobs; once they are known to be over `limit`, the count may stop early."""
    per_window = len(item.export.filter_sets)
    if per_window == 0:
        return 0
    windows_limit = None if limit is None else max(limit, 0) // per_window
    try:
        windows = count_windows(item.start, item.end, item.export.window, limit=windows_limit)
    except (OverflowError, ValueError) as exc:
        raise _error(item.export, "range", f"cannot cut into windows: {exc}") from None
    return windows * per_window


def _check_epoch(ranges: list[_Range]) -> None:
    """The API takes window bounds as milliseconds since 1970: no range may start before it."""
    problems: list[Problem] = []
    for item in ranges:
        if item.start.timestamp() < 0:
            message = (
                f"starts {item.start.isoformat()}, before 1970-01-01T00:00Z: the API takes times "
                "as milliseconds since then; start the range on or after it"
            )
            problems.extend(_error(item.export, "range.start", message).problems)
    if problems:
        raise ManifestError(problems)


def _jobs(export: ResolvedExport, windows: list[Window]) -> list[Job]:
    return [
        Job(
            export_name=export.name,
            export_id=export.export_id,
            source=export.source,
            format=export.format,
            locale=export.locale,
            method=export.method,
            window=window,
            columns=export.columns,
            filter_label=filter_set.label,
            filter_params=filter_set.params,
        )
        for window in windows
        for filter_set in export.filter_sets
    ]


def _warnings(item: _Range, windows: list[Window], manifest: Manifest, as_of: date) -> list[str]:
    """Plans the API may refuse: windows over 90 days, data older than it keeps."""
    export, found = item.export, []
    where = f"{export.location}: {export.field}"
    longest = max(_calendar_length(window) for window in windows)
    if longest > MAX_WINDOW:
        found.append(
            f"{where}.window: windows of {export.window} reach {longest.days} days; "
            f"the API serves at most {MAX_WINDOW.days} days per request"
        )
    try:
        oldest = local_midnight(add_months(as_of, -HISTORY_MONTHS), manifest.timezone)
    except (OverflowError, ValueError):
        return found  # a run date in the first months of year 1 has no history to warn about
    if item.start.timestamp() < oldest.timestamp():
        found.append(
            f"{where}.range: starts {item.start.date()}, more than {HISTORY_MONTHS} months before "
            f"{as_of}; the API keeps about {HISTORY_MONTHS} months of data"
        )
    return found


def _open_warning(item: _Range, windows: list[Window], now: datetime) -> list[str]:
    """A range reaching past `now`: name the first window that has not ended, and how many do."""
    still_open = [window for window in windows if window.open_at(now)]
    if not still_open:
        return []
    first, export = still_open[0], item.export
    more = f", nor have the {len(still_open) - 1} after it" if len(still_open) > 1 else ""
    return [
        f"{export.location}: {export.field}.range: export {export.name!r}: the window "
        f"{first.start.isoformat()} to {first.end.isoformat()} has not ended yet{more} "
        f"(now is {now.astimezone(first.end.tzinfo).isoformat(timespec='seconds')}); "
        "its data is incomplete until the window ends"
    ]


def _calendar_length(window: Window) -> timedelta:
    """Length by the local calendar, so a 90-day window across a DST change is 90 days."""
    return window.end.replace(tzinfo=None) - window.start.replace(tzinfo=None)


def _check_unique(jobs: list[Job], manifest: Manifest) -> None:
    """Keys must identify jobs; the manifest already refuses the duplicates that could collide."""
    seen: dict[str, Job] = {}
    for job in jobs:
        other = seen.setdefault(job.key, job)
        if other is not job:
            export = next(e for e in manifest.exports if e.name == job.export_name)
            message = f"duplicate filter set: two jobs share the key {job.key}"
            raise _error(export, "filters", message)


def _error(export: ResolvedExport, field: str, message: str) -> ManifestError:
    dotted = f"{export.field}.{field}" if field else export.field
    return ManifestError([Problem(export.location, dotted, f"export {export.name!r}: {message}")])
