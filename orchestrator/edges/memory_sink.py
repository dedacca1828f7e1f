"""An output tree in memory: the sink port's second implementation, for tests and dry runs.

It keeps the file sink's promises (a file appears whole or not at all, hashed and row-counted as
it streams, a short body is a DownloadCut, a path that would leave the root is refused), so the
same contract tests run against both.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import PurePosixPath

import anyio.lowlevel

from orchestrator.core.layout import stays_inside
from orchestrator.core.rows import row_counter
from orchestrator.core.stored import StoredFile
from orchestrator.core.units import describe_cut
from orchestrator.errors import DownloadCut, SinkError


class MemorySink:
    """Files by relative path."""

    def __init__(self) -> None:
        self.files: dict[PurePosixPath, bytes] = {}

    def __repr__(self) -> str:
        return f"MemorySink(files={len(self.files)})"

    async def store(
        self,
        relative: PurePosixPath,
        chunks: AsyncIterator[bytes],
        *,
        expected_size: int | None,
        report_format: str,
        key: str | None = None,
    ) -> StoredFile:
        """Gather the stream, then keep it under `relative` only if it is complete."""
        if not stays_inside(relative):
            raise SinkError(f"refusing output path {relative}: it would leave the output tree")
        digest, counter, body = hashlib.sha256(), row_counter(report_format), bytearray()
        async for chunk in chunks:
            digest.update(chunk)
            counter.feed(chunk)
            body += chunk
        if expected_size is not None and len(body) != expected_size:
            raise DownloadCut(describe_cut(len(body), expected_size))
        self.files[relative] = bytes(body)
        return StoredFile(relative.as_posix(), len(body), digest.hexdigest(), counter.rows())

    async def discard_partials(self, relative: PurePosixPath) -> int:
        """Nothing partial is ever kept in memory."""
        await anyio.lowlevel.checkpoint()
        return 0

    async def put(self, relative: PurePosixPath, data: bytes) -> None:
        """A small file (a marker), kept whole."""
        await anyio.lowlevel.checkpoint()
        if not stays_inside(relative):
            raise SinkError(f"refusing output path {relative}: it would leave the output tree")
        self.files[relative] = data

    async def remove(self, relative: PurePosixPath) -> bool:
        await anyio.lowlevel.checkpoint()
        return self.files.pop(relative, None) is not None

    async def exists(self, relative: PurePosixPath) -> bool:
        await anyio.lowlevel.checkpoint()
        return relative in self.files

    async def matches(self, file: StoredFile, *, verify: bool = False) -> StoredFile | None:
        """The file as kept, if its size and sha256 are the recorded ones."""
        await anyio.lowlevel.checkpoint()
        body = self.files.get(PurePosixPath(file.path))
        if body is None or len(body) != file.bytes:
            return None
        return file if hashlib.sha256(body).hexdigest() == file.sha256 else None
