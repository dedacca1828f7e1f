"""The output tree: files stream to a temporary name beside their target and are renamed into
place only when complete, so a final path never holds a partial file.

Each file is hashed and its rows counted while it streams; it is fsync'd before the rename and the
folder after it, so a file that has a name also has its bytes after a power cut. Files finished at
about the same time are put in place together (`_publish_all`): one thread hop, and one fsync per
folder for all the renames into it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import anyio

from orchestrator.core.layout import stays_inside
from orchestrator.core.rows import RowCounter, row_counter
from orchestrator.core.stored import StoredFile
from orchestrator.core.units import describe_cut
from orchestrator.edges.batches import Batches
from orchestrator.edges.folders import FILE_MODE, make_folders
from orchestrator.errors import DownloadCut, OutputFull, SinkError

TEMP_SUFFIX = ".part"
WRITE_BYTES = 256 * 1024
"""Bytes gathered before anything touches the disk: a file no larger is written, fsync'd and
renamed in one thread hop, with no write behind."""
BATCH_BYTES = 4 * 1024 * 1024
"""Bytes per write behind a larger file: a worker thread hashes and writes one batch while the
next arrives, so at most two batches are held (memory stays flat)."""


_ADVISE = getattr(os, "POSIX_FADV_DONTNEED", None)


class FileSink:
    """Writes export files under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._checks = Batches(_check_all)
        self._publishes = Batches(_publish_all)

    def __repr__(self) -> str:
        return f"FileSink({str(self.root)!r})"

    def target(self, relative: PurePosixPath) -> Path:
        """The absolute path of a relative one, refusing anything that would leave the root."""
        if not stays_inside(relative):
            raise SinkError(f"refusing output path {relative}: it would leave {self.root}")
        return self.root / relative

    async def store(
        self,
        relative: PurePosixPath,
        chunks: AsyncIterator[bytes],
        *,
        expected_size: int | None,
        report_format: str,
        key: str | None = None,
    ) -> StoredFile:
        """Stream `chunks` into the file at `relative`; on any failure nothing is left behind."""
        target = self.target(relative)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        file = _TempFile(temp, self.root, row_counter(report_format))
        try:
            try:
                await file.fill(chunks)
            except BaseExceptionGroup as group:  # the writer's or the download's, as it was
                raise _alone(group) from None
            if expected_size is not None and file.size != expected_size:
                raise DownloadCut(describe_cut(file.size, expected_size))
            facts = await self._publish(file, target)
        except BaseException:
            if file.handle is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_discard, file.handle, temp)
            raise
        return StoredFile(
            path=relative.as_posix(),
            bytes=file.size,
            sha256=file.digest.hexdigest(),
            rows=file.counter.rows(),
            mtime_ns=facts.st_mtime_ns,
            inode=facts.st_ino,
        )

    async def discard_partials(self, relative: PurePosixPath) -> int:
        """Remove temporary files an earlier, killed run left for this target; returns how many."""
        return await anyio.to_thread.run_sync(_remove_partials, self.target(relative))

    async def put(self, relative: PurePosixPath, data: bytes) -> None:
        """A small file (a marker) written whole or not at all: temporary name, fsync, rename."""
        await anyio.to_thread.run_sync(_put, self.target(relative), self.root, data)

    async def remove(self, relative: PurePosixPath) -> bool:
        """Remove a small file if it is there; whether it was."""
        return await anyio.to_thread.run_sync(_remove, self.target(relative))

    async def exists(self, relative: PurePosixPath) -> bool:
        target = self.target(relative)
        return await anyio.to_thread.run_sync(target.is_file)

    async def matches(self, file: StoredFile, *, verify: bool = False) -> StoredFile | None:
        """The recorded `file` as found now, if it is the one written, else None.

        The same size, mtime and inode as recorded: taken as written without reading it. The same
        size with another mtime or inode (a `cp -a`, a restore, an rsync, a touch): hashed once,
        and the same sha256 makes it the file; the facts returned then differ from `file`'s, for
        the caller to record. Another size: never the file. `verify` always hashes.

        A rerun asks this of every finished job at once: the checks that arrive while one batch
        is looked at in a worker thread wait and go together in the next, so twenty thousand
        files cost a few thread hops, not one each."""
        target = self._found_at(file.path)
        if verify:
            return await anyio.to_thread.run_sync(_found, target, file, True)
        check = _Check(target, file)
        await self._checks.send(check)
        return check.found

    def _found_at(self, path: str) -> str:
        """`target(path)` as a string, for a rerun's thousands of checks (pathlib parses each
        path twice over); a journaled path that would leave the root is refused alike."""
        if path.startswith("/") or not path or ".." in path.split("/"):
            self.target(PurePosixPath(path))  # raises SinkError, worded as for any path
        return os.path.join(self.root, path)  # noqa: PTH118 - a string on purpose (above)

    async def _publish(self, file: _TempFile, target: Path) -> os.stat_result:
        """The file fsync'd and renamed into place, its folder fsync'd: with the other files
        finished meanwhile, in one thread hop and one fsync per folder (see `_publish_all`)."""
        publish = _Publish(file, target)
        await self._publishes.send(publish)
        if publish.error is not None:
            raise publish.error
        assert publish.facts is not None
        return publish.facts


class _TempFile:
    """One file on its way in: rows are counted as the chunks arrive (on the event loop: it is
    quick, and the loop is otherwise idle between chunks); a worker thread hashes and writes them
    in batches, and the temporary file exists only once the first batch is written."""

    def __init__(self, temp: Path, root: Path, counter: RowCounter) -> None:
        self.temp, self.root, self.counter = temp, root, counter
        self.digest = hashlib.sha256()
        self.size = 0
        self.handle: BinaryIO | None = None
        self._batch: list[bytes] = []
        self._gathered = 0

    async def fill(self, chunks: AsyncIterator[bytes]) -> None:
        """Take the whole stream: a small file stays in memory for `publish`; past WRITE_BYTES
        the rest is written behind the stream."""
        async for chunk in chunks:
            self._take(chunk)
            if self._gathered >= WRITE_BYTES:
                await self._write_behind(chunks)
                return

    async def _write_behind(self, chunks: AsyncIterator[bytes]) -> None:
        async with anyio.create_task_group() as writer:
            written = anyio.Event()
            writer.start_soon(self._flush, self._detach(), written)
            async for chunk in chunks:
                self._take(chunk)
                if self._gathered >= BATCH_BYTES:
                    await written.wait()  # one batch in flight: memory stays flat
                    written = anyio.Event()
                    writer.start_soon(self._flush, self._detach(), written)

    def _take(self, chunk: bytes) -> None:
        self.counter.feed(chunk)
        self.size += len(chunk)
        self._batch.append(chunk)
        self._gathered += len(chunk)

    def _detach(self) -> list[bytes]:
        batch, self._batch, self._gathered = self._batch, [], 0
        return batch

    async def _flush(self, batch: list[bytes], written: anyio.Event) -> None:
        try:
            await anyio.to_thread.run_sync(self._write, batch)
        finally:
            written.set()

    def _write(self, batch: list[bytes], *, back: bool = True) -> None:
        """In a worker thread: hash and write one batch, opening the file for the first; then
        (`back`) start writing the batch to the disk, so the fsync at the end finds little left."""
        if self.handle is None:
            self.handle = _open_temp(self.temp, self.root)
        start = self.handle.tell()
        for chunk in batch:
            self.digest.update(chunk)  # hashlib lets go of the GIL for large chunks
            _write(self.handle, chunk, self.temp)
        if back:
            _write_back(self.handle, start)

    def finish(self) -> os.stat_result:
        """In a worker thread: the last batch written, the file fsync'd and closed; its facts."""
        self._write(self._detach(), back=False)
        assert self.handle is not None
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            facts = os.fstat(self.handle.fileno())
            self.handle.close()
        except OSError as error:
            raise _sink_error(error, self.temp) from None
        return facts


def _put(target: Path, root: Path, data: bytes) -> None:
    """A small file written whole: a temporary name, fsync, rename, the folder fsync'd; on any
    failure the temporary file is removed."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    handle = _open_temp(temp, root)
    try:
        _write(handle, data, temp)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        temp.replace(target)
        _fsync_folder(target.parent)
    except BaseException as error:
        _discard(handle, temp)
        if isinstance(error, OSError):
            raise _sink_error(error, target) from None
        raise


def _remove(target: Path) -> bool:
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise _sink_error(error, target) from None
    _fsync_folder(target.parent)
    return True


class _Publish:
    """One finished file to put in place, and what became of it."""

    __slots__ = ("error", "facts", "file", "target")

    def __init__(self, file: _TempFile, target: Path) -> None:
        self.file, self.target = file, target
        self.facts: os.stat_result | None = None
        self.error: BaseException | None = None


def _publish_all(batch: list[_Publish]) -> None:
    """In a worker thread: every file written and fsync'd, then each renamed into place, then each
    folder that got one fsync'd once. So a file has its final name only once its bytes are on
    disk, and no store returns before its rename is too: a crash anywhere leaves each file
    either complete under its name or absent from it (with its temporary file, swept later)."""
    for publish in batch:
        try:
            publish.facts = publish.file.finish()
        except BaseException as error:  # this file's failure, not the others'
            publish.error = error
    folders: dict[Path, list[_Publish]] = {}
    for publish in batch:
        if publish.error is None:
            try:
                publish.file.temp.replace(publish.target)
                folders.setdefault(publish.target.parent, []).append(publish)
            except OSError as error:
                publish.error = _sink_error(error, publish.target)
    for folder, published in folders.items():
        try:
            _fsync_folder(folder)
        except OSError as error:
            for publish in published:
                publish.error = _sink_error(error, publish.target)


def _open_temp(temp: Path, root: Path) -> BinaryIO:
    """Create the temporary file exclusively (never through a planted symlink), in a folder that
    really lies inside the output root (no symlinked folder leads out of it)."""
    try:
        _make_folders(temp.parent, root)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(temp, flags, FILE_MODE)
        os.fchmod(descriptor, FILE_MODE)
        return os.fdopen(descriptor, "wb")
    except OSError as error:
        raise _sink_error(error, temp) from None


def _make_folders(folder: Path, root: Path) -> None:
    make_folders(root)
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.resolve().is_relative_to(root.resolve()):
        raise SinkError(f"refusing to write under {existing}: a symlink leads out of {root}")
    make_folders(folder)


def _alone(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a task group wrapped, or the group itself if there were several."""
    leaves = list(_leaves(group))
    return leaves[0] if len(leaves) == 1 else group


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _write(handle: BinaryIO, chunk: bytes, temp: Path) -> None:
    try:
        handle.write(chunk)
    except OSError as error:
        raise _sink_error(error, temp) from None


def _write_back(handle: BinaryIO, start: int) -> None:
    """Ask the kernel to start writing what was written since `start` to the disk now, in the
    background (Linux starts writeback for POSIX_FADV_DONTNEED over dirty pages)."""
    if _ADVISE is None:
        return
    handle.flush()
    with contextlib.suppress(OSError):  # advice only: the fsync before the rename still counts
        os.posix_fadvise(handle.fileno(), start, handle.tell() - start, _ADVISE)


def _discard(handle: BinaryIO, temp: Path) -> None:
    with contextlib.suppress(OSError):  # the write already failed; the file is thrown away
        handle.close()
    temp.unlink(missing_ok=True)


def _remove_partials(target: Path) -> int:
    if not target.parent.is_dir():
        return 0
    stale = list(target.parent.glob(f".{target.name}.*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Check:
    """One finished file to look at, and what was found."""

    __slots__ = ("file", "found", "target")

    def __init__(self, target: str, file: StoredFile) -> None:
        self.target, self.file = target, file
        self.found: StoredFile | None = None


def _check_all(batch: list[_Check]) -> None:
    for check in batch:
        check.found = _found(check.target, check.file, False)


def _found(path: str, file: StoredFile, verify: bool) -> StoredFile | None:
    try:
        status = os.stat(path, follow_symlinks=False)  # noqa: PTH116 - a string path: _found_at
        if status.st_size != file.bytes:
            return None
        now = replace(file, mtime_ns=status.st_mtime_ns, inode=status.st_ino)
        if not verify and file.mtime_ns is not None and file.inode is not None and now == file:
            return now
        with open(path, "rb") as handle:  # noqa: PTH123 - a string path: see _found_at
            same = hashlib.file_digest(handle, "sha256").hexdigest() == file.sha256
    except OSError:
        return None
    return now if same else None


def _sink_error(error: OSError, path: Path) -> SinkError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):  # no later file fits either: the run stops
        return OutputFull(f"no space left on the device writing {path}")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SinkError(f"cannot write {path}: {error.strerror}")
    return SinkError(f"writing {path} failed: {error.strerror or error}")
