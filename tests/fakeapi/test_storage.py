"""Downloads: the 307 to a second origin, pre-signed URL checks, leaks, cuts and file content."""

from __future__ import annotations

import aiohttp
import anyio
import pytest
from yarl import URL

from orchestrator.fakeapi import (
    FakeApi,
    FakeConfig,
    Faults,
    ManualClock,
    describe,
    expected_file,
    serve_forever,
)

from .helpers import AUTH, PASSWORD, WINDOW, Pairs, create_job, send

pytestmark = pytest.mark.anyio

CONFIG = FakeConfig(job_duration=1.0)


async def ready_download_url(
    session: aiohttp.ClientSession,
    fake: FakeApi,
    clock: ManualClock,
    path: str = "conversation",
    params: Pairs | None = None,
) -> str:
    """Create a job, let it finish on the manual clock, and return its downloadUrl."""
    created = await create_job(session, fake, path, params)
    clock.advance(1)
    _, body, _ = await send(session, "GET", created["statusUrl"])
    url: str = body["result"]["jobInfo"]["downloadUrl"]
    return url


async def presigned_url(session: aiohttp.ClientSession, download_url: str) -> str:
    status, _, response = await send(session, "GET", download_url)
    assert status == 307
    location: str = response.headers["Location"]
    return location


async def test_download_redirects_to_the_storage_origin_without_auth() -> None:
    """Download answers 307 to another port, which serves the file to a request without auth."""
    clock = ManualClock()
    params = [*WINDOW, ("reportFormat", "csv"), ("locale", "en_US"), ("priorities", "1,2")]
    with anyio.fail_after(5):
        async with FakeApi(CONFIG, clock=clock) as fake, aiohttp.ClientSession() as session:
            location = await presigned_url(
                session, await ready_download_url(session, fake, clock, params=params)
            )
            assert location.startswith(f"{fake.storage_url}/bucket/")
            assert URL(location).port != URL(fake.base_url).port
            assert {"X-Expires", "X-Signature"} <= set(URL(location).query)
            async with session.get(URL(location, encoded=True)) as response:
                assert response.status == 200
                assert response.content_type == "text/csv"
                body = await response.read()
            assert response.content_length == len(body)
            assert body == expected_file("conversation", params)
            assert body.startswith(b"CONVERSATION_ID,STATUS,")
            assert fake.counters.downloads_completed == 1
            assert fake.counters.credential_leaks == 0


async def test_following_the_redirect_with_credentials_is_refused_and_counted() -> None:
    """Storage refuses any Authorization header with 403 and counts it as a credential leak."""
    clock = ManualClock()
    with anyio.fail_after(5):
        async with FakeApi(CONFIG, clock=clock) as fake, aiohttp.ClientSession() as session:
            download_url = await ready_download_url(session, fake, clock)
            location = await presigned_url(session, download_url)
            for headers in (AUTH, {"Authorization": "Bearer something-else"}):
                status, body, _ = await send(session, "GET", location, headers=headers)
                assert status == 403
                assert "<Error>" in body
            assert fake.counters.credential_leaks == 2
            assert fake.counters.basic_credential_leaks == 1
            assert PASSWORD not in location


async def test_expired_url_is_refused_and_a_new_one_works() -> None:
    """A pre-signed URL past its TTL gets 403 "Request has expired"; asking the API again works."""
    clock, wall = ManualClock(), ManualClock(start=1_700_000_000.0)
    config = FakeConfig(job_duration=1.0, url_ttl_seconds=60)
    with anyio.fail_after(5):
        async with (
            FakeApi(config, clock=clock, wall_clock=wall) as fake,
            aiohttp.ClientSession() as session,
        ):
            download_url = await ready_download_url(session, fake, clock)
            location = await presigned_url(session, download_url)
            wall.advance(61)
            status, body, _ = await send(session, "GET", location, headers={})
            assert status == 403
            assert "Request has expired" in body
            fresh = await presigned_url(session, download_url)
            status, _, _ = await send(session, "GET", fresh, headers={})
            assert status == 200
            assert fake.counters.rejections["url_expired"] == 1


async def test_expired_url_fault_issues_dead_links() -> None:
    """The expired_url fault makes the download endpoint hand out an already-expired URL."""
    clock = ManualClock()
    config = FakeConfig(job_duration=1.0, faults=Faults(expired_url=1.0))
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            location = await presigned_url(session, await ready_download_url(session, fake, clock))
            status, body, _ = await send(session, "GET", location, headers={})
            assert status == 403
            assert "Request has expired" in body
            assert fake.counters.expired_urls_issued == 1


async def test_tampered_signature_or_expiry_is_refused() -> None:
    """Changing the signature or stretching the expiry of a pre-signed URL gets 403."""
    clock = ManualClock()
    with anyio.fail_after(5):
        async with FakeApi(CONFIG, clock=clock) as fake, aiohttp.ClientSession() as session:
            location = URL(
                await presigned_url(session, await ready_download_url(session, fake, clock))
            )
            expires = int(location.query["X-Expires"])
            bad = [
                location.update_query({"X-Signature": "0" * 64}),
                location.update_query({"X-Expires": str(expires + 1000)}),
                location.with_query(None),
            ]
            for url in bad:
                status, body, _ = await send(session, "GET", str(url), headers={})
                assert status == 403
                assert "SignatureDoesNotMatch" in body


async def test_download_before_ready_is_409() -> None:
    """Asking for the download of a running job gets 409 and a FAIL envelope."""
    with anyio.fail_after(5):
        async with FakeApi(CONFIG, clock=ManualClock()) as fake, aiohttp.ClientSession() as session:
            created = await create_job(session, fake)
            status, body, _ = await send(
                session, "GET", created["statusUrl"].replace("/status?", "/download?")
            )
            assert status == 409
            assert body["message"] == "export not ready"


async def test_cut_download_raises_a_payload_error_in_the_client() -> None:
    """With cut_download, the body stops halfway and aiohttp raises ClientPayloadError."""
    clock = ManualClock()
    config = FakeConfig(job_duration=1.0, rows_per_day=500, faults=Faults(cut_download=1.0))
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            location = await presigned_url(session, await ready_download_url(session, fake, clock))
            async with session.get(URL(location, encoded=True)) as response:
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()
            assert fake.counters.downloads_cut == 1
            assert fake.counters.downloads_completed == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("conversation", [*WINDOW, ("reportFormat", "json")]),
        ("report/user", [*WINDOW, ("agentId", "7"), ("agentId", "3"), ("reportFormat", "csv")]),
        (
            "marketing/raw_brand_post",
            [*WINDOW, ("reportMetrics", "TEXT"), ("reportMetrics", "NOT_A_COLUMN")],
        ),
    ],
)
async def test_downloaded_files_match_expected_file(path: str, params: Pairs) -> None:
    """Each job's file is byte-identical to expected_file() of the parameters the client sent."""
    clock = ManualClock()
    config = FakeConfig(job_duration=1.0, rows_per_day=300)
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            location = await presigned_url(
                session, await ready_download_url(session, fake, clock, path, params)
            )
            async with session.get(URL(location, encoded=True)) as response:
                body = await response.read()
                content_type = response.content_type
            export_id = path.rsplit("/", 1)[-1]
            assert body == expected_file(export_id, params, rows_per_day=300)
            csv = ("reportFormat", "csv") in params
            assert content_type == ("text/csv" if csv else "application/json")


async def test_fake_runs_under_anyio_and_shuts_down_on_cancel() -> None:
    """serve_forever runs in an anyio task group and frees its port when the group is cancelled."""
    ready: list[FakeApi] = []
    started = anyio.Event()

    def on_ready(fake: FakeApi) -> None:
        ready.append(fake)
        started.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: serve_forever(CONFIG, port=0, on_ready=on_ready))
            await started.wait()
            fake = ready[0]
            assert fake.base_url in describe(fake)
            address = URL(fake.base_url)
            async with aiohttp.ClientSession() as session:
                status, _, _ = await send(session, "GET", f"{fake.base_url}/_fake/counters")
                assert status == 200
            tg.cancel_scope.cancel()
        with pytest.raises(OSError):
            await anyio.connect_tcp(address.host or "", address.port or 0)
