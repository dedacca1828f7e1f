"""Small client-side helpers for talking to the fake the way a client would, with aiohttp."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from yarl import URL

from orchestrator.fakeapi import FakeApi

USERNAME, PASSWORD, COMPANY_KEY = "demo", "demo-password", "demo-company"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)}
DAY_MS = 86_400_000
START_MS = 1_551_441_600_000
WINDOW = [("startTime", str(START_MS)), ("endTime", str(START_MS + DAY_MS))]
"""One day of data, as create parameters."""

Pairs = list[tuple[str, str]]


def reports_url(fake: FakeApi, path: str) -> str:
    return f"{fake.base_url}/api/public/reports/report/{path}"


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: Pairs | None = None,
    data: Pairs | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request without following redirects; the body parsed as JSON when it is JSON."""
    async with session.request(
        method,
        URL(url, encoded=True),
        headers=AUTH if headers is None else headers,
        params=params,
        data=data,
        allow_redirects=False,
    ) as response:
        text = await response.text()
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return response.status, body, response


async def create(
    session: aiohttp.ClientSession,
    fake: FakeApi,
    path: str = "conversation",
    params: Pairs | None = None,
    *,
    method: str = "GET",
    company_key: str = COMPANY_KEY,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """Create an export by GET (params in the query) or POST (params in a form body)."""
    url = f"{reports_url(fake, path)}?companyKey={company_key}"
    sent = WINDOW if params is None else params
    if method == "GET":
        return await send(session, "GET", url, headers=headers, params=sent)
    return await send(session, "POST", url, headers=headers, data=sent)


async def create_job(
    session: aiohttp.ClientSession,
    fake: FakeApi,
    path: str = "conversation",
    params: Pairs | None = None,
) -> dict[str, Any]:
    """Create an export that must succeed; returns the create `result`."""
    status, body, _ = await create(session, fake, path, params)
    assert status == 200, body
    assert body["status"] == "PASS"
    result: dict[str, Any] = body["result"]
    return result


async def poll(session: aiohttp.ClientSession, status_url: str) -> tuple[dict[str, Any], bool]:
    """One status poll: the job's entry (from the list or object form) and whether it was an object."""
    status, body, _ = await send(session, "GET", status_url)
    assert status == 200, body
    result = body["result"]
    if isinstance(result, list):
        [entry] = result
        return entry, False
    return result, True


async def follow(
    session: aiohttp.ClientSession, fake: FakeApi, url: str, *, max_hops: int = 5
) -> tuple[list[tuple[int, str]], bytes, dict[str, str]]:
    """Follow a download like `curl -L` with Basic credentials sent to the API origin only,
    never again once a hop left it; the (status, url) of each answer, the raw (undecoded)
    final body and its headers. Use a session made with `auto_decompress=False`."""
    answers: list[tuple[int, str]] = []
    left_api = False
    for _ in range(max_hops + 1):
        left_api = left_api or not url.startswith(fake.base_url + "/")
        headers = {} if left_api else AUTH
        async with session.get(
            URL(url, encoded=True), headers=headers, allow_redirects=False
        ) as response:
            answers.append((response.status, url))
            if response.status not in (301, 302, 303, 307, 308):
                return answers, await response.read(), dict(response.headers)
            url = response.headers["Location"]
    raise AssertionError(f"more than {max_hops} redirects: {answers}")
