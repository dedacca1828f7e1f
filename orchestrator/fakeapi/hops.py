"""Redirect chains (redirect_hops): extra hops between the download endpoint and storage.

`curl -L` follows up to 50 redirects; the API may well answer through a load balancer or CDN that
adds one or two. Hop k (1-based) lives on the API origin when k is odd and on the storage origin
when it is even, so a chain leaves the API origin, and with three hops or more comes back to it.
A hop is an opaque random path that needs no credentials: it only points on. A hop that receives
an Authorization header once the chain has left the API origin (every storage hop, and an API hop
after one) counts a credential leak and is refused, as storage does: credentials go to the API
origin only, and never again once a hop left it.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from .state import FakeState, Hop
from .views import s3_error

HOP_STATUSES = (307, 302, 303, 308)
"""Status of hop k is HOP_STATUSES[(k - 1) % 4]: every redirect code a GET may meet."""


def build_chain(state: FakeState, target: str, hops: int) -> str:
    """Register `hops` hops that lead to `target`; the URL of the first one (target if none)."""
    location = target
    for number in range(hops, 0, -1):
        on_api = number % 2 == 1
        hop_id = secrets.token_urlsafe(16)
        state.hops[hop_id] = Hop(
            location=location,
            status=HOP_STATUSES[(number - 1) % len(HOP_STATUSES)],
            after_leaving_api=number > 1,
        )
        origin = state.api_origin if on_api else state.storage_origin
        location = f"{origin}/hop/{hop_id}"
    return location


class HopHandlers:
    """The `/hop/<id>` route, served by both apps over the shared state."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def follow(self, request: web.Request) -> web.Response:
        state = self._state
        state.counters.requests["hop"] += 1
        hop = state.hops.get(request.match_info["hop_id"])
        if hop is None:
            state.counters.rejections["not_found"] += 1
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        authorization = request.headers.get("Authorization")
        if hop.after_leaving_api and authorization is not None:
            state.record_leak(authorization)
            state.counters.rejections["storage_denied"] += 1
            return s3_error(403, "InvalidArgument", "This redirect takes no Authorization header")
        return web.Response(status=hop.status, headers={"Location": hop.location})
