"""The progress a person sees: the live table rendered to a fake terminal, and the log event."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import anyio
import pytest
import structlog
from rich.console import Console

from orchestrator.cli.display import LiveDisplay, ProgressLog, render
from orchestrator.edges.logs import configure_logging
from orchestrator.run.progress import COLUMNS, Snapshot

SNAPSHOT = Snapshot(
    planned=290,
    counts={**dict.fromkeys(COLUMNS, 0), "waiting": 150, "running": 18, "done": 120, "failed": 2},
    reused=0,
    bytes=3 * 1024 * 1024,
    requests=400,
    retries=12,
    throttled=5,
    requests_in_last_minute=19,
    requests_per_minute=20,
    elapsed=600,
    seconds_left=4200,
)


def terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=160, color_system=None), screen


def test_the_table_shows_every_stage_the_budget_and_the_time_left() -> None:
    """One frame names each stage with its count, the volume, the budget in use and the time
    left, and says how many of the planned jobs are finished."""
    console, screen = terminal()
    console.print(render(SNAPSHOT))
    frame = screen.getvalue()
    for name in ("planned", *COLUMNS, "reused"):
        assert name in frame
    assert "122 of 290 finished" in frame
    assert "budget 19/20 a minute" in frame
    assert "3.0 MiB" in frame
    assert "5 throttled" in frame
    assert "about 1 h 10 min left" in frame


@pytest.mark.anyio
async def test_the_live_display_redraws_and_leaves_the_last_frame_with_logs_above() -> None:
    """On a (fake) terminal the display redraws in place, log lines print through its console,
    and the final frame, with the final counts, stays behind."""
    console, screen = terminal()
    display = LiveDisplay(console, per_second=50)
    done = [0]

    with display.showing() as stream, anyio.fail_after(5), anyio.CancelScope() as run:

        def snapshot() -> Snapshot:
            done[0] += 1
            if done[0] == 5:
                run.cancel()  # the run ends after five frames
            return replace(SNAPSHOT, counts={**SNAPSHOT.counts, "done": done[0]})

        configure_logging(log_format="console", stream=stream)
        structlog.get_logger("test").info("orchestrator.something_happened")
        await display(snapshot)
    shown = screen.getvalue()
    assert done[0] == 6  # five frames, then the last one drawn as the run ended
    assert shown.count("orchestrator run") >= 5  # redrawn in place, frame after frame
    assert shown.index("orchestrator.something_happened") < shown.rindex("orchestrator run")
    assert f"{done[0] + 2} of 290 finished" in shown.split("orchestrator run")[-1]


@pytest.mark.anyio
async def test_without_a_terminal_progress_is_a_json_event_at_a_steady_rate() -> None:
    """In JSON mode, an `orchestrator.progress` event every interval (and one at the end), with
    the counts and the estimate; never more often than asked."""
    stream = io.StringIO()
    configure_logging(log_format="json", stream=stream)
    with anyio.fail_after(5), anyio.move_on_after(0.25):
        await ProgressLog(0.05)(lambda: SNAPSHOT)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    progress = [e for e in events if e["event"] == "orchestrator.progress"]
    assert 2 <= len(progress) <= 0.25 / 0.05 + 1
    last = progress[-1]
    assert (last["planned"], last["done"], last["waiting"], last["seconds_left"]) == (
        290,
        120,
        150,
        4200,
    )
    assert last["budget_used"] == "19/20" and last["throttled"] == 5
