"""The output tree: files stream to a temporary name beside their target and are renamed into
place only when complete, so a final path never holds a partial file.

Each file is hashed and its rows counted while it streams; it is fsync'd before the rename and the
folder after it, so a file that has a name also has its bytes after a power cut.
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
from orchestrator.core.rows import row_counter
from orchestrator.core.stored import StoredFile
from orchestrator.core.units import describe_cut
from orchestrator.edges.folders import FILE_MODE, make_folders
from orchestrator.errors import DownloadCut, OutputFull, SinkError

TEMP_SUFFIX = ".part"
WRITE_BYTES = 1024 * 1024
"""Bytes gathered before a write: a small file costs one thread hop, a large one one per MiB,
written by a worker thread while the next MiB arrives."""


class FileSink:
    """Writes export files under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

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
        handle = await anyio.to_thread.run_sync(_open_temp, temp, self.root)
        digest, counter, size = hashlib.sha256(), row_counter(report_format), 0
        pending = bytearray()
        try:
            try:
                async with anyio.create_task_group() as writer:
                    written = anyio.Event()
                    written.set()
                    async for chunk in chunks:
                        digest.update(chunk)
                        counter.feed(chunk)
                        size += len(chunk)
                        pending += chunk
                        if len(pending) >= WRITE_BYTES:  # a MiB at a time, as the next arrives
                            await written.wait()  # one write in flight: memory stays flat
                            written = anyio.Event()
                            data = bytes(pending)
                            writer.start_soon(_write_behind, handle, data, temp, written)
                            pending.clear()
            except BaseExceptionGroup as group:  # the writer's or the download's, as it was
                raise _alone(group) from None
            if expected_size is not None and size != expected_size:
                raise DownloadCut(describe_cut(size, expected_size))
            facts = await anyio.to_thread.run_sync(_publish, handle, temp, target, bytes(pending))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_discard, handle, temp)
            raise
        return StoredFile(
            path=relative.as_posix(),
            bytes=size,
            sha256=digest.hexdigest(),
            rows=counter.rows(),
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
        the caller to record. Another size: never the file. `verify` always hashes."""
        target = self.target(PurePosixPath(file.path))
        return await anyio.to_thread.run_sync(_found, target, file, verify)


def _put(target: Path, root: Path, data: bytes) -> None:
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    handle = _open_temp(temp, root)
    try:
        _publish(handle, temp, target, data)
    except BaseException:
        _discard(handle, temp)
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


async def _write_behind(handle: BinaryIO, data: bytes, temp: Path, written: anyio.Event) -> None:
    try:
        await anyio.to_thread.run_sync(_write, handle, data, temp)
    finally:
        written.set()


def _write(handle: BinaryIO, chunk: bytes, temp: Path) -> None:
    try:
        handle.write(chunk)
    except OSError as error:
        raise _sink_error(error, temp) from None


def _publish(handle: BinaryIO, temp: Path, target: Path, tail: bytes) -> os.stat_result:
    _write(handle, tail, temp)
    try:
        handle.flush()
        os.fsync(handle.fileno())
        facts = os.fstat(handle.fileno())
        handle.close()
        temp.replace(target)
        _fsync_folder(target.parent)
    except OSError as error:
        raise _sink_error(error, target) from None
    return facts


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


def _found(path: Path, file: StoredFile, verify: bool) -> StoredFile | None:
    try:
        status = path.stat(follow_symlinks=False)
        if status.st_size != file.bytes:
            return None
        now = replace(file, mtime_ns=status.st_mtime_ns, inode=status.st_ino)
        if not verify and file.mtime_ns is not None and file.inode is not None and now == file:
            return now
        with path.open("rb") as handle:
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
