"""What became of each job in a run: the unit of the run report and of the closing summary."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job
from orchestrator.core.states import FINISHED, ResultStatus


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    status: ResultStatus
    attempts: int = 0
    ids: RunIds | None = None
    path: str | None = None
    bytes: int | None = None
    rows: int | None = None
    sha256: str | None = None
    error: str | None = None
    reused: bool = False
    """The file was already in place from an earlier run, with the recorded sha256."""
    open: bool = False
    """The window had not ended when the run started: the file is not final, the next run
    fetches it again (until a run starts after the window's end)."""
    resubmitted_uncertain: bool = False
    """An earlier run died between sending a submit and journaling its answer; submitted again."""

    @property
    def ok(self) -> bool:
        return self.status in FINISHED
