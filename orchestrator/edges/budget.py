"""The shared request budget: at most N API requests in any sliding minute, spent where it frees most.

A sliding log of start times rather than a token bucket: a bucket refilled while full lets a burst
of 2N through in one minute, which is exactly what the vendor's documented limit forbids. When
requests wait, the most useful goes first: a download (it frees a slot and ends a job), then a
status poll, then a create (it adds work): `acquire(priority)`, lowest first, in arrival order
within a priority.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import count

import anyio

WINDOW_SECONDS = 60.0
PRIORITY = {"download": 0, "storage": 0, "status": 1, "probe": 1, "teams": 1, "create": 2}
"""Who goes first when requests wait for the budget."""


class RequestBudget:
    """Admits a request once one more fits in the last minute's budget; the best-placed first."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self._capacity = max(1, int(per_minute))
        self._window = WINDOW_SECONDS * self._capacity / per_minute
        self._starts: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._queue: list[tuple[int, int]] = []
        self._tickets = count()
        self._changed = anyio.Event()

    def __repr__(self) -> str:
        used = len(self._starts)
        return (
            f"RequestBudget(capacity={self._capacity}, window={self._window:.1f}s, "
            f"used={used}, waiting={len(self._queue)})"
        )

    @property
    def per_minute(self) -> float:
        return self._capacity * WINDOW_SECONDS / self._window

    def in_last_window(self) -> int:
        """Requests started within the last window (a minute at the configured rate)."""
        self._forget(self._clock())
        return len(self._starts)

    def backlog(self) -> int:
        """Requests waiting that would free something: downloads and polls (not creates)."""
        return sum(1 for priority, _ in self._queue if priority < PRIORITY["create"])

    def pressure(self) -> float:
        """How near the budget is to binding, from 0 (idle) to 1 (full, requests waiting)."""
        used = len(self._starts) / self._capacity
        return 1.0 if self._queue else min(used, 1.0)

    async def acquire(self, priority: int = 1) -> None:
        """Return once a request may start; the start is counted against the budget."""
        if not self._queue:  # nobody waits: a free place is taken at once, no line to keep
            now = self._clock()
            self._forget(now)
            if len(self._starts) < self._capacity:
                self._starts.append(now)
                return
        ticket = (priority, next(self._tickets))
        heapq.heappush(self._queue, ticket)
        try:
            while True:
                now = self._clock()
                self._forget(now)
                first = self._queue[0] == ticket
                if first and len(self._starts) < self._capacity:
                    heapq.heappop(self._queue)
                    self._starts.append(now)
                    self._notify()
                    return
                if first:
                    await self._sleep(self._starts[0] + self._window - now)
                else:
                    await self._changed.wait()
        except BaseException:
            if ticket in self._queue:
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
                self._notify()
            raise

    def _forget(self, now: float) -> None:
        """Drop the starts that have left the sliding window."""
        while self._starts and self._starts[0] <= now - self._window:
            self._starts.popleft()

    def _notify(self) -> None:
        """Wake the waiters: the head of the line has changed."""
        self._changed.set()
        self._changed = anyio.Event()
