"""The request budget allows at most N request starts in any sliding minute."""

from __future__ import annotations

import anyio
import pytest

from orchestrator.edges.budget import RequestBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_no_minute_holds_more_than_the_budget() -> None:
    """With 20 per minute, 60 requests take two full minutes and no 60 s span holds over 20."""
    time = FakeTime()
    budget = RequestBudget(20, clock=time.clock, sleep=time.sleep)
    starts = []
    with anyio.fail_after(5):
        for _ in range(60):
            await budget.acquire()
            starts.append(time.now)
    assert starts[-1] == pytest.approx(120.0)
    for index, start in enumerate(starts):
        assert sum(1 for s in starts[index:] if s < start + 60.0) <= 20


@pytest.mark.anyio
async def test_concurrent_callers_share_one_budget() -> None:
    """Tasks acquiring at once are admitted in turn, never beyond the budget."""
    time = FakeTime()
    budget = RequestBudget(5, clock=time.clock, sleep=time.sleep)
    starts: list[float] = []

    async def one() -> None:
        await budget.acquire()
        starts.append(time.now)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(one)
    assert sorted(starts) == [0.0] * 5 + [60.0] * 5 + [120.0] * 2


class ManualTime(FakeTime):
    """Time that moves only when the test says so; sleepers wait for it."""

    def __init__(self) -> None:
        super().__init__()
        self.moved = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.moved.wait()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.moved.set()
        self.moved = anyio.Event()


@pytest.mark.anyio
async def test_waiting_downloads_go_before_polls_and_polls_before_creates() -> None:
    """When requests wait for the budget, the ones that free most go first: download, status,
    create; in arrival order within each kind."""
    time = ManualTime()
    budget = RequestBudget(1, clock=time.clock, sleep=time.sleep)
    order: list[str] = []

    async def one(name: str, priority: int) -> None:
        await budget.acquire(priority)
        order.append(name)

    with anyio.fail_after(5):
        await budget.acquire()  # the budget is now spent for a minute
        async with anyio.create_task_group() as group:
            for name, priority in [("create1", 2), ("status", 1), ("download", 0), ("create2", 2)]:
                group.start_soon(one, name, priority)
            for _ in range(4):
                await anyio.wait_all_tasks_blocked()
                time.advance(60)
    assert order == ["download", "status", "create1", "create2"]


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_the_line() -> None:
    """A waiter cancelled in line does not block the ones behind it."""
    time = FakeTime()
    budget = RequestBudget(1, clock=time.clock, sleep=time.sleep)
    with anyio.fail_after(5):
        await budget.acquire()
        with anyio.move_on_after(0):
            await budget.acquire(0)
        assert budget.backlog() == 0  # its ticket left the line with it
        await budget.acquire(2)
    assert budget.pressure() == 1.0
