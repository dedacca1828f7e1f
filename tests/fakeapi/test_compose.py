"""Every fault and answer form at once: the fake keeps answering sensibly, and a client that
follows the quick start (`curl -L`, credentials to the API origin only) gets every file intact."""

from __future__ import annotations

import gzip
from typing import Any

import aiohttp
import anyio
import pytest

from orchestrator.fakeapi import FakeApi, FakeConfig, Faults

from .helpers import WINDOW, Pairs, create, follow, send

pytestmark = pytest.mark.anyio

RETRYABLE = (429, 500, 502, 503)
EVERYTHING = Faults(
    rate_limit=0.1,
    server_error=0.1,
    job_failure=0.1,
    cut_download=0.25,
    expired_url=0.2,
    text_plain=0.2,
    retry_after_seconds=0,
    direct_download=0.4,
    redirect_hops=3,
    late_url_polls=1,
    gzip_storage=0.5,
    access_tokens=True,
    missing_exports=frozenset({"response"}),
    refused_exports=frozenset({"user"}),
    unknown_state_polls=1,
    closed_empty_detail_polls=1,
    empty_exports=frozenset({"author"}),
    empty_form="zero",
)


def check_retryable(status: int, body: Any) -> None:
    """A refusal the client may retry, in the fake's own forms (never aiohttp's crash page)."""
    assert status in RETRYABLE, (status, body)
    if status != 429:
        assert str(body).startswith(("<html>", "b'<html>")), body


async def create_answer(
    session: aiohttp.ClientSession, fake: FakeApi, path: str, params: Pairs
) -> tuple[int, Any]:
    """The first answer to a create that is not a retryable refusal."""
    while True:
        status, body, _ = await create(session, fake, path, params)
        if status not in RETRYABLE:
            return status, body
        check_retryable(status, body)


async def created_status_url(
    session: aiohttp.ClientSession, fake: FakeApi, path: str, params: Pairs
) -> str:
    status, body = await create_answer(session, fake, path, params)
    assert status == 200, body
    url: str = body["result"]["statusUrl"]
    return url


async def ready_url(session: aiohttp.ClientSession, status_url: str) -> str | None:
    """Poll until a downloadUrl shows (None when the export FAILED)."""
    while True:
        status, body, _ = await send(session, "GET", status_url)
        if status != 200:
            check_retryable(status, body)
            continue
        result = body["result"]
        entry = result[0] if isinstance(result, list) else result
        if entry["result"]["detail"] == "FAILED":
            return None
        url: str = entry["jobInfo"]["downloadUrl"]
        if url:
            return url


async def downloaded(session: aiohttp.ClientSession, fake: FakeApi, url: str) -> bytes:
    """Download like curl -L, retrying cut bodies and refused links; the decoded file."""
    while True:
        try:
            answers, raw, headers = await follow(session, fake, url)
        except aiohttp.ClientPayloadError:
            continue
        final = answers[-1][0]
        if final == 200:
            assert int(headers["Content-Length"]) == len(raw)
            return gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
        if final != 403:  # 403: an expired pre-signed URL; ask the API again
            check_retryable(final, raw)


async def fetch(session: aiohttp.ClientSession, fake: FakeApi, path: str, params: Pairs) -> bytes:
    while True:
        url = await ready_url(session, await created_status_url(session, fake, path, params))
        if url is not None:
            return await downloaded(session, fake, url)


async def test_every_knob_at_once_keeps_every_file_intact() -> None:
    """With all faults and answer forms on, files arrive byte-identical, refused exports are
    refused every time, nothing crashes the fake and no credential reaches storage."""
    config = FakeConfig(job_duration=0.0, rows_per_day=300, faults=EVERYTHING, seed=11)
    exports = ["conversation", "author", "combined", "marketing/raw_brand_post"]
    async with FakeApi(config) as fake:
        with anyio.fail_after(30):
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                for index in range(24):
                    path = exports[index % len(exports)]
                    report_format = "csv" if index % 3 else "json"
                    params: Pairs = [*WINDOW, ("reportFormat", report_format)]
                    params.append(("teamIds", str(index)))
                    body = await fetch(session, fake, path, params)
                    export_id = path.rsplit("/", 1)[-1]
                    assert body == config.expected_file(export_id, params), (path, params)
                refusals = [
                    (await create_answer(session, fake, path, WINDOW))[0]
                    for path in ("response", "user", "response", "user")
                ]
    assert refusals == [404, 403, 404, 403]
    counters = fake.counters
    assert counters.credential_leaks == 0
    assert counters.downloads_direct and counters.downloads_gzipped and counters.requests["hop"]
    assert counters.downloads_cut and counters.expired_urls_issued and counters.jobs_failed
