"""Files appear at their final path complete or not at all."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.edges.sink import FileSink
from orchestrator.errors import DownloadCut, SinkError
from tests.unit.edges import day_job


async def stream(*chunks: bytes, fail: Exception | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if fail:
        raise fail


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def temporaries(root: Path) -> list[Path]:
    return list(root.rglob("*.part"))


@pytest.mark.anyio
async def test_a_complete_file_is_renamed_into_place_with_its_hash(tmp_path: Path) -> None:
    """A stored file has its bytes, sha256, row count and 0640 mode; folders are 0750."""
    sink = FileSink(tmp_path)
    relative = PurePosixPath("conversations/2024/01/01/a.csv")
    stored = await sink.store(
        relative, stream(b"A,B\n1,2\n", b"3,4\n"), expected_size=12, report_format="csv"
    )
    target = tmp_path / relative
    assert target.read_bytes() == b"A,B\n1,2\n3,4\n"
    assert stored.sha256 == hashlib.sha256(b"A,B\n1,2\n3,4\n").hexdigest()
    assert (stored.bytes, stored.rows) == (12, 2)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o750
    assert await sink.matches(replace(stored, mtime_ns=None, inode=None))  # found by its hash
    assert leftovers(tmp_path) == [target]


@pytest.mark.anyio
async def test_a_rerun_trusts_an_unchanged_stat_and_hashes_a_changed_file(tmp_path: Path) -> None:
    """Same size, mtime and inode: the file is taken as written without reading it; any other
    stat means it is hashed; --verify always hashes (and so sees an edit that kept the stat)."""
    sink = FileSink(tmp_path)
    relative = PurePosixPath("a/b.csv")
    stored = await sink.store(relative, stream(b"A\n1\n"), expected_size=4, report_format="csv")
    target = tmp_path / relative
    assert await sink.matches(stored) == stored
    target.write_bytes(b"A\n2\n")  # same size, new mtime: hashed, and found changed
    assert not await sink.matches(stored)
    os.utime(target, ns=(stored.mtime_ns or 0, stored.mtime_ns or 0))  # an edit hiding its mtime
    assert await sink.matches(stored)
    assert not await sink.matches(stored, verify=True)


@pytest.mark.anyio
async def test_a_short_body_leaves_nothing_behind(tmp_path: Path) -> None:
    """Fewer bytes than Content-Length announced is a cut download, and no file remains."""
    sink = FileSink(tmp_path)
    with pytest.raises(DownloadCut):
        await sink.store(
            PurePosixPath("x/a.csv"), stream(b"A\n"), expected_size=100, report_format="csv"
        )
    assert leftovers(tmp_path) == []


@pytest.mark.anyio
async def test_a_broken_stream_leaves_the_earlier_file_untouched(tmp_path: Path) -> None:
    """A failed rewrite of an existing file keeps the old file exactly as it was."""
    sink = FileSink(tmp_path)
    relative = PurePosixPath("x/a.csv")
    await sink.store(relative, stream(b"old\n"), expected_size=None, report_format="csv")
    with pytest.raises(ConnectionResetError):
        await sink.store(
            relative,
            stream(b"new", fail=ConnectionResetError()),
            expected_size=None,
            report_format="csv",
        )
    assert (tmp_path / relative).read_bytes() == b"old\n"
    assert leftovers(tmp_path) == [tmp_path / relative]


@pytest.mark.anyio
async def test_paths_that_leave_the_root_are_refused(tmp_path: Path) -> None:
    """No relative path can climb out of the output folder."""
    sink = FileSink(tmp_path / "out")
    for bad in ("../escape.csv", "/etc/passwd"):
        with pytest.raises(SinkError, match="leave"):
            await sink.store(
                PurePosixPath(bad), stream(b"x"), expected_size=None, report_format="csv"
            )


@pytest.mark.anyio
async def test_an_unwritable_folder_is_a_clear_sink_error(tmp_path: Path) -> None:
    """A folder that cannot be created gives a SinkError naming the path."""
    blocker = tmp_path / "out"
    blocker.write_text("a file where a folder should be")
    sink = FileSink(blocker)
    with pytest.raises(SinkError, match="out"):
        await sink.store(
            PurePosixPath("x/a.csv"), stream(b"x"), expected_size=None, report_format="csv"
        )


@pytest.mark.anyio
async def test_partials_left_by_a_killed_run_are_removed(tmp_path: Path) -> None:
    """Temporary files of a target from an earlier run are swept; other files are left alone."""
    sink = FileSink(tmp_path)
    relative = PurePosixPath("x/a.csv")
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / ".a.csv.1234abcd.part").write_bytes(b"half")
    (folder / ".b.csv.1234abcd.part").write_bytes(b"someone else's")
    assert await sink.discard_partials(relative) == 1
    assert [p.name for p in folder.iterdir()] == [".b.csv.1234abcd.part"]


@pytest.mark.anyio
async def test_a_full_disk_is_a_clear_error_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC mid-file raises a SinkError saying so; the earlier file and the folder stay clean."""
    import errno

    from orchestrator.edges import sink as sink_module

    sink = FileSink(tmp_path)
    relative = PurePosixPath("x/a.csv")
    await sink.store(relative, stream(b"old\n"), expected_size=None, report_format="csv")

    def full(handle: object, chunk: bytes, temp: Path) -> None:
        raise sink_module._sink_error(OSError(errno.ENOSPC, "No space left on device"), temp)

    monkeypatch.setattr(sink_module, "_write", full)
    with pytest.raises(SinkError, match="no space left"):
        await sink.store(relative, stream(b"new\n"), expected_size=None, report_format="csv")
    assert (tmp_path / relative).read_bytes() == b"old\n"
    assert leftovers(tmp_path) == [tmp_path / relative]


@pytest.mark.anyio
async def test_a_symlinked_folder_cannot_lead_out_of_the_root(tmp_path: Path) -> None:
    """An export folder replaced by a symlink to elsewhere is refused; nothing is written there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "out"
    root.mkdir()
    (root / "conversations").symlink_to(outside)
    sink = FileSink(root)
    with pytest.raises(SinkError, match="symlink"):
        await sink.store(
            PurePosixPath("conversations/2024/a.csv"),
            stream(b"x"),
            expected_size=None,
            report_format="csv",
        )
    assert list(outside.rglob("*")) == []


@pytest.mark.anyio
async def test_a_symlink_planted_at_the_final_path_is_replaced_not_followed(tmp_path: Path) -> None:
    """Renaming into place replaces a planted symlink; its target is never written."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    root = tmp_path / "out"
    (root / "x").mkdir(parents=True)
    (root / "x" / "a.csv").symlink_to(victim)
    await FileSink(root).store(
        PurePosixPath("x/a.csv"), stream(b"data\n"), expected_size=None, report_format="csv"
    )
    assert victim.read_text() == "precious"
    assert not (root / "x" / "a.csv").is_symlink()
    assert (root / "x" / "a.csv").read_bytes() == b"data\n"


@pytest.mark.anyio
async def test_a_missing_root_is_created(tmp_path: Path) -> None:
    """The output root need not exist before the first file."""
    root = tmp_path / "new" / "out"
    stored = await FileSink(root).store(
        PurePosixPath("x/a.csv"), stream(b"A\n"), expected_size=2, report_format="csv"
    )
    assert (root / stored.path).read_bytes() == b"A\n"


@pytest.mark.anyio
async def test_every_folder_and_file_the_tool_creates_is_private(tmp_path: Path) -> None:
    """Output, report and journal folders are 0750 and their files 0640, parents included."""
    from datetime import UTC, datetime

    from orchestrator.edges.journal import Journal
    from orchestrator.edges.report import RunHeader, write_report

    out = tmp_path / "deep" / "out"
    await FileSink(out).store(
        PurePosixPath("x/2024/a.csv"), stream(b"A\n"), expected_size=None, report_format="csv"
    )
    journal = Journal(out / ".orchestrator" / "journal.sqlite")
    journal.open()
    await journal.intend(day_job("x"), attempts=1, uncertain=False)
    now = datetime.now(UTC)
    write_report(out, RunHeader("run", "m", "d", now, now, 0), [])
    for path in [tmp_path / "deep", *(tmp_path / "deep").rglob("*")]:
        expected = 0o750 if path.is_dir() else 0o640
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    journal.close()


@pytest.mark.anyio
async def test_a_failure_behind_a_large_stream_is_plain_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several MiB in: a full disk in the write behind the stream is a plain SinkError, a body
    that breaks off a plain DownloadCut; either way no file and no temporary file remain."""
    import errno

    from orchestrator.edges import sink as sink_module

    sink = FileSink(tmp_path)
    relative = PurePosixPath("x/big.csv")
    mebibyte = b"a,b\n" * (1024 * 256)

    async def body(parts: int, *, cut: bool = False) -> AsyncIterator[bytes]:
        for _ in range(parts):
            yield mebibyte
        if cut:
            raise DownloadCut("the body broke off")

    with pytest.raises(DownloadCut, match="broke off"):
        await sink.store(relative, body(3, cut=True), expected_size=None, report_format="csv")
    assert leftovers(tmp_path) == []

    def full(handle: object, chunk: bytes, temp: Path) -> None:
        raise sink_module._sink_error(OSError(errno.ENOSPC, "No space left on device"), temp)

    monkeypatch.setattr(sink_module, "_write", full)
    with pytest.raises(SinkError, match="no space left"):
        await sink.store(relative, body(4), expected_size=None, report_format="csv")
    assert leftovers(tmp_path) == []


def test_old_run_reports_go_first_and_the_current_one_stays(tmp_path: Path) -> None:
    """Beyond KEEP_REPORTS, the oldest reports (by run id, which sorts by start time) are
    removed; the current run's stays even when it sorts first; other files are left alone."""
    from orchestrator.edges.report import prune_reports

    runs = tmp_path / "_runs"
    runs.mkdir()
    names = [f"2026010{day}T000000.000Z-aaaaaa.json" for day in range(1, 6)]
    for name in names:
        (runs / name).write_text("{}")
    (runs / "notes.txt").write_text("kept")
    current = runs / names[0]  # a clock set back: the current run sorts first
    assert prune_reports(tmp_path, 2, current) == 3
    assert sorted(path.name for path in runs.iterdir()) == sorted([names[0], names[4], "notes.txt"])


@pytest.mark.anyio
async def test_a_small_file_touches_the_disk_only_once_its_body_has_ended(tmp_path: Path) -> None:
    """A body of at most WRITE_BYTES is held until it ends, then written, fsync'd and renamed in
    one go (no temporary file while it streams); a larger one streams into a temporary file."""
    import anyio

    from orchestrator.edges import sink as sink_module

    sink = FileSink(tmp_path)
    seen: list[int] = []

    async def body(parts: int, size: int) -> AsyncIterator[bytes]:
        for _ in range(parts):
            yield b"x" * (size - 1) + b"\n"
            await anyio.sleep(0.05)  # the network's pause: time for a write behind to start
            seen.append(len(temporaries(tmp_path)))

    with anyio.fail_after(10):
        small, big = sink_module.WRITE_BYTES // 4, sink_module.WRITE_BYTES
        await sink.store(
            PurePosixPath("x/small.csv"), body(3, small), expected_size=None, report_format="csv"
        )
        assert seen == [0, 0, 0]
        seen.clear()
        await sink.store(
            PurePosixPath("x/big.csv"), body(3, big), expected_size=None, report_format="csv"
        )
    assert seen == [1, 1, 1]  # streaming from the first batch on
    assert (tmp_path / "x" / "big.csv").stat().st_size == 3 * big
    assert sorted(leftovers(tmp_path)) == [tmp_path / "x" / "big.csv", tmp_path / "x" / "small.csv"]


@pytest.mark.anyio
async def test_reuse_checks_that_arrive_together_are_looked_at_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty finished files checked at once cost a couple of trips to a worker thread, not
    twenty, and each check still gets its own answer."""
    import anyio

    from orchestrator.edges import sink as sink_module

    sink = FileSink(tmp_path)
    stored = [
        await sink.store(
            PurePosixPath(f"x/{n}.csv"), stream(b"A\n1\n"), expected_size=4, report_format="csv"
        )
        for n in range(20)
    ]
    (tmp_path / "x" / "7.csv").write_bytes(b"A\n22\n")  # another size: not the file
    batches: list[int] = []
    check_all = sink_module._check_all

    def counted(batch: list[sink_module._Check]) -> None:
        batches.append(len(batch))
        check_all(batch)

    monkeypatch.setattr(sink._checks, "_work", counted)
    found: dict[int, object] = {}

    async def check(n: int) -> None:
        found[n] = await sink.matches(stored[n])

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(check, n)
    assert sum(batches) == 20 and len(batches) <= 2
    assert [n for n in range(20) if found[n] is None] == [7]


@pytest.mark.anyio
async def test_files_finished_together_share_one_fsync_of_their_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten small files finished at once into two folders are each written and renamed into
    place, with far fewer folder fsyncs than files (one per folder per batch), each after the
    renames it covers."""
    import anyio

    from orchestrator.edges import sink as sink_module

    synced: list[tuple[Path, set[str]]] = []
    fsync_folder = sink_module._fsync_folder

    def counted(folder: Path) -> None:
        synced.append((folder, {path.name for path in folder.iterdir()}))
        fsync_folder(folder)

    monkeypatch.setattr(sink_module, "_fsync_folder", counted)
    sink = FileSink(tmp_path)

    async def one(n: int) -> None:
        relative = PurePosixPath(f"{n % 2}/{n}.csv")
        await sink.store(relative, stream(b"A\n1\n"), expected_size=4, report_format="csv")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(one, n)
    assert sorted(p.name for p in leftovers(tmp_path)) == sorted(f"{n}.csv" for n in range(10))
    assert len(synced) < 10
    for n in range(10):  # every file's rename came before some fsync of its folder
        assert any(f"{n}.csv" in names for folder, names in synced if folder.name == str(n % 2))
