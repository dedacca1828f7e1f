"""Downloads in progress may finish after a stop, for a grace period, and no longer.

A stop cancels every job at once; a download runs inside `protect()`, a shielded scope, so the
stop does not reach it. `close()` gives each such scope a deadline `grace_seconds` away (as
`move_on_after(grace, shield=True)` would), after which it is cancelled like the rest and its
temporary file discarded; the job's journal state stays `ready`, so the next run fetches it again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import anyio


class Shelter:
    def __init__(self, grace_seconds: float) -> None:
        self._grace_seconds = grace_seconds
        self._closes_at = math.inf
        self._scopes: set[anyio.CancelScope] = set()

    def __repr__(self) -> str:
        state = "open" if self._closes_at == math.inf else "closing"
        return f"Shelter({state}, sheltered={len(self._scopes)})"

    @contextmanager
    def protect(self, deadline: float = math.inf) -> Iterator[anyio.CancelScope]:
        """A shielded scope for one download; it still ends at `deadline` (the job's timeout)."""
        scope = anyio.CancelScope(shield=True, deadline=min(deadline, self._closes_at))
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)

    def close(self, *, grace: bool = True) -> None:
        """Start the grace period (or end it now, without `grace`): every download, present or
        future, ends by its end."""
        ends = anyio.current_time() + (self._grace_seconds if grace else 0.0)
        self._closes_at = min(self._closes_at, ends)
        for scope in self._scopes:
            scope.deadline = min(scope.deadline, self._closes_at)
