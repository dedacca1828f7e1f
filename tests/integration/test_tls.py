"""TLS certificates are verified: a server whose CA we do not trust gets nothing, and a CA bundle
from the settings makes a private CA trusted."""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import anyio
import pytest
import trustme
from aiohttp import web
from yarl import URL

from orchestrator.app import tls_context
from orchestrator.core.backoff import RetryPolicy
from orchestrator.core.jobs import Job, Window
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess, ReportsClient
from orchestrator.edges.settings import load_settings
from orchestrator.errors import CertificateRejected

JOB = Job(
    export_name="c",
    export_id="conversation",
    source="care",
    format="csv",
    locale="en_US",
    method="GET",
    window=Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)),
)


@asynccontextmanager
async def https_api(ca: trustme.CA) -> AsyncIterator[tuple[str, list[str]]]:
    """An API answering create over TLS with a certificate from `ca`; yields its URL and the
    Authorization headers it received."""
    seen: list[str] = []

    async def create(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        result = {
            "workflowId": "wf",
            "runId": "r+/=",
            "downloadUrl": "",
            "statusUrl": f"{request.url.origin()}/s",
        }
        return web.json_response(
            {"status": "PASS", "request": None, "message": None, "result": result}
        )

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    app = web.Application()
    app.router.add_get("/api/public/reports/report/{export_id}", create)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def submit_with(base_url: str, tls: ssl.SSLContext) -> str:
    access = ApiAccess(URL(base_url), "user", "password-123", "key-123")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session:
        client = ReportsClient(
            session,
            access,
            RequestBudget(1000),
            RetryPolicy(max_attempts=3, base_seconds=0.001),
            jitter=random.random,
        )
        return (await client.submit(JOB)).workflow_id


@pytest.mark.anyio
async def test_an_untrusted_certificate_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the private CA, the request fails with CertificateRejected, is not retried, and
    the server never sees our credentials."""
    monkeypatch.delenv("ORCHESTRATOR_CA_BUNDLE", raising=False)
    with anyio.fail_after(10):
        async with https_api(trustme.CA()) as (base_url, seen):
            with pytest.raises(CertificateRejected, match="ORCHESTRATOR_CA_BUNDLE"):
                await submit_with(base_url, tls_context(load_settings()))
    assert seen == []


@pytest.mark.anyio
async def test_a_ca_bundle_from_the_settings_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ORCHESTRATOR_CA_BUNDLE naming the private CA, the same server is reached."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("ORCHESTRATOR_CA_BUNDLE", str(bundle))
    with anyio.fail_after(10):
        async with https_api(ca) as (base_url, seen):
            assert await submit_with(base_url, tls_context(load_settings())) == "wf"
    assert len(seen) == 1
