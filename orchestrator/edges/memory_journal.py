"""A journal held in memory: the same contract as the SQLite one, for tests and dry runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import anyio.lowlevel

from orchestrator.core.jobs import Job
from orchestrator.core.polling import OBSERVATIONS_KEPT, Observation
from orchestrator.core.records import HistoryEntry, JobRecord
from orchestrator.core.states import JOURNALED, StateName
from orchestrator.edges.journal_writes import Change, JournalWrites, fresh


class MemoryJournal(JournalWrites):
    """Records by key and every change in order; each call is a checkpoint, as a real write is."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._clock = clock
        self._records: dict[str, JobRecord] = {}
        self._events: list[tuple[str, HistoryEntry]] = []
        self._observations: list[Observation] = []

    def __repr__(self) -> str:
        return f"MemoryJournal(jobs={len(self._records)}, events={len(self._events)})"

    async def load(self) -> dict[str, JobRecord]:
        await anyio.lowlevel.checkpoint()
        return dict(self._records)

    async def history(self, key: str) -> list[HistoryEntry]:
        await anyio.lowlevel.checkpoint()
        return [entry for k, entry in self._events if k == key]

    async def learned(self, observation: Observation) -> None:
        await anyio.lowlevel.checkpoint()
        self._observations.append(observation)

    async def observations(self) -> list[Observation]:
        await anyio.lowlevel.checkpoint()
        return list(self._observations[-OBSERVATIONS_KEPT:])

    async def _apply(
        self, job: Job, state: StateName, change: Change, note: str | None
    ) -> JobRecord | None:
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        await anyio.lowlevel.checkpoint()
        now = self._clock()
        before = self._records.get(job.key)
        record = change(before or fresh(job, state, now))
        self._records[job.key] = replace(record, state=state, updated_at=now)
        self._events.append((job.key, HistoryEntry(state, now, note)))
        return before

    async def _put_back(self, key: str, previous: JobRecord | None) -> None:
        await anyio.lowlevel.checkpoint()
        if previous is None:
            self._records.pop(key, None)
        else:
            self._records[key] = previous
        state = previous.state if previous else "forgotten"
        self._events.append((key, HistoryEntry(state, self._clock(), "restored")))
