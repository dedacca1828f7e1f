"""Reuse keeps the README's promise: a file is the one written when its size, mtime and inode are
as recorded, or else when its sha256 is; a file found by hash is hashed once, not on every run."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import anyio
import anyio.lowlevel
import pytest

from orchestrator.core.jobs import Job
from orchestrator.core.layout import relative_path
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.scouting import Scouting
from orchestrator.core.stored import StoredFile
from orchestrator.edges.memory_journal import MemoryJournal
from orchestrator.edges.sink import FileSink
from orchestrator.run.runner import Edges, JobRunner, Limits, Options, Timing
from orchestrator.run.shelter import Shelter
from tests.unit.edges import BODY, Gate, ScriptedClient, day_job
from tests.unit.test_runner import POLICIES

pytestmark = pytest.mark.anyio


class Reruns:
    """Runs of one job against output trees on disk, sharing a memory journal and a client."""

    def __init__(self) -> None:
        self.client = ScriptedClient(Gate())
        self.journal = MemoryJournal(clock=lambda: 0.0)

    async def run(self, job: Job, root: Path, *, verify: bool = False) -> JobResult:
        runner = JobRunner(
            Edges(self.client, FileSink(root), self.journal),
            Limits(anyio.CapacityLimiter(1), anyio.CapacityLimiter(1), Shelter(grace_seconds=1.0)),
            POLICIES,
            Scouting(POLICIES.poll),
            Timing(jitter=lambda: 0.5, sleep=lambda seconds: anyio.lowlevel.checkpoint()),
            Options(datetime.now(UTC), verify=verify),
        )
        record = (await self.journal.load()).get(job.key)
        with anyio.fail_after(5):
            return (await runner.run(job, record)).result

    async def record(self, job: Job) -> JobRecord:
        return (await self.journal.load())[job.key]


def same_size_edit_keeping_stat(path: Path, stat: os.stat_result) -> None:
    """Change the bytes in place, size kept, and put the mtime back: only a hash can tell."""
    path.write_bytes(bytes(reversed(path.read_bytes())))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


async def test_a_tree_copied_with_cp_a_is_reused_and_hashed_only_once(tmp_path: Path) -> None:
    """A tree copied as `cp -a` does (same mtimes, new inodes) is reused by its sha256 without a
    new export; the journal then holds the copy's inode, so the next run trusts the stat without
    reading the file (an edit that hides behind the same stat goes unseen, as documented)."""
    job, reruns = day_job(), Reruns()
    assert (await reruns.run(job, tmp_path / "a")).status == "downloaded"
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copy2)
    copied = tmp_path / "b" / relative_path(job)

    again = await reruns.run(job, tmp_path / "b")

    assert again.reused and len(reruns.client.sent) == 1
    file = (await reruns.record(job)).file
    assert file is not None
    assert (file.inode, file.mtime_ns) == (copied.stat().st_ino, copied.stat().st_mtime_ns)
    same_size_edit_keeping_stat(copied, copied.stat())
    assert (await reruns.run(job, tmp_path / "b")).reused, "the fast path read the file"
    assert not (await reruns.run(job, tmp_path / "b", verify=True)).reused


async def test_a_touched_file_is_reused_and_an_edited_one_exported_again(tmp_path: Path) -> None:
    """A touch (new mtime, same bytes) is reused after one hash; new bytes of the same size under
    a new mtime are exported again."""
    job, reruns = day_job(), Reruns()
    await reruns.run(job, tmp_path)
    path = tmp_path / relative_path(job)
    os.utime(path, ns=(0, 1_000_000_000))

    assert (await reruns.run(job, tmp_path)).reused
    file = (await reruns.record(job)).file
    assert file is not None and file.mtime_ns == 1_000_000_000
    path.write_bytes(bytes(reversed(BODY)))
    assert not (await reruns.run(job, tmp_path)).reused
    assert len(reruns.client.sent) == 2 and path.read_bytes() == BODY


async def test_another_size_is_never_the_file_whatever_the_other_facts(tmp_path: Path) -> None:
    """A file whose size differs from the record is not reused, even with the recorded mtime and
    inode, and even when the record's sha256 is that of its new bytes."""
    sink, relative = FileSink(tmp_path), PurePosixPath("a/b.csv")
    path = tmp_path / relative
    path.parent.mkdir()
    path.write_bytes(b"A\n1\n2\n")
    stat = path.stat()
    grown = recorded_as(relative, path, size=stat.st_size - 2)

    assert await sink.matches(grown) is None
    assert await sink.matches(grown, verify=True) is None


async def test_a_file_with_its_recorded_facts_is_found_as_recorded(tmp_path: Path) -> None:
    """Unchanged size, mtime and inode come back as they were (nothing to refresh); a record
    without mtime and inode (an older journal) is hashed and gets them."""
    sink, relative = FileSink(tmp_path), PurePosixPath("a/b.csv")
    path = tmp_path / relative
    path.parent.mkdir()
    path.write_bytes(BODY)
    stat = path.stat()
    recorded = recorded_as(relative, path, size=stat.st_size)
    without_facts = replace(recorded, mtime_ns=None, inode=None)

    assert await sink.matches(recorded) == recorded
    assert await sink.matches(without_facts) == recorded


def recorded_as(relative: PurePosixPath, path: Path, *, size: int) -> StoredFile:
    """The file at `path` as a journal would record it: its hash and stat, the size given."""
    stat = path.stat()
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return StoredFile(relative.as_posix(), size, sha256, None, False, stat.st_mtime_ns, stat.st_ino)
