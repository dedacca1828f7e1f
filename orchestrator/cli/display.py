"""What a person sees while a run goes on: a live display on a terminal, a progress line in logs.

On a terminal, a rich `Live` display redraws one frame in place: the counts table (as wide as the
terminal allows: boxed, compact, or one stage a line, never a header cut short), a caption with
the volume, budget and time left, and one bar per export of the manifest (its jobs finished of
planned, and its bytes). Log lines go through the display's console, so they print above it
instead of tearing it, and `calm` keeps them to what a person must read there: warnings, errors,
failed exports, and retry notes as sentences. The last frame stays on the screen as the summary.

Without a terminal (containers, CI), an `orchestrator.progress` log event every
`ORCHESTRATOR_PROGRESS_SECONDS` carries the same counts, and the log lines are left as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO, cast

import anyio
import structlog
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.measure import Measurement
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from orchestrator.core.units import describe_bytes, describe_seconds
from orchestrator.run.progress import COLUMNS, ExportTally, Snapshot

_log = structlog.get_logger("orchestrator.progress")
TITLE = "orchestrator run"
MAX_EXPORT_ROWS = 12
"""Bars shown at most; the other exports are summed up in one line below them."""
RETRY_NOTES = frozenset(
    {"orchestrator.request_retry", "orchestrator.download_retry", "orchestrator.poll_failed"}
)
"""Log events that announce a retry: above the display, each reads as one sentence."""
GAVE_UP = ("failed", "timed_out")
UNBOUNDED = 10_000
"""A width no table of the display reaches: to measure one as it would be drawn, uncut."""
BAR_WIDTH = (8, 30)
"""The narrowest and widest bar, a quarter of the terminal in between."""


def render(snapshot: Snapshot, planned: Mapping[str, int] | None = None) -> Frame:
    """One frame of the display; `planned` is the plan's jobs per export, in manifest order."""
    return Frame(snapshot, planned or {})


class Frame:
    """The counts table that fits the terminal, its caption, and one bar per export."""

    def __init__(self, snapshot: Snapshot, planned: Mapping[str, int]) -> None:
        self.snapshot = snapshot
        self.planned = planned

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(TITLE)
        yield _fitted(self.snapshot, console, options)
        yield Text(_caption(self.snapshot))
        if self.planned:
            yield _bars(self.snapshot.exports, self.planned, options.max_width)


def _fitted(snapshot: Snapshot, console: Console, options: ConsoleOptions) -> RenderableType:
    """The boxed table if it fits, else the compact one, else one stage a line."""
    unbounded = options.update_width(UNBOUNDED)  # measured at full size, not clamped
    for table in (_table(snapshot, compact=False), _table(snapshot, compact=True)):
        if Measurement.get(console, unbounded, table).maximum <= options.max_width:
            return table
    return _stages(snapshot)


def _figures(snapshot: Snapshot) -> list[tuple[str, str]]:
    """Each stage's name and count, in the order a job goes through them."""
    counts = [(name, snapshot.counts[name]) for name in COLUMNS]
    return [(name, f"{count:,}") for name, count in [("planned", snapshot.planned), *counts]] + [
        ("reused", f"{snapshot.reused:,}")
    ]


def _table(snapshot: Snapshot, *, compact: bool) -> Table:
    """A column per stage: boxed, or (compact) without borders and with one space between."""
    options: dict[str, Any] = {"box": box.HEAVY_HEAD}
    if compact:
        options = {
            "box": box.SIMPLE_HEAD,
            "show_edge": False,
            "pad_edge": False,
            "padding": 0,
        }
    table = Table(expand=False, **options)
    figures = _figures(snapshot)
    for name, _ in figures:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(*(count for _, count in figures))
    return table


def _stages(snapshot: Snapshot) -> Table:
    """The narrowest form: one stage a line."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for name, count in _figures(snapshot):
        table.add_row(name, count)
    return table


def _caption(snapshot: Snapshot) -> str:
    left = (
        "time left: estimating"
        if snapshot.seconds_left is None
        else (f"about {describe_seconds(snapshot.seconds_left)} left")
    )
    return (
        f"{snapshot.finished + snapshot.reused:,} of {snapshot.planned:,} finished · "
        f"{describe_bytes(snapshot.bytes)} · budget {snapshot.requests_in_last_minute}/"
        f"{snapshot.requests_per_minute:g} a minute · {snapshot.requests:,} requests "
        f"({snapshot.retries:,} retried, {snapshot.throttled:,} throttled) · "
        f"elapsed {describe_seconds(snapshot.elapsed)} · {left}{_server_counts(snapshot)}"
    )


def _server_counts(snapshot: Snapshot) -> str:
    """What the running exports' statuses count (currentCount of totalCount), when they do."""
    current, total = snapshot.server_current, snapshot.server_total
    if current is None and total is None:
        return ""
    shown = f"{current:,}" if current is not None else "?"
    return f" · the server counts {shown}" + (f" of {total:,}" if total is not None else "")


def _bars(tallies: Mapping[str, ExportTally], planned: Mapping[str, int], width: int) -> Group:
    """One bar per export, those still under way first; past MAX_EXPORT_ROWS, one line sums up
    the others."""
    rows = []
    for name, jobs in planned.items():
        tally = tallies.get(name, ExportTally())
        rows.append((name, jobs + tally.pieces, tally))
    rows.sort(key=lambda row: row[2].finished >= row[1])  # stable: manifest order kept
    grid = Table.grid(padding=(0, 1))
    bar_width = min(max(width // 4, BAR_WIDTH[0]), BAR_WIDTH[1])
    grid.add_column(no_wrap=True, overflow="ellipsis", max_width=max(width // 4, 8))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, overflow="ellipsis")
    for name, total, tally in rows[:MAX_EXPORT_ROWS]:
        bar = ProgressBar(total=max(total, 1), completed=tally.finished, width=bar_width)
        grid.add_row(name, bar, _export_figures(tally, total))
    shown: list[RenderableType] = [grid]
    rest = rows[MAX_EXPORT_ROWS:]
    if rest:
        finished = sum(tally.finished for _, _, tally in rest)
        total = sum(total for _, total, _ in rest)
        shown.append(Text(f"… and {len(rest):,} more exports: {finished:,} of {total:,} jobs"))
    return Group(*shown)


def _export_figures(tally: ExportTally, total: int) -> str:
    failed = f" · {tally.failed:,} failed" if tally.failed else ""
    return f"{tally.finished:,} of {total:,} · {describe_bytes(tally.bytes)}{failed}"


class LiveDisplay:
    """The live frame, redrawn `per_second` times a second on `console`; `planned` is the
    plan's jobs per export, for its bars."""

    def __init__(
        self,
        console: Console,
        *,
        per_second: float = 4.0,
        planned: Mapping[str, int] | None = None,
    ) -> None:
        self.console = console
        self._per_second = per_second
        self._planned = dict(planned or {})
        self._live: Live | None = None

    @contextmanager
    def showing(self) -> Iterator[TextIO]:
        """Start the display; yields the stream that log lines must go to while it shows."""
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        with self._live:
            yield cast(TextIO, _ConsoleStream(self.console))
        self._live = None

    async def __call__(self, snapshot: Callable[[], Snapshot]) -> None:
        try:
            while True:
                self._draw(snapshot())
                await anyio.sleep(1 / self._per_second)
        finally:
            self._draw(snapshot())  # the last frame stays behind as the run's summary

    def _draw(self, frame: Snapshot) -> None:
        if self._live is not None:
            self._live.update(render(frame, self._planned), refresh=True)


def calm(level: str) -> None:
    """Keep the log lines above the live display to what a person must read (see CalmTerminal);
    at `debug` every line passes, as asked. Call it after the logs are set up for the display."""
    if level == "debug":
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(CalmTerminal())


class CalmTerminal(logging.Filter):
    """Lets through warnings, errors, failed exports (a line whose status or state is failed or
    timed_out, at any level) and retry notes, each rewritten as one sentence; the per-job info
    lines stay out, the display shows their sum. Only ever on the display's handler: JSON logs
    are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        event = record.msg if isinstance(record.msg, dict) else None
        if event is None:  # a stdlib logger's line (aiohttp, ...)
            return record.levelno >= logging.WARNING
        if event.get("event") in RETRY_NOTES:
            record.msg = retry_note(event)
            return True
        gave_up = event.get("status") in GAVE_UP or event.get("state") in GAVE_UP
        return record.levelno >= logging.WARNING or gave_up


def retry_note(event: Mapping[str, Any]) -> dict[str, Any]:
    """A retry's log event as one sentence (`conversations 2024-03-09 00:00: download cut after
    552 of 1,105 bytes; retrying`), with its time, level and job key."""
    name, error = event.get("event"), event.get("error")
    if name == "orchestrator.request_retry":
        sentence = str(event.get("message") or f"{event.get('kind')} request failed ({error})")
    else:
        again = "retrying" if name == "orchestrator.download_retry" else "asking again"
        sentence = f"{error}; {again}"
    where = " ".join(str(part) for part in (event.get("export"), _when(event)) if part)
    kept = {key: event[key] for key in ("timestamp", "level", "job") if key in event}
    return {**kept, "event": f"{where}: {sentence}" if where else sentence}


def _when(event: Mapping[str, Any]) -> str | None:
    """`2024-03-09 00:00` from the job's ISO window start, as the summary writes it."""
    window = event.get("window")
    return str(window)[:16].replace("T", " ") if window else None


class ProgressLog:
    """An `orchestrator.progress` log event every `seconds`, and one at the end."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def __call__(self, snapshot: Callable[[], Snapshot]) -> None:
        try:
            while True:
                await anyio.sleep(self._seconds)
                _log.info("orchestrator.progress", **snapshot().fields())
        finally:
            _log.info("orchestrator.progress", **snapshot().fields())


class _ConsoleStream:
    """A text stream for the log handler that prints through the live console."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def write(self, text: str) -> int:
        self._console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True
