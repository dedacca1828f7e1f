"""Work for a worker thread, grouped: what arrives while one batch is in the thread waits and goes
with the next, as a group commit does. A busy run then pays one thread hop (and one fsync of a
folder, for files) for many jobs, and a quiet one still sends each item at once.

    batches = Batches(work)        # work(items) runs in a worker thread, sets each item's outcome
    await batches.send(item)       # returns once the batch that took `item` is done

The batch in the thread is shielded from cancellation (it holds other jobs' items); an item
cancelled before any batch took it is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class _Entry(Generic[T]):
    __slots__ = ("done", "item")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False


class Batches(Generic[T]):
    """Sends items to `work` in batches, one batch in a worker thread at a time."""

    def __init__(self, work: Callable[[list[T]], None]) -> None:
        self._work = work
        self._waiting: list[_Entry[T]] = []
        self._running: anyio.Event | None = None
        """Set when the batch in the thread is done; None while none is."""

    def __repr__(self) -> str:
        state = "running" if self._running else "idle"
        return f"Batches({state}, waiting={len(self._waiting)})"

    async def send(self, item: T) -> None:
        """Return once `item` went through `work`: the caller that finds no batch under way
        leads one with every item waiting; the others wait for it (all woken at once)."""
        entry = _Entry(item)
        self._waiting.append(entry)
        try:
            while not entry.done:
                if self._running is None:
                    await self._lead()
                else:
                    await self._running.wait()
        finally:
            if not entry.done and entry in self._waiting:
                self._waiting.remove(entry)  # cancelled before any batch took it

    async def _lead(self) -> None:
        running = self._running = anyio.Event()
        batch, self._waiting = self._waiting, []
        try:
            with anyio.CancelScope(shield=True):  # the batch holds others' items too
                await anyio.to_thread.run_sync(self._work, [entry.item for entry in batch])
        finally:
            for entry in batch:
                entry.done = True
            self._running = None
            running.set()
