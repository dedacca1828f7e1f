"""Keep as many exports running on the server as the request budget can fetch as they finish.

When the budget binds (the real API allows about 20 requests a minute), exports created faster
than the budget can poll and download them only wait, finished, on the server. Once a second this
adjusts the in-flight limit by feedback, as a congestion window is: down by one while polls and
downloads queue for the budget, up by one while the budget has room, between 2 and
MAX_IN_FLIGHT. With a generous budget nothing ever queues and the limit stays at the maximum.
"""

from __future__ import annotations

import anyio
import structlog
from anyio.abc import TaskStatus

from orchestrator.edges.budget import RequestBudget

_log = structlog.get_logger("orchestrator.pacing")
BACKLOG = 2
"""Polls and downloads that may wait for the budget before fewer exports are kept running."""
ROOM = 0.9
"""Below this share of its budget in use, one more export may run."""


def next_limit(limit: int, *, backlog: int, used: float, ceiling: int) -> int:
    """The in-flight limit after one look at the budget (`used`: its share in use, 0 to 1)."""
    if backlog > BACKLOG:
        return max(2, limit - 1)
    if used < ROOM:
        return min(ceiling, limit + 1)
    return limit


class Pacer:
    def __init__(self, limiter: anyio.CapacityLimiter, budget: RequestBudget, ceiling: int) -> None:
        self._limiter = limiter
        self._budget = budget
        self._ceiling = ceiling

    def __repr__(self) -> str:
        return f"Pacer(limit={self._limiter.total_tokens}, ceiling={self._ceiling})"

    def step(self) -> int:
        """Adjust the limit once; returns it."""
        used = self._budget.in_last_window() / max(self._budget.per_minute, 1.0)
        limit = next_limit(
            int(self._limiter.total_tokens),
            backlog=self._budget.backlog(),
            used=used,
            ceiling=self._ceiling,
        )
        if limit != self._limiter.total_tokens:
            _log.debug("orchestrator.in_flight_limit", limit=limit)
            self._limiter.total_tokens = limit
        return limit

    async def run(
        self, interval: float = 1.0, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Adjust the limit every `interval` seconds, for as long as the run lasts."""
        task_status.started()
        while True:
            self.step()
            await anyio.sleep(interval)
