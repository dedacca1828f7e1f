"""The journal on object storage against a real S3 API (moto on loopback): what survives a run that
vanishes, group commits as single objects, compaction, the fence against a run that lost its
lease, and a damaged or foreign log refused."""

from __future__ import annotations

import json
from functools import partial

import anyio
import obstore
import pytest

from orchestrator.core.envelope import RunIds
from orchestrator.core.location import Location
from orchestrator.core.polling import Observation
from orchestrator.core.stored import StoredFile
from orchestrator.edges.storage import object_journal
from orchestrator.edges.storage.object_journal import ObjectJournal
from orchestrator.edges.storage.stores import build_store
from orchestrator.errors import JournalUnavailable, JournalWriteFailed
from tests.s3 import moto_s3
from tests.unit.edges import day_job

pytestmark = pytest.mark.anyio
FOLDER = ".orchestrator/journal"
IDS = RunIds("wf", "run", "https://api/status?companyKey=SEALED")


async def opened(location: Location, holder: str = "run-1", **options: object) -> ObjectJournal:
    journal = ObjectJournal(build_store(location), location, FOLDER, holder=holder, **options)  # type: ignore[arg-type]
    await journal.open()
    return journal


def objects(location: Location, kind: str) -> list[str]:
    return moto_s3().keys(location.bucket, location.key(f"{FOLDER}/{kind}/"))


async def test_what_was_acknowledged_survives_a_run_that_vanished(bucket: Location) -> None:
    """A run that stops without closing (a SIGKILL) leaves every acknowledged change: the next run
    loads the ids of the export it created (to poll it, not create it again), its history, the
    intent of a create that may have left, and what exports took."""
    first = await opened(bucket)
    created, pending = day_job("created"), day_job("pending")
    await first.intend(created, attempts=1, uncertain=False)
    await first.submitted(created, IDS)
    await first.intend(pending, attempts=1, uncertain=False)
    await first.learned(Observation("conversation", 86400, 1.0, 2.0))
    del first  # killed: nothing more is written
    second = await opened(bucket, holder="run-2")
    records = await second.load()
    assert (records[created.key].state, records[created.key].ids) == ("submitted", IDS)
    assert records[pending.key].state == "submitting"
    assert [e.state for e in await second.history(created.key)] == ["submitting", "submitted"]
    assert await second.observations() == [Observation("conversation", 86400, 1.0, 2.0)]


async def test_writes_that_arrive_together_are_one_object(bucket: Location) -> None:
    """Writes that arrive while a commit is on its way go together in the next object."""
    journal = await opened(bucket)
    before = len(objects(bucket, "log"))
    jobs = [day_job(f"job{n}") for n in range(20)]
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(partial(journal.intend, attempts=1, uncertain=False), job)
    assert len(objects(bucket, "log")) - before < len(jobs)
    assert set(await (await opened(bucket, holder="run-2")).load()) == {job.key for job in jobs}


async def test_compaction_checkpoints_and_deletes_what_it_covers(
    bucket: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every few commits a checkpoint replaces the log objects it covers (this run's first one
    kept, as the fence); the next run loads the same state from it."""
    monkeypatch.setattr(object_journal, "COMPACT_EVERY", 3)
    journal = await opened(bucket)
    file = StoredFile("x/2024/01/01/x.csv", 3, "ab" * 32, rows=1)
    for n in range(7):
        await journal.stored(day_job(f"job{n}"), file)
    assert len(objects(bucket, "checkpoint")) == 1
    assert len(objects(bucket, "log")) <= 3
    reloaded = await opened(bucket, holder="run-2")
    assert await reloaded.load() == await journal.load()


async def test_a_run_that_lost_the_journal_cannot_write_it(bucket: Location) -> None:
    """When another run has opened the journal (it took over the lease), the first run's next
    write finds its log number taken and fails; nothing it wrote before is lost."""
    first = await opened(bucket)
    job = day_job("a")
    await first.intend(job, attempts=1, uncertain=False)
    second = await opened(bucket, holder="run-2")
    with pytest.raises(JournalWriteFailed, match="lost its lease"):
        await first.submitted(job, IDS)
    assert (await second.load())[job.key].state == "submitting"
    assert (await first.load())[job.key].state == "submitting"  # the failed change rolled back


async def test_a_fenced_write_is_refused_and_rolled_back(bucket: Location) -> None:
    """A write after the lease says it is no longer held fails before anything is written, and
    the state in memory does not keep it."""
    reason: list[str] = []
    journal = await opened(bucket, fence=lambda: reason[0] if reason else None)
    reason.append("the lease expired")
    with pytest.raises(JournalWriteFailed, match="lease expired"):
        await journal.intend(day_job("a"), attempts=1, uncertain=False)
    assert await journal.load() == {}
    assert await (await opened(bucket, holder="run-2")).load() == {}


async def test_a_gap_or_a_newer_format_is_refused(bucket: Location) -> None:
    """A log with a missing object, or written by a newer version, is JournalUnavailable (exit 2),
    never half-read."""
    journal = await opened(bucket)
    for name in ("a", "b"):
        await journal.intend(day_job(name), attempts=1, uncertain=False)
    store = build_store(bucket)
    second = sorted(objects(bucket, "log"))[1]
    await obstore.delete_async(store, second.removeprefix(f"{bucket.prefix}/"))
    with pytest.raises(JournalUnavailable, match="missing"):
        await opened(bucket, holder="run-2")
    newer = json.dumps({"format": "orchestrator-journal-log", "version": 99, "entries": []})
    await obstore.put_async(store, second.removeprefix(f"{bucket.prefix}/"), newer.encode())
    with pytest.raises(JournalUnavailable, match="newer version"):
        await opened(bucket, holder="run-3")
