"""The journal's contract, the same test bodies run against the SQLite journal, the in-memory one
and the journal on object storage (moto's S3 server on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.core.envelope import RunIds
from orchestrator.core.location import Location
from orchestrator.core.polling import Observation
from orchestrator.core.stored import StoredFile
from orchestrator.edges.journal import Journal
from orchestrator.edges.memory_journal import MemoryJournal
from orchestrator.edges.ports import JobJournal
from orchestrator.edges.storage.object_journal import ObjectJournal
from orchestrator.edges.storage.stores import build_store
from tests.unit.edges import day_job

JOB = day_job("conversations")
IDS = RunIds("wf", "run", "https://api/status?companyKey=SEALED")
FILE = StoredFile("conversations/2024/01/01/c.csv", 12, "ab" * 32, rows=2, mtime_ns=5, inode=7)
pytestmark = pytest.mark.anyio
JOURNAL = ".orchestrator/journal"


@pytest.fixture(params=["sqlite", "memory", "bucket"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobJournal]:
    if request.param == "memory":
        yield MemoryJournal()
        return
    if request.param == "bucket":
        location: Location = request.getfixturevalue("bucket")
        objects = ObjectJournal(build_store(location), location, JOURNAL, holder="test")
        await objects.open()
        yield objects
        return
    sqlite = Journal(tmp_path / "journal.sqlite")
    sqlite.open()
    try:
        yield sqlite
    finally:
        sqlite.close()


async def test_an_intent_then_its_ids_make_a_submitted_record_with_its_history(
    journal: JobJournal,
) -> None:
    """An intent records who the job is and its attempt; the ids that follow make it
    `submitted`; the history lists both changes in order."""
    await journal.intend(JOB, attempts=1, uncertain=False)
    await journal.submitted(JOB, IDS)
    record = (await journal.load())[JOB.key]
    assert (record.state, record.attempts, record.ids) == ("submitted", 1, IDS)
    assert record.export_name == "conversations"
    assert record.window_start == JOB.window.start.isoformat()
    assert [entry.state for entry in await journal.history(JOB.key)] == ["submitting", "submitted"]


async def test_a_new_intent_forgets_the_earlier_ids_and_error(journal: JobJournal) -> None:
    """A second create's intent clears the first's ids and failure, and says whether the one
    before may have reached the server unanswered."""
    await journal.intend(JOB, attempts=1, uncertain=False)
    await journal.submitted(JOB, IDS)
    await journal.ended(JOB, "failed", "too big")
    await journal.intend(JOB, attempts=2, uncertain=True)
    record = (await journal.load())[JOB.key]
    assert (record.state, record.attempts, record.uncertain) == ("submitting", 2, True)
    assert (record.ids, record.error) == (None, None)


async def test_a_withdrawn_intent_puts_the_record_back_or_removes_it(journal: JobJournal) -> None:
    """An intent answered 401 is taken back: the earlier record returns, or none at all."""
    await journal.intend(JOB, attempts=1, uncertain=False)
    await journal.ended(JOB, "failed", "x", attempts=1)
    before = (await journal.load())[JOB.key]
    await journal.intend(JOB, attempts=2, uncertain=False)
    await journal.withdraw(JOB)
    assert (await journal.load())[JOB.key] == before
    other = day_job("other")
    await journal.intend(other, attempts=1, uncertain=False)
    await journal.withdraw(other)
    assert other.key not in await journal.load()


async def test_a_stored_file_is_kept_whole_and_names_the_state(journal: JobJournal) -> None:
    """A file with rows is `downloaded`, one without `empty`; the record holds the file value
    as given, and a file found again under new facts replaces it."""
    await journal.stored(JOB, FILE)
    record = (await journal.load())[JOB.key]
    assert (record.state, record.file) == ("downloaded", FILE)
    moved = replace(FILE, mtime_ns=9, inode=11)
    await journal.found_again(JOB, record, moved)
    assert (await journal.load())[JOB.key].file == moved
    empty = day_job("empty")
    await journal.stored(empty, replace(FILE, rows=0, open=True))
    kept = (await journal.load())[empty.key]
    assert kept.state == "empty" and kept.file is not None and kept.file.open


async def test_an_ending_keeps_its_reason_and_the_attempts(journal: JobJournal) -> None:
    """Failed, timed out and split records carry the reason; the attempts stay unless given."""
    await journal.intend(JOB, attempts=3, uncertain=False)
    await journal.ended(JOB, "timed_out", "not finished after 10 s")
    record = (await journal.load())[JOB.key]
    assert (record.state, record.attempts, record.error) == (
        "timed_out",
        3,
        "not finished after 10 s",
    )
    await journal.ended(JOB, "failed", "boom", attempts=0)
    assert (await journal.load())[JOB.key].attempts == 0


async def test_an_unknown_state_is_refused_before_anything_is_written(journal: JobJournal) -> None:
    """A misspelt state is a bug, refused before anything is written."""
    with pytest.raises(ValueError, match="state"):
        await journal.ended(JOB, "donwloaded", "x")  # type: ignore[arg-type]
    assert await journal.load() == {}


async def test_observations_come_back_oldest_first(journal: JobJournal) -> None:
    """What exports took is read back in the order it was learned."""
    first, second = Observation("a", 60, 0.0, 1.0), Observation("b", 60, 1.0, 2.0)
    await journal.learned(first)
    await journal.learned(second)
    assert await journal.observations() == [first, second]
