"""What became of each job in a run: the unit of the run report and of the closing summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job
from orchestrator.core.states import FINISHED, ResultStatus
from orchestrator.core.stored import StoredFile


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    status: ResultStatus
    attempts: int = 0
    ids: RunIds | None = None
    file: StoredFile | None = None
    """The stored file of a downloaded or empty job (its `open` flag: the window had not ended
    when the run started, so the file is not final and the next run fetches it again)."""
    error: str | None = None
    reused: bool = False
    """The file was already in place from an earlier run, with the recorded sha256."""
    resubmitted_uncertain: bool = False
    """An earlier run died between sending a submit and journaling its answer; submitted again."""

    @property
    def ok(self) -> bool:
        return self.status in FINISHED


COUNTED = (
    "downloaded",
    "empty",
    "reused",
    "split",
    "failed",
    "timed_out",
    "interrupted",
    "not_started",
)
"""What became of the jobs of a run, each job counted once: `downloaded` and `empty` are the files
this run fetched, `reused` the ones an earlier run left in place."""


def counts(results: Sequence[JobResult]) -> dict[str, int]:
    """The one set of counts every view of a run shows (the live table, the progress event, the
    summary, the log line, the report); never negative, they add up to the jobs."""
    found = dict.fromkeys(COUNTED, 0)
    for result in results:
        found["reused" if result.reused else result.status] += 1
    return found
