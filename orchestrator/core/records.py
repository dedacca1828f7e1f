"""What the journal knows of one job: its last state and the facts needed to resume it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from orchestrator.core.envelope import RunIds
from orchestrator.core.states import StateName
from orchestrator.core.stored import StoredFile


@dataclass(frozen=True, slots=True)
class JobRecord:
    """The last known state of a job, as the journal keeps it."""

    key: str
    export_name: str
    window_start: str
    window_end: str
    state: StateName
    parent_key: str | None = None
    attempts: int = 0
    uncertain: bool = False
    """The create before this one may have reached the server unanswered (a run died)."""
    workflow_id: str | None = None
    run_id: str | None = None
    status_url: str | None = None
    """As the server gave it, with the companyKey or access-token value sealed."""
    file: StoredFile | None = None
    """The stored file, once the job is downloaded or empty."""
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def ids(self) -> RunIds | None:
        """The server's ids for this job's export, when it has been submitted."""
        if self.workflow_id and self.run_id and self.status_url:
            return RunIds(self.workflow_id, self.run_id, self.status_url)
        return None


class HistoryEntry(NamedTuple):
    """One change of a job's state, as the journal logged it."""

    state: str
    at: float
    note: str | None = None
