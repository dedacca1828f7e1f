"""The helper endpoints (time zones, teams) and the fake's job timeline."""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, ManualClock

from .helpers import AUTH, COMPANY_KEY, create_job, poll, send

pytestmark = pytest.mark.anyio

PATHS = {"timezones": "/api/public/config/timezones", "teams": "/api/public/teams"}


@pytest.mark.parametrize("kind", ["timezones", "teams"])
async def test_helper_endpoints_answer_in_the_envelope(kind: str) -> None:
    """Both helpers answer PASS in the usual envelope with a list, and are counted by kind."""
    async with FakeApi(FakeConfig()) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                url = f"{fake.base_url}{PATHS[kind]}?companyKey={COMPANY_KEY}"
                status, body, _ = await send(session, "GET", url)
    assert status == 200
    assert body["status"] == "PASS"
    assert body["request"] is None and body["message"] is None
    result = body["result"]
    assert isinstance(result, list) and result
    if kind == "timezones":
        for zone in result:
            assert set(zone) == {"id", "name", "shortName", "offsetString", "offsetMillis"}
            assert isinstance(zone["offsetMillis"], int)
        assert "America/Chicago" in [zone["id"] for zone in result]
    else:
        for team in result:
            assert set(team) == {"uuid", "teamId", "name", "description", "numberOfMembers"}
            assert isinstance(team["teamId"], int) and isinstance(team["name"], str)
            assert isinstance(team["numberOfMembers"], int)
    assert fake.counters.requests[kind] == 1
    assert fake.counters.requests["create"] == 0


@pytest.mark.parametrize("kind", ["timezones", "teams"])
async def test_helper_endpoints_check_credentials_and_company_key(kind: str) -> None:
    """Without Basic auth a helper answers 401; with a wrong or no companyKey 403."""
    wrong = {"Authorization": aiohttp.encode_basic_auth("demo", "nope")}
    async with FakeApi(FakeConfig()) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                base = f"{fake.base_url}{PATHS[kind]}"
                good = f"{base}?companyKey={COMPANY_KEY}"
                answers = [
                    (await send(session, "GET", good, headers={}))[0],
                    (await send(session, "GET", good, headers=wrong))[0],
                    (await send(session, "GET", f"{base}?companyKey=other"))[0],
                    (await send(session, "GET", base))[0],
                    (await send(session, "POST", good))[0],
                ]
    assert answers == [401, 401, 403, 403, 405]
    rejections = fake.counters.rejections
    assert (rejections["unauthorized"], rejections["forbidden"]) == (2, 2)


async def test_helper_endpoints_take_the_injected_faults() -> None:
    """A helper request meets the rate_limit fault like any other API request."""
    config = FakeConfig(faults=Faults(rate_limit=1.0))
    async with FakeApi(config) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                url = f"{fake.base_url}{PATHS['teams']}?companyKey={COMPANY_KEY}"
                status, _, response = await send(session, "GET", url)
    assert status == 429
    assert response.headers["Retry-After"] == "1"


async def test_timeline_records_created_ready_and_first_download() -> None:
    """/_fake/timeline gives each job's created, ready and first-download times on the fake clock."""
    clock = ManualClock(start=100.0)
    async with FakeApi(FakeConfig(job_duration=2.0), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                first = await create_job(session, fake)
                clock.advance(1)
                second = await create_job(session, fake, "user")
                clock.advance(3)
                entry, _ = await poll(session, first["statusUrl"])
                download = entry["jobInfo"]["downloadUrl"]
                for _ in range(2):
                    status, _, _ = await send(session, "GET", download)
                    assert status == 307
                    clock.advance(1)
                status, body, _ = await send(
                    session, "GET", f"{fake.base_url}/_fake/timeline", headers={}
                )
    assert status == 200
    assert body == {
        "jobs": [
            {
                "workflow_id": first["workflowId"],
                "export_id": "conversation",
                "created_at": 100.0,
                "ready_at": 102.0,
                "first_download_at": 104.0,
            },
            {
                "workflow_id": second["workflowId"],
                "export_id": "user",
                "created_at": 101.0,
                "ready_at": 103.0,
                "first_download_at": None,
            },
        ]
    }


async def test_download_before_ready_does_not_count_as_first_download() -> None:
    """A 409 download of a running job leaves first_download_at empty."""
    clock = ManualClock()
    async with FakeApi(FakeConfig(job_duration=5.0), clock=clock) as fake:
        with anyio.fail_after(5):
            async with aiohttp.ClientSession() as session:
                created = await create_job(session, fake)
                url = created["statusUrl"].replace("/status?", "/download?")
                status, _, _ = await send(session, "GET", url, headers=AUTH)
                _, body, _ = await send(session, "GET", f"{fake.base_url}/_fake/timeline")
    assert status == 409
    assert body["jobs"][0]["first_download_at"] is None
