"""A stand-in Pushgateway (an aiohttp server on 127.0.0.1 that records every push it receives), and
reading Prometheus text back with prometheus_client's own parser."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families


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


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text, by name and sorted labels, checking each is a gauge."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
