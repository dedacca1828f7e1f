"""The journal on a full disk: its reserve lets the last ids in, and a write that cannot be made
raises JournalWriteFailed (the run stops), never a raw sqlite3 error."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from orchestrator.core.envelope import RunIds
from orchestrator.edges.journal import Journal, read_records
from orchestrator.errors import JournalWriteFailed
from orchestrator.exit_codes import ExitCode, exit_code_for
from tests.fulldisk import FullDiskJournal
from tests.unit.edges import day_job

JOB = day_job("conversations")
IDS = RunIds("wf", "r", "u")


@pytest.mark.anyio
async def test_a_write_that_meets_a_full_disk_uses_the_reserve_and_still_says_so(
    tmp_path: Path,
) -> None:
    """When SQLite reports the disk full, the journal frees its reserved space and writes again:
    the ids are durable, yet the writer hears JournalWriteFailed, so the run stops."""
    journal = FullDiskJournal("submitted", failures=1)(tmp_path / "journal.sqlite")
    journal.open()
    try:
        await journal.intend(JOB, attempts=1, uncertain=False)
        with anyio.fail_after(5), pytest.raises(JournalWriteFailed, match="disk is full"):
            await journal.submitted(JOB, IDS)
    finally:
        journal.close()
    assert read_records(tmp_path / "journal.sqlite")[JOB.key].workflow_id == "wf"


@pytest.mark.anyio
async def test_a_journal_that_cannot_be_written_raises_and_keeps_its_last_state(
    tmp_path: Path,
) -> None:
    """A write that fails again after the reserve is freed raises JournalWriteFailed saying the
    journal cannot be written, and the journal keeps the state before it."""
    journal = FullDiskJournal("submitted", failures=2)(tmp_path / "journal.sqlite")
    journal.open()
    try:
        await journal.intend(JOB, attempts=1, uncertain=False)
        with anyio.fail_after(5), pytest.raises(JournalWriteFailed, match="cannot write"):
            await journal.submitted(JOB, IDS)
    finally:
        journal.close()
    assert read_records(tmp_path / "journal.sqlite")[JOB.key].state == "submitting"


@pytest.mark.anyio
async def test_sqlites_own_full_error_is_a_journal_write_failure(tmp_path: Path) -> None:
    """A real SQLITE_FULL (the database may not grow: max_page_count) becomes JournalWriteFailed
    naming the journal, never a raw sqlite3 error, and it is exit code 1, not a usage error."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.open()
    try:
        connection = journal._connection
        assert connection is not None
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")
        with anyio.fail_after(10), pytest.raises(JournalWriteFailed, match=str(path)) as caught:
            for index in range(1000):
                await journal.ended(day_job(f"k{index}"), "failed", "x" * 500)
    finally:
        journal.close()
    assert exit_code_for(caught.value) == ExitCode.SOME_FAILED
