"""The in-flight limit follows the request budget by feedback, as a congestion window does."""

from __future__ import annotations

import anyio
import pytest

from orchestrator.edges.budget import RequestBudget
from orchestrator.run.pacing import Pacer, next_limit


def test_the_limit_falls_while_polls_queue_and_rises_while_the_budget_has_room() -> None:
    """A backlog of polls and downloads lowers the limit (not below 2); room in the budget
    raises it (not above the maximum); a busy budget with no backlog leaves it."""
    assert next_limit(10, backlog=5, used=1.0, ceiling=20) == 9
    assert next_limit(2, backlog=5, used=1.0, ceiling=20) == 2
    assert next_limit(10, backlog=0, used=0.5, ceiling=20) == 11
    assert next_limit(20, backlog=0, used=0.0, ceiling=20) == 20
    assert next_limit(10, backlog=1, used=0.95, ceiling=20) == 10
    assert next_limit(10, backlog=2, used=1.0, ceiling=20) == 10  # two may wait
    assert next_limit(10, backlog=3, used=1.0, ceiling=20) == 9  # three may not
    assert next_limit(10, backlog=0, used=0.89, ceiling=20) == 11  # room below 90 %
    assert next_limit(10, backlog=0, used=0.9, ceiling=20) == 10


@pytest.mark.anyio
async def test_the_pacer_lowers_the_limiter_when_the_budget_backs_up() -> None:
    """With the budget spent and three polls waiting for it, the in-flight limiter shrinks."""
    budget = RequestBudget(1, clock=lambda: 0.0)
    limiter = anyio.CapacityLimiter(10)
    pacer = Pacer(limiter, budget, ceiling=10)
    with anyio.fail_after(5):
        await budget.acquire()
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(budget.acquire, 1)
            await anyio.wait_all_tasks_blocked()
            assert pacer.step() == 9
            assert limiter.total_tokens == 9
            group.cancel_scope.cancel()
