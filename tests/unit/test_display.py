"""The progress a person sees: the live table rendered to a fake terminal, and the log event."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import structlog
from rich.console import Console

from orchestrator.cli.display import LiveDisplay, ProgressLog, calm, render, retry_note
from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job, Window
from orchestrator.core.lifecycle import Failed, Fetch, SplitUp, Stored
from orchestrator.core.stored import StoredFile
from orchestrator.edges.logs import configure_logging
from orchestrator.run.progress import COLUMNS, RunProgress, Snapshot

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


# ----------------------------------------------------------------------------- a calmer terminal


def shown_at(width: int, frame: object) -> str:
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=width, color_system=None).print(frame)
    return screen.getvalue()


def test_every_header_shows_whole_in_an_80_column_terminal() -> None:
    """At 80 columns (and narrower) no header is cut: each stage's name appears in full, with
    its count, and nothing is elided."""
    for width in (80, 60):
        frame = shown_at(width, render(SNAPSHOT))
        assert "…" not in frame
        for name in ("planned", *COLUMNS, "reused"):
            assert name in frame, (width, name)
        assert max(len(line.rstrip()) for line in frame.splitlines()) <= width


def job_of(export: str, day: int) -> Job:
    start = datetime(2024, 1, day, tzinfo=UTC)
    window = Window(start, start + timedelta(days=1))
    return Job(
        export_name=export,
        export_id="conversation",
        source="care",
        format="csv",
        locale="en",
        method="GET",
        window=window,
    )


def test_each_export_has_a_bar_of_its_jobs_done_of_planned_and_its_bytes() -> None:
    """Jobs finished (reused ones too) of those planned, split pieces added to the plan, bytes
    written and failures, per export of the manifest, fed by the run's progress."""
    progress = RunProgress(5, clock=lambda: 0.0)
    fetch = Fetch(1, RunIds("w", "r", "u"), "https://d")
    for day, size in ((1, 2048), (2, 1024)):
        progress.changed(job_of("conversations", day), fetch)
        stored = StoredFile(f"c{day}.csv", size, "0" * 64, 1)
        progress.changed(job_of("conversations", day), Stored(1, None, stored))
    progress.was_reused(job_of("agents", 1))
    parent = job_of("agents", 2)
    progress.changed(parent, SplitUp(3, "failed", (parent.window, parent.window)))
    piece = replace(
        parent,
        parent_key=parent.key,
        window=Window(parent.window.start, parent.window.start + timedelta(hours=12)),
    )
    progress.changed(piece, Failed(3, "server said FAILED"))
    snapshot = progress.snapshot(
        requests=9, requests_in_last_minute=9, requests_per_minute=20, in_flight=4, elapsed=5
    )
    frame = shown_at(100, render(snapshot, {"conversations": 3, "agents": 2}))
    assert "2 of 3 · 3.0 KiB" in frame
    assert "3 of 3 · 0 B · 1 failed" in frame  # the reused file, the split and its failed piece
    assert frame.index("conversations") < frame.index("agents")  # under way first
    assert "orchestrator run" in frame and "of 6 finished" in frame


def test_past_a_dozen_exports_the_rest_are_summed_up_in_one_line() -> None:
    """Twenty exports show twelve bars and one line for the other eight, whole exports first."""
    planned = {f"export-{number:02d}": 2 for number in range(20)}
    frame = shown_at(120, render(SNAPSHOT, planned))
    assert sum(f"export-{n:02d}" in frame for n in range(20)) == 12
    assert "… and 8 more exports: 0 of 16 jobs" in frame


def log_lines(level: str) -> list[str]:
    """What the fake terminal shows above the display after a run's kinds of log line."""
    console, screen = terminal()
    with LiveDisplay(console).showing() as stream:
        configure_logging(log_format="console", level=level, stream=stream)
        calm(level)
        log = structlog.get_logger("test").bind(export="conversations", job="0123456789abcdef")
        log.info("orchestrator.job_state", state="submitted", window="2024-03-09T00:00:00-06:00")
        log.debug("orchestrator.request_retry", kind="status", error="answered 503")
        log.info("orchestrator.job_finished", status="downloaded", rows=10)
        log.info("orchestrator.job_finished", status="failed", error="server said FAILED")
        log.warning("orchestrator.job_split", pieces=["a", "b"])
        log.info(
            "orchestrator.download_retry",
            window="2024-03-09T00:00:00-06:00",
            error="download cut after 552 of 1,105 bytes (from object storage)",
        )
        logging.getLogger("aiohttp.access").info("GET /status 200")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).splitlines()  # no colours


def test_above_the_display_only_warnings_failures_and_retry_notes_as_sentences() -> None:
    """On a terminal at the default level, the per-job info lines stay out; warnings, a failed
    export and a retry note (one sentence, library fields gone) print above the display."""
    shown = "\n".join(log_lines("info"))
    assert "job_state" not in shown and "GET /status" not in shown
    assert "status=downloaded" not in shown
    assert "status=failed" in shown and "orchestrator.job_split" in shown
    note = "conversations 2024-03-09 00:00: download cut after 552 of 1,105 bytes (from object storage); retrying"
    [line] = [line for line in shown.splitlines() if "retrying" in line]
    assert note in line and "error=" not in line and "window=" not in line


def test_at_debug_every_line_shows_above_the_display() -> None:
    """`--log-level debug` asks for everything: nothing is held back."""
    shown = "\n".join(log_lines("debug"))
    assert "orchestrator.job_state" in shown and "status=downloaded" in shown
    assert "GET /status 200" in shown


def test_a_request_retry_reads_as_its_sentence() -> None:
    """A request's retry note is the client's own sentence, placed at its job."""
    note = retry_note(
        {
            "event": "orchestrator.request_retry",
            "level": "info",
            "message": "status request failed 2 times (answered 503); try 3 of 8 in 0.5 s",
            "error": "status https://h/x answered 503",
            "export": "conversations",
        }
    )
    assert note == {
        "level": "info",
        "event": "conversations: status request failed 2 times (answered 503); try 3 of 8 in 0.5 s",
    }
