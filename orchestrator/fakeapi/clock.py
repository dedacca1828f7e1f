"""Clocks the fake reads, injectable so tests decide when a job finishes or a URL expires."""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]
"""Returns seconds: monotonic for job timing, Unix time for pre-signed URL expiry."""


class ManualClock:
    """A clock that only moves when told to: `clock.advance(5)` makes five seconds pass at once."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward; going back would break the monotonic promise, so it is refused."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock back by {seconds} s")
        self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now})"
