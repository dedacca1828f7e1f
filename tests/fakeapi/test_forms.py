"""The answer forms of issue 7: each knob makes the fake answer in that form, over real sockets."""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import unquote

import aiohttp
import anyio
import pytest
from yarl import URL

from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, ManualClock, expected_file

from .helpers import (
    AUTH,
    COMPANY_KEY,
    WINDOW,
    Pairs,
    create,
    create_job,
    follow,
    poll,
    send,
)

pytestmark = pytest.mark.anyio

CSV = [*WINDOW, ("reportFormat", "csv")]


def with_faults(**faults: Any) -> FakeConfig:
    return FakeConfig(job_duration=1.0, rows_per_day=400, faults=Faults(**faults))


async def ready_job(
    session: aiohttp.ClientSession,
    fake: FakeApi,
    clock: ManualClock,
    path: str = "conversation",
    params: Pairs | None = None,
) -> str:
    """Create a job, let it finish, and return the downloadUrl its first ready poll shows."""
    created = await create_job(session, fake, path, params)
    clock.advance(1)
    entry, ready = await poll(session, created["statusUrl"])
    assert ready
    url: str = entry["jobInfo"]["downloadUrl"]
    return url


async def test_direct_download_answers_200_with_the_file() -> None:
    """With direct_download=1 the download endpoint streams the file itself, with its length."""
    clock = ManualClock()
    async with FakeApi(with_faults(direct_download=1.0), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                url = await ready_job(session, fake, clock, params=CSV)
                async with session.get(URL(url, encoded=True), headers=AUTH) as response:
                    assert response.status == 200
                    assert response.content_type == "text/csv"
                    body = await response.read()
                assert response.content_length == len(body)
                assert body == expected_file("conversation", CSV, rows_per_day=400)
    counters = fake.counters
    assert (counters.downloads_direct, counters.downloads_completed) == (1, 1)
    assert counters.downloads_redirected == counters.requests["storage"] == 0


@pytest.mark.parametrize("hops", [1, 2, 3, 4])
async def test_redirect_hops_lead_to_the_file_through_both_origins(hops: int) -> None:
    """With redirect_hops=N the download passes N extra hops (5 in all at most) to the file."""
    clock = ManualClock()
    async with FakeApi(with_faults(redirect_hops=hops), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                url = await ready_job(session, fake, clock)
                answers, body, _ = await follow(session, fake, url)
                api, storage = fake.base_url, fake.storage_url
    statuses = [status for status, _ in answers]
    assert statuses[0] == 302
    assert all(status in (302, 303, 307, 308) for status in statuses[1:-1])
    assert statuses[-1] == 200
    assert len(answers) - 1 == hops + 1 <= 5
    hop_urls = [hop_url for _, hop_url in answers[1:-1]]
    on_api = [hop_url.startswith(api) for hop_url in hop_urls]
    assert on_api == [number % 2 == 1 for number in range(1, hops + 1)]
    assert answers[-1][1].startswith(f"{storage}/bucket/")
    assert body == expected_file("conversation", WINDOW, rows_per_day=400)
    assert fake.counters.requests["hop"] == hops
    assert fake.counters.credential_leaks == 0


async def test_credentials_at_a_hop_past_the_api_origin_are_a_leak() -> None:
    """A hop on the API origin takes credentials before the chain left it; after, they leak."""
    clock = ManualClock()
    async with FakeApi(with_faults(redirect_hops=3), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                url = await ready_job(session, fake, clock)
                _, _, first = await send(session, "GET", url)
                hop1 = first.headers["Location"]
                status, _, answer = await send(session, "GET", hop1)
                assert status == 307
                hop2 = answer.headers["Location"]
                assert hop2.startswith(fake.storage_url)
                status, body, _ = await send(session, "GET", hop2)
                assert status == 403
                assert "<Error>" in body
                status, _, answer = await send(session, "GET", hop2, headers={})
                hop3 = answer.headers["Location"]
                assert hop3.startswith(fake.base_url)
                status, _, _ = await send(session, "GET", hop3)
                assert status == 403
    assert fake.counters.credential_leaks == 2
    assert fake.counters.basic_credential_leaks == 2


async def test_late_url_polls_show_completed_without_a_url_first() -> None:
    """With late_url_polls=2 a COMPLETED job's first two polls carry an empty downloadUrl."""
    clock = ManualClock()
    async with FakeApi(with_faults(late_url_polls=2), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                created = await create_job(session, fake)
                clock.advance(1)
                shown = []
                for _ in range(3):
                    entry, ready = await poll(session, created["statusUrl"])
                    assert ready
                    assert entry["result"]["runnerState"] == "CLOSED"
                    assert entry["result"]["detail"] == "COMPLETED"
                    shown.append(entry["jobInfo"]["downloadUrl"])
    assert shown[:2] == ["", ""]
    assert "/download?analyticsAccessToken=" in shown[2]


@pytest.mark.parametrize("accept", ["identity", "gzip, deflate", None])
async def test_gzip_storage_sends_gzip_whatever_was_asked(accept: str | None) -> None:
    """With gzip_storage=1 storage sends gzip with the compressed Content-Length, even to
    `Accept-Encoding: identity`, and the decoded bytes are the expected file."""
    clock = ManualClock()
    async with FakeApi(with_faults(gzip_storage=1.0), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                url = await ready_job(session, fake, clock, params=CSV)
                _, _, answer = await send(session, "GET", url)
                headers = {} if accept is None else {"Accept-Encoding": accept}
                async with session.get(
                    URL(answer.headers["Location"], encoded=True), headers=headers
                ) as response:
                    raw = await response.read()
                assert response.headers["Content-Encoding"] == "gzip"
                assert response.content_length == len(raw)
    expected = expected_file("conversation", CSV, rows_per_day=400)
    assert gzip.decompress(raw) == expected
    assert len(raw) < len(expected)
    assert fake.counters.downloads_gzipped == 1


async def test_gzip_bodies_are_the_same_bytes_every_time() -> None:
    """Two gzip downloads of one job send identical bytes, so the cached length stays right."""
    clock = ManualClock()
    async with FakeApi(with_faults(gzip_storage=1.0), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                url = await ready_job(session, fake, clock)
                bodies = [(await follow(session, fake, url))[1] for _ in range(2)]
    assert bodies[0] == bodies[1]


async def test_access_tokens_replace_the_company_key_and_refuse_it() -> None:
    """With access_tokens every URL carries a per-job percent-encoded token, and a status or
    download request that carries a companyKey (instead of or besides it) gets 403."""
    clock = ManualClock()
    async with FakeApi(with_faults(access_tokens=True), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                created = [await create_job(session, fake) for _ in range(2)]
                status_url = created[0]["statusUrl"]
                base, _, query = status_url.partition("?")
                name, _, encoded = query.partition("=")
                assert name == "analyticsAccessToken"
                assert "companyKey" not in status_url
                assert encoded.endswith("%3D%3D")
                assert "%2B" in encoded or "%2F" in encoded
                token = unquote(encoded)
                assert len(token) == 24
                assert token not in created[1]["statusUrl"]
                clock.advance(1)
                entry, ready = await poll(session, status_url)
                assert ready
                download_url = entry["jobInfo"]["downloadUrl"]
                assert download_url.endswith(f"/download?analyticsAccessToken={encoded}")
                for url in (
                    f"{base}?companyKey={COMPANY_KEY}",
                    f"{status_url}&companyKey={COMPANY_KEY}",
                    f"{download_url}&companyKey={COMPANY_KEY}",
                    f"{base}?analyticsAccessToken=bm9wZQ%3D%3D",
                ):
                    status, body, _ = await send(session, "GET", url)
                    assert status == 403, url
                    assert body["status"] == "FAIL"
                status, _, _ = await send(session, "GET", download_url)
                assert status == 307
    assert fake.counters.rejections["forbidden"] == 4


async def test_missing_and_refused_exports_fail_only_their_creates() -> None:
    """missing_exports answer 404 and refused_exports 403 on create, while other exports work."""
    config = with_faults(
        missing_exports=frozenset({"author"}), refused_exports=frozenset({"raw_brand_post"})
    )
    async with FakeApi(config) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                missing = await create(session, fake, "author")
                refused = await create(session, fake, "marketing/raw_brand_post")
                await create_job(session, fake, "conversation")
    assert missing[0] == 404
    assert missing[1]["status"] == "FAIL"
    assert "author" in missing[1]["message"]
    assert refused[0] == 403
    assert "raw_brand_post" in refused[1]["message"]
    rejections = fake.counters.rejections
    assert (rejections["export_missing"], rejections["export_refused"]) == (1, 1)
    assert rejections["unauthorized"] == rejections["forbidden"] == 0
    assert fake.counters.jobs_created == 1


async def test_unknown_state_then_closed_empty_detail_polls() -> None:
    """A job's first polls answer QUEUED, then RUNNING; after it ends, CLOSED with an empty
    detail for closed_empty_detail_polls polls, then the real COMPLETED."""
    clock = ManualClock()
    config = with_faults(unknown_state_polls=2, closed_empty_detail_polls=2)
    async with FakeApi(config, clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                created = await create_job(session, fake)
                seen = []
                for step in range(6):
                    if step == 3:
                        clock.advance(1)
                    entry, ready = await poll(session, created["statusUrl"])
                    result = entry["result"]
                    seen.append((result["runnerState"], result["detail"], ready))
    assert seen == [
        ("QUEUED", "", False),
        ("QUEUED", "", False),
        ("RUNNING", "", False),
        ("CLOSED", "", False),
        ("CLOSED", "", False),
        ("CLOSED", "COMPLETED", True),
    ]


@pytest.mark.parametrize(
    ("report_format", "form", "expected"),
    [
        ("csv", "header", b"AUTHOR_ID,AUTHOR_NAME,NETWORK,FOLLOWER_COUNT,CREATED_TIME\n"),
        ("csv", "zero", b""),
        ("json", "header", b"[]"),
        ("json", "zero", b"[]"),
    ],
)
async def test_empty_exports_serve_empty_files(
    report_format: str, form: str, expected: bytes
) -> None:
    """empty_exports serve a header-only or 0-byte CSV, or `[]`, as config.expected_file says."""
    clock = ManualClock()
    config = with_faults(empty_exports=frozenset({"author"}), empty_form=form)
    params = [*WINDOW, ("reportFormat", report_format)]
    async with FakeApi(config, clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                url = await ready_job(session, fake, clock, "author", params)
                answers, body, headers = await follow(session, fake, url)
                other = await ready_job(session, fake, clock, "conversation", params)
                _, other_body, _ = await follow(session, fake, other)
    assert answers[-1][0] == 200
    assert body == expected == config.expected_file("author", params)
    assert headers["Content-Length"] == str(len(expected))
    assert other_body == config.expected_file("conversation", params)
    assert len(other_body) > 100
