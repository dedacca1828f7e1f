"""The lease per shard against a real S3 API (moto on loopback), with a TTL of a fraction of a
second: a live holder refuses a second run, a killed one is taken over after one TTL, a released
one at once, and of two runs that try together exactly one wins."""

from __future__ import annotations

import json

import anyio
import obstore
import pytest

from orchestrator.core.location import Location
from orchestrator.edges.storage.lease import Lease
from orchestrator.edges.storage.stores import build_store
from orchestrator.errors import JournalLocked, JournalUnavailable

pytestmark = pytest.mark.anyio
TTL = 0.4
PATH = ".orchestrator/lease.json"


SLOW_TTL = 3.0
"""For the tests whose point is that nothing waits a TTL: long enough that a loaded machine's
delays stay far below it."""


def lease(location: Location, holder: str, ttl: float = TTL) -> Lease:
    return Lease(build_store(location), location, PATH, holder=holder, ttl=ttl)


async def test_a_live_holder_refuses_a_second_run(bucket: Location) -> None:
    """While the holder renews, a second run is refused with JournalLocked (exit 75) within about
    one renewal (a third of the TTL), not a whole TTL, and the holder keeps writing."""
    first, second = lease(bucket, "pod-a", SLOW_TTL), lease(bucket, "pod-b", SLOW_TTL)
    await first.take()
    async with anyio.create_task_group() as group:
        await group.start(first.keep)
        started = anyio.current_time()
        with pytest.raises(JournalLocked, match="pod-a"):
            await second.take()
        assert anyio.current_time() - started < SLOW_TTL
        group.cancel_scope.cancel()
    assert first.fence() is None


async def test_a_killed_holder_is_taken_over_after_one_ttl(bucket: Location) -> None:
    """A holder that stopped renewing (a killed pod) is taken over once its lease stayed unchanged
    for a TTL; the old holder's fence is closed by then, and its late renewal finds it lost."""
    killed, successor = lease(bucket, "pod-a"), lease(bucket, "pod-b")
    await killed.take()
    started = anyio.current_time()
    await successor.take()
    assert anyio.current_time() - started >= TTL
    assert killed.fence() is not None
    await killed.renew()
    assert "another run took over" in (killed.fence() or "")
    assert successor.fence() is None


async def test_a_released_lease_is_taken_at_once(bucket: Location) -> None:
    """A clean exit releases the lease, and the next run takes it without waiting."""
    first, second = lease(bucket, "pod-a", SLOW_TTL), lease(bucket, "pod-b", SLOW_TTL)
    await first.take()
    await first.release()
    started = anyio.current_time()
    await second.take()
    assert anyio.current_time() - started < SLOW_TTL / 2


async def test_of_two_runs_meeting_a_dead_lease_one_wins(bucket: Location) -> None:
    """Two runs that take over the same lapsed lease together: the store's If-Match lets exactly
    one through; the other is refused."""
    await lease(bucket, "pod-dead").take()
    outcomes: list[str] = []

    async def contend(holder: str) -> None:
        try:
            await lease(bucket, holder).take()
            outcomes.append("held")
        except JournalLocked:
            outcomes.append("locked")

    async with anyio.create_task_group() as group:
        for holder in ("pod-b", "pod-c"):
            group.start_soon(contend, holder)
    assert sorted(outcomes) == ["held", "locked"]


async def test_a_renewal_whose_answer_was_lost_keeps_the_lease(bucket: Location) -> None:
    """A renewal refused because an earlier one landed unanswered (the lease still names this run)
    adopts the lease as it is, instead of stopping the run."""
    holder = lease(bucket, "pod-a")
    await holder.take()
    body = json.dumps({"holder": "pod-a", "ttl": TTL, "released": False}).encode()
    await obstore.put_async(build_store(bucket), PATH, body)  # its ETag unknown to the holder
    await holder.renew()
    assert holder.fence() is None


async def test_a_missing_bucket_is_a_usage_error(bucket: Location) -> None:
    """A lease in a bucket that does not exist is JournalUnavailable (exit 2), naming the bucket."""
    missing = Location("s3", "no-such-bucket-here", "x")
    with pytest.raises(JournalUnavailable, match="does not exist"):
        await lease(missing, "pod-a").take()
