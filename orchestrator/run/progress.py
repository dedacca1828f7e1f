"""What every job of a run is doing now: fed by the runner, read by the scheduler and displays."""

from __future__ import annotations

from collections import Counter

from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import State, started


class RunProgress:
    """The last state of each job that has one, by key."""

    def __init__(self, planned: int = 0) -> None:
        self.planned = planned
        self._states: dict[str, State] = {}
        self.reused = 0

    def __repr__(self) -> str:
        return f"RunProgress(planned={self.planned}, seen={len(self._states)})"

    def changed(self, job: Job, state: State) -> None:
        self._states[job.key] = state

    def was_reused(self, job: Job) -> None:
        self.reused += 1

    def last(self, key: str) -> State | None:
        return self._states.get(key)

    def started(self, key: str) -> bool:
        """Whether anything may have been sent for this job, in this run or an earlier one."""
        state = self._states.get(key)
        return state is not None and started(state)

    def counts(self) -> Counter[str]:
        """Jobs by the name of their current state."""
        return Counter(state.name for state in self._states.values())
