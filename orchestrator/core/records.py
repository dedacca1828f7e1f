"""What the journal knows of one job: its last state and the facts needed to resume it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from orchestrator.core.envelope import RunIds
from orchestrator.core.states import StateName


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One row of the journal: the last known state of a job."""

    key: str
    export_name: str
    window_start: str
    window_end: str
    state: StateName
    parent_key: str | None = None
    attempts: int = 0
    uncertain: int = 0
    workflow_id: str | None = None
    run_id: str | None = None
    status_url: str | None = None
    """As the server gave it, with the companyKey or access-token value sealed."""
    path: str | None = None
    bytes: int | None = None
    rows: int | None = None
    sha256: str | None = None
    mtime_ns: int | None = None
    inode: int | None = None
    """With `bytes`: the stored file as it was written, so a rerun re-hashes only a changed file."""
    open: int = 0
    """The stored file is of a window that had not ended when its run started: fetch it again."""
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def ids(self) -> RunIds | None:
        """The server's ids for this job's export, when it has been submitted."""
        if self.workflow_id and self.run_id and self.status_url:
            return RunIds(self.workflow_id, self.run_id, self.status_url)
        return None


RECORD_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(JobRecord))
