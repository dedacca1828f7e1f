"""Downloads already streaming may finish after a stop, for a grace period, and no longer.

A stop cancels every job at once; a download runs inside `protect()`, a shielded scope, so the
stop does not reach it by itself. What a stop grants depends on how far the download got: one
whose bytes are already streaming (its guard was told `streaming()`) gets until the end of the
grace period, as `move_on_after(grace, shield=True)` would; one still waiting for the request
budget, a download slot or its first byte is cancelled at once, since nothing of it would be kept
(a stop must not wait for the budget). A cancelled download's temporary file is discarded and its
job stays `ready` in the journal, so the next run fetches it again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import anyio


class Guard:
    """One download's shielded scope, and whether its bytes are streaming yet."""

    def __init__(self, scope: anyio.CancelScope, shelter: Shelter) -> None:
        self.scope = scope
        self.is_streaming = False
        self._shelter = shelter

    def __repr__(self) -> str:
        return f"Guard(streaming={self.is_streaming}, deadline={self.scope.deadline})"

    def streaming(self) -> None:
        """The body has started to arrive: from now on a stop grants the grace period."""
        self.is_streaming = True
        self._shelter.granted(self)


class Shelter:
    def __init__(self, grace_seconds: float) -> None:
        self._grace_seconds = grace_seconds
        self._closes_at = math.inf
        self._guards: set[Guard] = set()

    def __repr__(self) -> str:
        state = "open" if self._closes_at == math.inf else "closing"
        return f"Shelter({state}, sheltered={len(self._guards)})"

    @contextmanager
    def protect(self, deadline: float = math.inf) -> Iterator[Guard]:
        """A shielded scope for one download; it still ends at `deadline` (the job's timeout),
        and at once if the shelter closes before its bytes stream."""
        closed = self._closes_at != math.inf
        scope = anyio.CancelScope(
            shield=True, deadline=anyio.current_time() if closed else deadline
        )
        guard = Guard(scope, self)
        self._guards.add(guard)
        try:
            with scope:
                yield guard
        finally:
            self._guards.discard(guard)

    def granted(self, guard: Guard) -> None:
        """A guard started streaming: after a stop, it may run to the end of the grace."""
        guard.scope.deadline = min(guard.scope.deadline, self._closes_at)

    def close(self, *, grace: bool = True) -> None:
        """Start the grace period (or end it now, without `grace`): downloads streaming end by
        its end; the others, present or future, end now."""
        now = anyio.current_time()
        self._closes_at = min(self._closes_at, now + (self._grace_seconds if grace else 0.0))
        for guard in self._guards:
            ends = self._closes_at if guard.is_streaming else now
            guard.scope.deadline = min(guard.scope.deadline, ends)
