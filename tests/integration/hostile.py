"""A small, deliberately hostile Analytics Reports API for tests: each export id selects one way
of misbehaving. A second server plays "elsewhere" (object storage, or an attacker's host) and
records every Authorization header it receives."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PREFIX = "/api/public/reports/report"
GOOD_BODY = b"A,B\n1,2\n"

MODES = (
    "good",  # a well-behaved export, served from the other origin
    "foreign_status",  # statusUrl on another origin
    "foreign_download",  # downloadUrl on another origin
    "redirect_create",  # create answers 302 to another origin
    "html_status",  # status answers an HTML page with 200
    "not_json",  # status answers plain text
    "missing_fields",  # status JSON lacks jobInfo
    "wrong_types",  # runnerState is a number
    "empty_body",  # status answers 200 with nothing
    "endless_body",  # status streams a body that never ends
    "string_result",  # status result is a string
    "bad_url",  # statusUrl with a port past 65535 (yarl refuses it)
    "file_status",  # statusUrl file:///etc/passwd
    "file_download",  # downloadUrl file:///etc/passwd
)


@dataclass
class Hostile:
    api_url: str = ""
    elsewhere_url: str = ""
    tokens: list[str] = field(default_factory=list)
    """Every access token this server handed out, to search leaks for."""
    elsewhere_authorizations: list[str] = field(default_factory=list)
    elsewhere_requests: int = 0


def _envelope(result: Any) -> dict[str, Any]:
    return {"status": "PASS", "request": None, "message": None, "result": result}


def build_api(state: Hostile) -> web.Application:
    async def create(request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        token = secrets.token_urlsafe(12)
        state.tokens.append(token)
        if mode == "redirect_create":
            raise web.HTTPFound(f"{state.elsewhere_url}/steal")
        origin = state.elsewhere_url if mode == "foreign_status" else state.api_url
        if mode == "bad_url":
            origin = "http://127.0.0.1:99999"
        status_url = f"{origin}{PREFIX}/wf/{mode}%2B%3D/status?analyticsAccessToken={token}"
        if mode == "file_status":
            status_url = "file:///etc/passwd"
        return web.json_response(
            _envelope(
                {
                    "workflowId": "wf",
                    "runId": f"{mode}+=",
                    "downloadUrl": "",
                    "statusUrl": status_url,
                }
            )
        )

    async def status(request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"].removesuffix("+=")
        token = secrets.token_urlsafe(12)
        state.tokens.append(token)
        if mode == "html_status":
            return web.Response(
                text="<html><body><h1>Service Unavailable</h1></body></html>",
                content_type="text/html",
            )
        if mode == "not_json":
            return web.Response(text="OK then")
        if mode == "empty_body":
            return web.Response(body=b"")
        if mode == "endless_body":
            response = web.StreamResponse()
            await response.prepare(request)
            while True:
                await response.write(b'{"status": "PASS", "result": "' + b"x" * 65536)
                await asyncio.sleep(0)
        if mode == "string_result":
            return web.json_response(_envelope("Internal error: report engine unavailable"))
        if mode == "missing_fields":
            return web.json_response(_envelope({"result": {"runnerState": "CLOSED"}}))
        if mode == "wrong_types":
            return web.json_response(_envelope({"jobInfo": {}, "result": {"runnerState": 7}}))
        origin = state.elsewhere_url if mode == "foreign_download" else state.api_url
        download = f"{origin}{PREFIX}/wf/{mode}%2B%3D/download?analyticsAccessToken={token}"
        if mode == "file_download":
            download = "file:///etc/passwd"
        job_info = {
            "workflowId": "wf",
            "runId": f"{mode}+=",
            "downloadUrl": download,
            "statusUrl": "",
        }
        return web.json_response(
            _envelope(
                {"jobInfo": job_info, "result": {"runnerState": "CLOSED", "detail": "COMPLETED"}}
            )
        )

    async def download(request: web.Request) -> web.StreamResponse:
        signature = secrets.token_hex(8)
        state.tokens.append(signature)
        raise web.HTTPTemporaryRedirect(
            f"{state.elsewhere_url}/bucket/object?X-Signature={signature}"
        )

    async def timezones(request: web.Request) -> web.StreamResponse:
        """The credential probe a run makes before any job: this server accepts anyone."""
        return web.json_response(_envelope(["UTC"]))

    app = web.Application()
    app.router.add_get("/api/public/config/timezones", timezones)
    app.router.add_route("*", PREFIX + "/{mode}", create)
    app.router.add_get(PREFIX + "/wf/{mode}/status", status)
    app.router.add_get(PREFIX + "/wf/{mode}/download", download)
    return app


def build_elsewhere(state: Hostile) -> web.Application:
    async def anything(request: web.Request) -> web.StreamResponse:
        state.elsewhere_requests += 1
        if "Authorization" in request.headers:
            state.elsewhere_authorizations.append(request.headers["Authorization"])
        if request.path == "/bucket/object":
            return web.Response(body=GOOD_BODY, content_type="text/csv")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@asynccontextmanager
async def hostile_servers() -> AsyncIterator[Hostile]:
    """The hostile API and the "elsewhere" origin, on free loopback ports."""
    state = Hostile()
    runners = []
    try:
        for app, attribute in (
            (build_api(state), "api_url"),
            (build_elsewhere(state), "elsewhere_url"),
        ):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            setattr(state, attribute, f"http://127.0.0.1:{runner.addresses[0][1]}")
        yield state
    finally:
        for runner in runners:
            await runner.cleanup()
