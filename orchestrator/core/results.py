"""What became of each job in a run: the unit of the run report and of the closing summary."""

from __future__ import annotations

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
