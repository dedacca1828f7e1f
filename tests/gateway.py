"""A stand-in Pushgateway: an aiohttp server on 127.0.0.1 that records every push it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Push:
    method: str
    path: str
    content_type: str
    body: str


@dataclass
class Gateway:
    url: str = ""
    pushes: list[Push] = field(default_factory=list)
    answer: int = 200
    stall: bool = False
    """Never answer (until the server closes): a gateway that hangs."""


@asynccontextmanager
async def gateway(answer: int = 200, *, stall: bool = False) -> AsyncIterator[Gateway]:
    """Serve a recording Pushgateway until the block ends."""
    state = Gateway(answer=answer, stall=stall)

    async def receive(request: web.Request) -> web.Response:
        body = await request.text()
        state.pushes.append(
            Push(request.method, request.path, request.headers.get("Content-Type", ""), body)
        )
        if state.stall:
            await anyio.sleep_forever()
        return web.Response(status=state.answer, text="" if state.answer < 300 else "no")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive)
    async with TestServer(app, host="127.0.0.1") as server:
        state.url = str(server.make_url("")).rstrip("/")
        yield state
