"""The journal's contract, the same test bodies run against the SQLite and the in-memory journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator.edges.journal import Journal
from orchestrator.edges.memory_journal import MemoryJournal
from orchestrator.edges.ports import JobJournal

IDENTITY = {
    "export_name": "conversations",
    "window_start": "2024-01-01T00:00:00+00:00",
    "window_end": "2024-01-02T00:00:00+00:00",
}
pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "memory"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobJournal]:
    if request.param == "memory":
        yield MemoryJournal()
        return
    sqlite = Journal(tmp_path / "journal.sqlite")
    sqlite.open()
    try:
        yield sqlite
    finally:
        sqlite.close()


async def test_a_record_keeps_earlier_columns_and_logs_each_change(journal: JobJournal) -> None:
    """Each write changes only what it names; the history lists every state in order."""
    await journal.record("k", "submitting", attempts=1, **IDENTITY)
    await journal.record("k", "submitted", workflow_id="wf", run_id="r", status_url="u")
    record = (await journal.load())["k"]
    assert (record.state, record.attempts, record.workflow_id) == ("submitted", 1, "wf")
    assert record.export_name == "conversations"
    assert [state for state, _, _ in await journal.history("k")] == ["submitting", "submitted"]


async def test_unknown_states_and_columns_are_refused(journal: JobJournal) -> None:
    """A misspelt state or column is a bug, refused before anything is written."""
    with pytest.raises(ValueError, match="state"):
        await journal.record("k", "donwloaded", **IDENTITY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="columns"):
        await journal.record("k", "failed", colour="red", **IDENTITY)
    assert await journal.load() == {}


async def test_restore_puts_a_record_back_or_removes_it(journal: JobJournal) -> None:
    """A write that proved untrue is undone: back to the earlier record, or to none at all."""
    before = await journal.record("k", "failed", attempts=1, error="x", **IDENTITY)
    await journal.record("k", "submitting", attempts=2)
    await journal.restore("k", before)
    assert (await journal.load())["k"] == before
    await journal.record("n", "submitting", attempts=1, **IDENTITY)
    await journal.restore("n", None)
    assert "n" not in await journal.load()
