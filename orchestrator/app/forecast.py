"""How long a plan will take at the configured budget, before anything is sent (`plan` prints it).

Requests per export come from the journal's history when it has one (the learned polls cost
about 1.4 per export), else from the cold default; the time an export takes to be ready comes
from the durations the journal learned. Jobs whose files the journal already holds are not
counted: a rerun skips them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.core.estimate import (
    COLD_REQUESTS_PER_EXPORT,
    WARM_REQUESTS_PER_EXPORT,
    seconds_left,
)
from orchestrator.core.jobs import Job
from orchestrator.core.polling import DurationModel
from orchestrator.core.states import STORED
from orchestrator.core.units import describe_seconds
from orchestrator.edges.folders import is_file
from orchestrator.edges.journal import read_observations, read_records
from orchestrator.edges.settings import Settings


@dataclass(frozen=True, slots=True)
class Forecast:
    to_do: int
    requests_per_export: float
    typical_seconds: float | None
    seconds: float
    learned: bool
    """Whether the figures come from the journal's history rather than defaults."""

    def describe(self, requests_per_minute: float) -> str:
        basis = "learned from the journal" if self.learned else "no history yet: a first guess"
        return (
            f"estimated time at {requests_per_minute:g} requests a minute: about "
            f"{describe_seconds(self.seconds)} for {self.to_do:,} exports "
            f"({self.requests_per_export:.1f} requests each, {basis})"
        )

    def fields(self) -> dict[str, object]:
        return {
            "exports_to_do": self.to_do,
            "requests_per_export": round(self.requests_per_export, 2),
            "typical_seconds": self.typical_seconds,
            "seconds": round(self.seconds),
            "learned": self.learned,
        }


def forecast(jobs: Sequence[Job], settings: Settings, journal: Path | None = None) -> Forecast:
    """The time the plan's remaining jobs will take at the settings' budget and limits. With a
    bucket output and no local journal, nothing is read (`plan` sends nothing anywhere): the
    figures are the first guess."""
    path = journal or settings.journal_path()
    done: set[str] = set()
    model = DurationModel()
    learned = False
    if path is not None and is_file(path):
        done = {key for key, record in read_records(path).items() if record.state in STORED}
        for observation in read_observations(path):
            model.learn(observation)
            learned = True
    to_do = [job for job in jobs if job.key not in done]
    medians = [
        estimate.median
        for job in to_do
        if (estimate := model.estimate(job.export_id, int(job.window.length.total_seconds())))
    ]
    typical = sorted(medians)[len(medians) // 2] if medians else None
    per_export = WARM_REQUESTS_PER_EXPORT if learned else COLD_REQUESTS_PER_EXPORT
    seconds = seconds_left(
        len(to_do),
        requests_per_export=per_export,
        requests_per_minute=settings.requests_per_minute,
        in_flight=settings.max_in_flight,
        typical_seconds=typical,
    )
    return Forecast(len(to_do), per_export, typical, seconds, learned)
