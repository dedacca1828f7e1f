"""What a person sees while a run goes on: a live table on a terminal, a progress line in logs.

On a terminal, a rich `Live` display redraws one table in place; log lines go through its console
(so they print above the table instead of tearing it) and the last frame stays on the screen as the
summary. Without a terminal (containers, CI), an `orchestrator.progress` log event every
`ORCHESTRATOR_PROGRESS_SECONDS` carries the same counts: a rate, never a flood.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO, cast

import anyio
import structlog
from rich.console import Console
from rich.live import Live
from rich.table import Table

from orchestrator.core.units import describe_bytes, describe_seconds
from orchestrator.run.progress import COLUMNS, Snapshot

_log = structlog.get_logger("orchestrator.progress")


def render(snapshot: Snapshot) -> Table:
    """One table: a column per stage, the volume, the budget and the time left."""
    table = Table(title="orchestrator run", title_justify="left", expand=False)
    table.add_column("planned", justify="right")
    for name in COLUMNS:
        table.add_column(name, justify="right")
    table.add_column("reused", justify="right")
    table.add_row(
        f"{snapshot.planned:,}",
        *(f"{snapshot.counts[name]:,}" for name in COLUMNS),
        f"{snapshot.reused:,}",
    )
    left = (
        "time left: estimating"
        if snapshot.seconds_left is None
        else (f"about {describe_seconds(snapshot.seconds_left)} left")
    )
    table.caption = (
        f"{snapshot.finished + snapshot.reused:,} of {snapshot.planned:,} finished · "
        f"{describe_bytes(snapshot.bytes)} · budget {snapshot.requests_in_last_minute}/"
        f"{snapshot.requests_per_minute:g} a minute · {snapshot.requests:,} requests "
        f"({snapshot.retries:,} retried, {snapshot.throttled:,} throttled) · "
        f"elapsed {describe_seconds(snapshot.elapsed)} · {left}{_server_counts(snapshot)}"
    )
    table.caption_justify = "left"
    return table


def _server_counts(snapshot: Snapshot) -> str:
    """What the running exports' statuses count (currentCount of totalCount), when they do."""
    current, total = snapshot.server_current, snapshot.server_total
    if current is None and total is None:
        return ""
    shown = f"{current:,}" if current is not None else "?"
    return f" · the server counts {shown}" + (f" of {total:,}" if total is not None else "")


class LiveDisplay:
    """The live table, redrawn `per_second` times a second on `console`."""

    def __init__(self, console: Console, *, per_second: float = 4.0) -> None:
        self.console = console
        self._per_second = per_second
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
            self._live.update(render(frame), refresh=True)


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
