"""Sending an export file: streamed in chunks with an exact Content-Length, maybe gzipped or cut.

Shared by object storage and by the download endpoint when it answers with the file itself
(direct_download), so both bodies behave alike. With gzip the body is compressed on the fly with
fixed settings (level 6, mtime 0), so the compressed length computed once per job stays right for
every later send; Content-Length then counts the compressed bytes, as an object store does.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator

from aiohttp import web

from .content import iter_export
from .jobs import Job
from .state import FakeState

_GZIP_WBITS = 16 + zlib.MAX_WBITS
"""zlib's gzip container: header with mtime 0 and no file name, then deflate, then CRC32."""


def file_chunks(state: FakeState, job: Job) -> Iterator[bytes]:
    """The job's file, as the deterministic content of its request (see content.py)."""
    export = job.request
    return iter_export(
        export.export_id,
        export.start_ms,
        export.end_ms,
        export.columns,
        export.filters,
        export.report_format,
        rows_per_day=state.config.rows_per_day,
        empty=state.config.faults.empty_form_for(export.export_id),
    )


def gzip_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` compressed into one gzip member; the same input always gives the same bytes."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
    for chunk in chunks:
        packed = compressor.compress(chunk)
        if packed:
            yield packed
    yield compressor.flush()


class FileSender:
    """Streams job files for one fake, caching each file's plain and gzip lengths."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    def _chunks(self, job: Job, *, gzip: bool) -> Iterator[bytes]:
        chunks = file_chunks(self._state, job)
        return gzip_chunks(chunks) if gzip else chunks

    async def _size(self, job: Job, *, gzip: bool) -> int:
        """The body's length, computed once per job off the event loop (large files take time)."""
        cached = job.gzip_size if gzip else job.size
        if cached is not None:
            return cached
        chunks = self._chunks(job, gzip=gzip)
        size = await asyncio.to_thread(lambda: sum(len(chunk) for chunk in chunks))
        if gzip:
            job.gzip_size = size
        else:
            job.size = size
        return size

    async def send(self, request: web.Request, job: Job, *, gzip: bool) -> web.StreamResponse:
        """Send the file in chunks; when cut_download fires, stop halfway and drop the link."""
        state = self._state
        size = await self._size(job, gzip=gzip)
        cut_at = size // 2 if state.chance(state.config.faults.cut_download) else None
        response = web.StreamResponse()
        response.content_type = job.content_type
        response.content_length = size
        if gzip:
            response.headers["Content-Encoding"] = "gzip"
            state.counters.downloads_gzipped += 1
        await response.prepare(request)
        sent = 0
        try:
            for chunk in self._chunks(job, gzip=gzip):
                if cut_at is not None and sent + len(chunk) > cut_at:
                    if cut_at > sent:
                        await response.write(chunk[: cut_at - sent])
                    state.counters.downloads_cut += 1
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                await response.write(chunk)
                sent += len(chunk)
            await response.write_eof()
        except ConnectionError:  # the client went away; nothing left to send
            return response
        state.counters.downloads_completed += 1
        return response
