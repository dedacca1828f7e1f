"""The object-storage app: serves finished exports at pre-signed URLs, on its own origin.

Like S3 it trusts only the URL's signature: a request with an `Authorization` header is refused
and counted as a credential leak (a client that follows the API's 307 with its Basic credentials
sends them to a third party), a bad signature or a past expiry is refused. Bodies are generated and
streamed chunk by chunk with an exact Content-Length; the cut_download fault drops the connection
halfway.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

from aiohttp import web

from .content import iter_export
from .jobs import Job
from .state import FakeState
from .views import s3_error


class StorageHandlers:
    """Handlers over the shared `FakeState`: the jobs whose files are served, and the counters."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def get_object(self, request: web.Request) -> web.StreamResponse:
        """GET /bucket/<object id>?X-Expires=<unix ms>&X-Signature=<hex>."""
        state = self._state
        counters = state.counters
        counters.requests["storage"] += 1
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            self._record_leak(authorization)
            return self._deny("InvalidArgument", "Pre-signed URLs take no Authorization header")
        object_id = request.match_info["object_id"]
        expires = request.query.get("X-Expires", "")
        signature = request.query.get("X-Signature", "")
        valid = expires.isascii() and expires.isdigit()
        if not valid or not state.signer.verify(object_id, int(expires), signature):
            return self._deny("SignatureDoesNotMatch", "The request signature does not match")
        if state.wall_clock() * 1000 > int(expires):
            counters.rejections["url_expired"] += 1
            return self._deny("AccessDenied", "Request has expired")
        job = state.jobs.by_object(object_id)
        if job is None:
            counters.rejections["not_found"] += 1
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return await self._stream(request, job)

    def _record_leak(self, authorization: str) -> None:
        config = self._state.config
        basic = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        self._state.counters.credential_leaks += 1
        if basic in authorization or config.password in authorization:
            self._state.counters.basic_credential_leaks += 1

    def _deny(self, code: str, message: str) -> web.Response:
        self._state.counters.rejections["storage_denied"] += 1
        return s3_error(403, code, message)

    async def _size(self, job: Job) -> int:
        """The file's length, computed once per job off the event loop (large files take time)."""
        if job.size is None:
            chunks = self._chunks(job)
            job.size = await asyncio.to_thread(lambda: sum(len(chunk) for chunk in chunks))
        return job.size

    def _chunks(self, job: Job) -> Iterator[bytes]:
        export = job.request
        return iter_export(
            export.export_id,
            export.start_ms,
            export.end_ms,
            export.columns,
            export.filters,
            export.report_format,
            rows_per_day=self._state.config.rows_per_day,
        )

    async def _stream(self, request: web.Request, job: Job) -> web.StreamResponse:
        """Send the file in chunks; when cut_download fires, stop halfway and drop the link."""
        state = self._state
        size = await self._size(job)
        cut_at = size // 2 if state.chance(state.config.faults.cut_download) else None
        response = web.StreamResponse()
        response.content_type = job.content_type
        response.content_length = size
        await response.prepare(request)
        sent = 0
        try:
            for chunk in self._chunks(job):
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


def build_storage_app(state: FakeState) -> web.Application:
    """The storage application, sharing `state` with the API that signs its URLs."""
    app = web.Application()
    handlers = StorageHandlers(state)
    app.router.add_get("/bucket/{object_id}", handlers.get_object, allow_head=False)
    return app
