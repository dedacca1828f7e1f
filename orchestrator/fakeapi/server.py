"""Running the fake: both servers in the current asyncio loop, for tests, the demo and the CLI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .api import build_api_app
from .clock import Clock
from .config import FakeConfig
from .counters import Counters
from .state import FakeState
from .storage import build_storage_app

SHUTDOWN_TIMEOUT = 1.0
"""Seconds a closing server lets in-flight requests finish: a fake has no work worth waiting for."""


class FakeApi:
    """The API and its object storage on two local ports; `async with FakeApi(config) as fake:`.

    Port 0 (the default) picks free ports. `clock` (monotonic seconds) times jobs and `wall_clock`
    (Unix seconds) times pre-signed URLs; pass a `ManualClock` to move time by hand.
    """

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        storage_port: int = 0,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.config = config if config is not None else FakeConfig()
        self.clock = clock
        self.wall_clock = wall_clock
        self.state = FakeState.create(self.config, clock, wall_clock)
        self._bind = (host, port, storage_port)
        self._runners: list[web.AppRunner] = []
        self._local_url = ""

    @property
    def counters(self) -> Counters:
        return self.state.counters

    @property
    def base_url(self) -> str:
        """The API origin, e.g. "http://127.0.0.1:41234"."""
        return self._started(self.state.api_origin)

    @property
    def local_url(self) -> str:
        """Where the API is bound, which differs from base_url when `public_url` overrides it."""
        return self._started(self._local_url)

    @property
    def storage_url(self) -> str:
        """The object-storage origin that pre-signed URLs point at."""
        return self._started(self.state.storage_origin)

    def _started(self, origin: str) -> str:
        if not origin:
            raise RuntimeError("FakeApi is not running: use it as `async with FakeApi(...)`")
        return origin

    async def __aenter__(self) -> Self:
        host, port, storage_port = self._bind
        try:
            api_port = await self._start(build_api_app(self.state), host, port)
            bucket_port = await self._start(build_storage_app(self.state), host, storage_port)
        except BaseException:
            await _run_to_completion(self._close())
            raise
        self._local_url = f"http://{host}:{api_port}"
        public = self.config.public_host
        self.state.api_origin = _origin(self.config.public_url, public, api_port)
        self.state.storage_origin = _origin(self.config.storage_public_url, public, bucket_port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await _run_to_completion(self._close())

    async def _start(self, app: web.Application, host: str, port: int) -> int:
        """Serve `app` on host:port and return the port actually bound."""
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, host, port).start()
        return int(runner.addresses[0][1])

    async def _close(self) -> None:
        while self._runners:
            await self._runners.pop().cleanup()
        self.state.api_origin = self.state.storage_origin = self._local_url = ""

    def __repr__(self) -> str:
        where = self.state.api_origin or "not running"
        return f"FakeApi({where}, storage={self.state.storage_origin or '-'}, {self.counters!r})"


def _origin(override: str | None, host: str, port: int) -> str:
    return override.rstrip("/") if override else f"http://{host}:{port}"


async def _run_to_completion(coro: Coroutine[Any, Any, None]) -> None:
    """Await `coro` to its end even if the caller is being cancelled, then re-raise the cancel.

    anyio cancel scopes re-deliver cancellation at every await, which would abandon a half-closed
    server (and leak its sockets); the fake has no anyio to shield with, so it shields the task.
    """
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


def describe(fake: FakeApi) -> str:
    """One line for a human: where the fake listens and which credentials it accepts."""
    config = fake.config
    return (
        f"Fake Analytics Reports API at {fake.base_url} (object storage at {fake.storage_url}); "
        f"user {config.username!r}, password {config.password!r}, "
        f"companyKey {config.company_key!r}; counters at {fake.base_url}/_fake/counters"
    )


async def serve_forever(
    config: FakeConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    storage_port: int = 0,
    *,
    on_ready: Callable[[FakeApi], None] | None = None,
) -> None:
    """Run the fake until cancelled; `on_ready(fake)` runs once both ports are bound.

    It prints and logs nothing: the caller reports, e.g. `on_ready=lambda f: print(describe(f))`.
    """
    async with FakeApi(config, host=host, port=port, storage_port=storage_port) as fake:
        if on_ready is not None:
            on_ready(fake)
        await asyncio.Event().wait()
