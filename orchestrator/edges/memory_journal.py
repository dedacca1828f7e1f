"""A journal held in memory: the same contract as the SQLite one, for tests and dry runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import anyio.lowlevel

from orchestrator.core.polling import Observation
from orchestrator.core.records import RECORD_COLUMNS, JobRecord
from orchestrator.core.states import JOURNALED, StateName

OBSERVATIONS_KEPT = 5000


class MemoryJournal:
    """Records by key and every change in order; each call is a checkpoint, as a real write is."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._records: dict[str, JobRecord] = {}
        self._events: list[tuple[str, str, float, str | None]] = []
        self._observations: list[Observation] = []

    def __repr__(self) -> str:
        return f"MemoryJournal(jobs={len(self._records)}, events={len(self._events)})"

    async def load(self) -> dict[str, JobRecord]:
        await anyio.lowlevel.checkpoint()
        return dict(self._records)

    async def record(
        self, key: str, state: StateName, *, note: str | None = None, **values: Any
    ) -> JobRecord:
        if state not in JOURNALED:
            raise ValueError(f"unknown journal state {state!r}")
        unknown = set(values) - set(RECORD_COLUMNS)
        if unknown:
            raise ValueError(f"unknown journal columns {sorted(unknown)}")
        await anyio.lowlevel.checkpoint()
        now = self._clock()
        current = self._records.get(key)
        if current is None:
            record = JobRecord(**{"created_at": now, **values, "key": key, "state": state})
        else:
            record = replace(current, **values, state=state)
        record = replace(record, updated_at=now)
        self._records[key] = record
        self._events.append((key, state, now, note))
        return record

    async def restore(self, key: str, previous: JobRecord | None) -> None:
        await anyio.lowlevel.checkpoint()
        if previous is None:
            self._records.pop(key, None)
        else:
            self._records[key] = previous
        self._events.append((key, previous.state if previous else "forgotten", self._clock(), None))

    async def history(self, key: str) -> list[tuple[str, float, str | None]]:
        await anyio.lowlevel.checkpoint()
        return [(state, at, note) for k, state, at, note in self._events if k == key]

    async def learned(self, observation: Observation) -> None:
        await anyio.lowlevel.checkpoint()
        self._observations.append(observation)

    async def observations(self) -> list[Observation]:
        await anyio.lowlevel.checkpoint()
        return list(self._observations[-OBSERVATIONS_KEPT:])
