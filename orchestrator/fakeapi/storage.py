"""The object-storage app: serves finished exports at pre-signed URLs, on its own origin.

Like S3 it trusts only the URL's signature: a request with an `Authorization` header is refused
and counted as a credential leak (a client that follows the API's 307 with its Basic credentials
sends them to a third party), a bad signature or a past expiry is refused. Bodies are generated and
streamed chunk by chunk with an exact Content-Length (see bodies.py); the cut_download fault drops
the connection halfway, and the gzip_storage form sends the body gzipped whatever was asked.
"""

from __future__ import annotations

from aiohttp import web

from .bodies import FileSender
from .hops import HopHandlers
from .state import FakeState
from .views import s3_error


class StorageHandlers:
    """Handlers over the shared `FakeState`: the jobs whose files are served, and the counters."""

    def __init__(self, state: FakeState) -> None:
        self._state = state
        self._sender = FileSender(state)

    async def get_object(self, request: web.Request) -> web.StreamResponse:
        """GET /bucket/<object id>?X-Expires=<unix ms>&X-Signature=<hex>."""
        state = self._state
        counters = state.counters
        counters.requests["storage"] += 1
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            state.record_leak(authorization)
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
        gzip = state.chance(state.config.faults.gzip_storage)
        return await self._sender.send(request, job, gzip=gzip)

    def _deny(self, code: str, message: str) -> web.Response:
        self._state.counters.rejections["storage_denied"] += 1
        return s3_error(403, code, message)


def build_storage_app(state: FakeState) -> web.Application:
    """The storage application, sharing `state` with the API that signs its URLs."""
    app = web.Application()
    handlers = StorageHandlers(state)
    app.router.add_get("/bucket/{object_id}", handlers.get_object, allow_head=False)
    app.router.add_get("/hop/{hop_id}", HopHandlers(state).follow, allow_head=False)
    return app
