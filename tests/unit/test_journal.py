"""The journal keeps every job's last state across reopenings and lets readers in while it writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from orchestrator.core.envelope import RunIds
from orchestrator.edges.journal import Journal, read_records
from orchestrator.errors import JournalLocked, JournalUnavailable
from tests.unit.edges import day_job

JOB = day_job("conversations")


@pytest.mark.anyio
async def test_records_survive_a_reopen(tmp_path: Path) -> None:
    """What one run wrote, the next run reads back, with the state history in order."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.open()
    await journal.intend(JOB, attempts=1, uncertain=False)
    await journal.submitted(JOB, RunIds("wf", "r+/=", "https://a/s"))
    journal.close()

    again = Journal(path)
    again.open()
    try:
        record = (await again.load())[JOB.key]
        assert (record.state, record.workflow_id, record.run_id, record.attempts) == (
            "submitted",
            "wf",
            "r+/=",
            1,
        )
        assert [state for state, _, _ in await again.history(JOB.key)] == [
            "submitting",
            "submitted",
        ]
    finally:
        again.close()


@pytest.mark.anyio
async def test_a_second_run_cannot_take_the_lock(tmp_path: Path) -> None:
    """Two runs never share one journal: the second is refused with a clear message."""
    first = Journal(tmp_path / "journal.sqlite")
    first.open()
    try:
        with pytest.raises(JournalLocked, match="another orchestrator run"):
            Journal(tmp_path / "journal.sqlite").open()
    finally:
        first.close()
    second = Journal(tmp_path / "journal.sqlite")
    second.open()
    second.close()


@pytest.mark.anyio
async def test_readers_see_committed_states_while_a_run_writes(tmp_path: Path) -> None:
    """A reader (like `orchestrator status`) reads consistent rows during a stream of writes."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.open()
    seen: list[int] = []

    def read() -> int:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
        finally:
            connection.close()

    async def reader() -> None:
        for _ in range(20):
            seen.append(await anyio.to_thread.run_sync(read))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(reader)
            for index in range(200):
                await journal.intend(day_job(f"k{index}"), attempts=1, uncertain=False)
    journal.close()
    assert seen == sorted(seen)
    assert read() == 200


@pytest.mark.anyio
async def test_unknown_states_are_refused(tmp_path: Path) -> None:
    """A typo in a state name is a programming error, caught at once (a column can no longer be
    misspelt: each write names its fields in the journal's typed methods)."""
    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    try:
        with pytest.raises(ValueError, match="state"):
            await journal.ended(JOB, "donwloaded", "x")  # type: ignore[arg-type]
        assert await journal.load() == {}
    finally:
        journal.close()


def test_status_of_a_file_that_is_not_a_journal_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`status --journal <a text file>` says it is not a journal and exits 2, no traceback."""
    from orchestrator.cli import main

    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all\n" * 100)
    assert main(["status", "--journal", str(text)]) == 2
    error = capsys.readouterr().err
    assert "is not an orchestrator journal" in error
    assert "Traceback" not in error
    with pytest.raises(JournalUnavailable, match="not an orchestrator journal"):
        read_records(text)


@pytest.mark.anyio
async def test_ready_and_what_an_export_took_ride_the_next_commit(tmp_path: Path) -> None:
    """Neither an export found ready nor its duration waits for a commit of its own: another
    reader sees them once the job's next write is committed, and closing commits what waits."""
    from orchestrator.core.polling import Observation
    from orchestrator.edges.journal import read_observations

    path = tmp_path / "journal.sqlite"
    other = day_job("users")
    journal = Journal(path)
    journal.open()
    with anyio.fail_after(10):
        await journal.intend(JOB, attempts=1, uncertain=False)
        await journal.submitted(JOB, RunIds("wf", "r", "https://a/s"))
        await journal.learned(Observation("conversation", 86400, 0.0, 2.0))
        await journal.ready(JOB)
        assert read_records(path)[JOB.key].state == "submitted"
        assert read_observations(path) == []
        await journal.intend(other, attempts=1, uncertain=False)  # any job's next commit
        assert read_records(path)[JOB.key].state == "ready"
        assert len(read_observations(path)) == 1
        await journal.ready(other)
    journal.close()
    assert read_records(path)[other.key].state == "ready"
