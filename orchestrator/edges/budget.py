"""The shared request budget: at most N API requests in any sliding minute.

A sliding log of start times rather than a token bucket: a bucket refilled while full lets a burst
of 2N through in one minute, which is exactly what the vendor's documented limit forbids.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio

WINDOW_SECONDS = 60.0


class RequestBudget:
    """Waits, in arrival order, until one more request fits in the last minute's budget."""

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
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        used = len(self._starts)
        return f"RequestBudget(capacity={self._capacity}, window={self._window:.1f}s, used={used})"

    async def acquire(self) -> None:
        """Return once a request may start; the start is counted against the budget."""
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self._window:
                    self._starts.popleft()
                if len(self._starts) < self._capacity:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + self._window - now
                await self._sleep(wait)
