"""A status's currentCount and totalCount, from the answer to what a person sees: parsed, kept
while the export runs, summed over the running exports, shown in the live table and the event."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console

from orchestrator.cli.display import render
from orchestrator.core.envelope import RunIds, parse_status
from orchestrator.core.jobs import Job, Window
from orchestrator.core.lifecycle import Policies, Poll, StatusSeen, advance
from orchestrator.run.progress import RunProgress
from tests.unit.test_display import SNAPSHOT

DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
IDS = RunIds("wf", "run", "https://api/status?companyKey=k")


def status(current: object, total: object) -> object:
    state = {"runnerState": "RUNNING", "detail": "", "currentCount": current, "totalCount": total}
    return [{"jobInfo": {"downloadUrl": ""}, "result": state}]


def test_counts_are_read_when_given_and_ignored_when_not_numbers() -> None:
    """Whole numbers are kept; null, text, booleans and negatives read as absent."""
    assert (
        parse_status(status(40, 100)).current_count,
        parse_status(status(40, 100)).total_count,
    ) == (
        40,
        100,
    )
    for odd in (None, "40", True, -1, 2.5):
        report = parse_status(status(odd, odd))
        assert (report.current_count, report.total_count) == (None, None)


def test_a_running_poll_keeps_the_last_counts() -> None:
    """Each status seen while running replaces the counts the polling state holds."""
    seen = StatusSeen(parse_status(status(40, 100)), at=1.0)
    polled = advance(Poll(1, IDS), seen, Policies(), DAY)
    assert isinstance(polled, Poll) and polled.counts == (40, 100)


def test_the_display_and_the_event_show_the_sums_over_running_exports() -> None:
    """Two running exports report 40 of 100 and 5 of 10: 45 of 110 in the caption and the
    progress event; without counts, neither says a word of them."""
    progress = RunProgress(3, clock=lambda: 0.0)
    for number, counts in enumerate([(40, 100), (5, 10), (None, None)]):
        job = Job(
            export_name=f"e{number}",
            export_id="conversation",
            source="care",
            format="csv",
            locale="en",
            method="GET",
            window=DAY,
        )
        progress.changed(job, Poll(1, IDS, polls=1, counts=counts))
    snapshot = progress.snapshot(
        requests=3, requests_in_last_minute=3, requests_per_minute=20, in_flight=8, elapsed=1.0
    )
    assert (snapshot.server_current, snapshot.server_total) == (45, 110)
    assert snapshot.fields()["server_current"] == 45 and snapshot.fields()["server_total"] == 110
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=300, color_system=None).print(render(snapshot))
    assert "the server counts 45 of 110" in screen.getvalue()
    quiet = replace(SNAPSHOT)
    assert "server_current" not in quiet.fields()
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=300, color_system=None).print(render(quiet))
    assert "server counts" not in screen.getvalue()
