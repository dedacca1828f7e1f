"""Tiny scriptable HTTP servers on loopback for the client's answer-form tests: each test puts its
own handlers on a site's paths; every site records what it received (the Authorization header
above all), so a test can prove where credentials went."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from orchestrator.core.backoff import RetryPolicy
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess, ReportsClient
from orchestrator.edges.tally import RequestTally

USERNAME = "analyst-user"
PASSWORD = "pw-Zq81-never-in-files"
COMPANY_KEY = "acme-company-key-77"
SECRETS = (USERNAME, PASSWORD, COMPANY_KEY)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path_qs: str
    authorization: str | None


@dataclass
class Site:
    """One origin: handlers by path, and a log of every request it received."""

    name: str
    url: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def at(self, path_qs: str) -> str:
        return self.url + path_qs

    def authorized(self) -> list[Seen]:
        return [hit for hit in self.seen if hit.authorization is not None]


def envelope(result: Any) -> dict[str, Any]:
    return {"status": "PASS", "request": None, "message": None, "result": result}


def redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _app(site: Site) -> web.Application:
    async def anything(request: web.Request) -> web.StreamResponse:
        site.seen.append(
            Seen(request.method, request.raw_path, request.headers.get("Authorization"))
        )
        handler = site.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="no such path")
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@asynccontextmanager
async def sites(*names: str) -> AsyncIterator[dict[str, Site]]:
    """One server per name, each on its own free loopback port."""
    started: dict[str, Site] = {}
    servers: list[TestServer] = []
    try:
        for name in names:
            site = Site(name)
            server = TestServer(_app(site), host="127.0.0.1", port=0)
            await server.start_server()
            servers.append(server)
            site.url = str(server.make_url("")).rstrip("/")
            started[name] = site
        yield started
    finally:
        for server in servers:
            await server.close()


def client_for(
    session: aiohttp.ClientSession,
    api: Site | str,
    *,
    allowed: tuple[str, ...] = (),
    password: str = PASSWORD,
    attempts: int = 3,
    tally: RequestTally | None = None,
    allow_insecure_http: bool = False,
) -> ReportsClient:
    """A client for the site `api`, with fast retries."""
    base = api.url if isinstance(api, Site) else api
    access = ApiAccess(
        base_url=URL(base),
        username=USERNAME,
        password=password,
        company_key=COMPANY_KEY,
        allowed_origins=frozenset(URL(origin) for origin in allowed),
        allow_insecure_http=allow_insecure_http,
    )
    return ReportsClient(
        session,
        access,
        RequestBudget(100_000),
        RetryPolicy(max_attempts=attempts, base_seconds=0.001, max_seconds=0.01),
        jitter=random.Random(1).random,
        tally=tally,
    )
