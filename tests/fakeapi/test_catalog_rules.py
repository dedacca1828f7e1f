"""The fake follows the vendor's catalog: required parameters, the interval range rules and their
"Too many buckets" answer, POST parameters where each export takes them, and the create answers
of the generic endpoint and of the `user` export."""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from orchestrator.fakeapi import FakeApi, FakeConfig, Faults

from .helpers import AUTH, COMPANY_KEY, DAY_MS, START_MS, create, reports_url, send

pytestmark = pytest.mark.anyio

SLOW = FakeConfig(job_duration=10.0)
WEEK = [("startTime", str(START_MS)), ("endTime", str(START_MS + 7 * DAY_MS))]
MONTH = [("startTime", str(START_MS)), ("endTime", str(START_MS + 31 * DAY_MS))]


async def test_a_missing_required_parameter_is_refused() -> None:
    """team_performance_interval without timeInterval is the documented 400 `{}`; with it, 200."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            missing = await create(session, fake, "team_performance_interval", WEEK)
            given = [*WEEK, ("timeInterval", "86400000")]
            ok = await create(session, fake, "team_performance_interval", given)
    assert (missing[0], missing[1]) == (400, {})
    assert ok[0] == 200


@pytest.mark.parametrize(
    ("window", "interval", "buckets"),
    [(WEEK, "3600000", 169), (MONTH, "3600000", 745), (MONTH, "43200000", 63)],
)
async def test_an_over_fine_interval_gets_too_many_buckets(
    window: list[tuple[str, str]], interval: str, buckets: int
) -> None:
    """A week or a month of hourly buckets, a month of 12 h ones: the vendor's words, its count
    (745 for a 31-day month of hours, as in the vendor's example), no job created."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            params = [*window, ("timeInterval", interval)]
            status, body, _ = await create(session, fake, "team_performance_interval", params)
    assert (status, body["status"]) == (400, "FAIL")
    assert body["result"].startswith("Unable to hydrate filter for export info: com.lithium.")
    assert body["result"].endswith(
        f"Too many buckets ({buckets}) requested. Select a larger interval?"
    )
    assert fake.counters.jobs_created == 0


async def test_allowed_and_unruled_intervals_are_accepted_and_unlisted_ones_refused() -> None:
    """A week of days and a day of 5-minute buckets pass; 60000 (not listed) is a 400."""
    day = [("startTime", str(START_MS)), ("endTime", str(START_MS + DAY_MS))]
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            answers = [
                (
                    await create(
                        session, fake, "team_performance_interval", [*w, ("timeInterval", i)]
                    )
                )[0]
                for w, i in ((WEEK, "86400000"), (day, "300000"), (day, "60000"))
            ]
    assert answers == [200, 200, 400]


async def test_a_post_reads_a_query_exports_parameters_from_the_query() -> None:
    """conversation's POST takes every parameter in the query, with no body (the vendor's
    examples); user's takes a form body and ignores window parameters in the query."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            query = f"companyKey={COMPANY_KEY}&startTime={START_MS}&endTime={START_MS + DAY_MS}"
            for export_id in ("conversation", "user"):
                url = f"{reports_url(fake, export_id)}?{query}"
                status, _, _ = await send(session, "POST", url, headers=AUTH)
                assert status == (200 if export_id == "conversation" else 400)
            body = await create(session, fake, "user", method="POST")
    assert body[0] == 200


async def test_the_generic_create_answer_carries_the_ids_alone() -> None:
    """With ids_only_creates, a generic report type answers `{workflowId, runId}`; `user` (not
    one of them) still gets its statusUrl."""
    config = FakeConfig(job_duration=10.0, faults=Faults(ids_only_creates=1.0))
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            _, generic, _ = await create(session, fake, "conversation")
            _, user, _ = await create(session, fake, "user")
    assert set(generic["result"]) == {"workflowId", "runId"}
    assert user["result"]["statusUrl"]


async def test_the_user_create_answer_can_carry_its_download_url_early() -> None:
    """With early_download_url, `user`'s create answer has its downloadUrl at once; fetched
    before the export is ready it answers 409; other exports keep an empty one."""
    config = FakeConfig(job_duration=10.0, faults=Faults(early_download_url=True))
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            _, user, _ = await create(session, fake, "user")
            _, conversation, _ = await create(session, fake, "conversation")
            early = user["result"]["downloadUrl"]
            status, _, _ = await send(session, "GET", early)
    assert f"/download?companyKey={COMPANY_KEY}" in early
    assert conversation["result"]["downloadUrl"] == ""
    assert status == 409
