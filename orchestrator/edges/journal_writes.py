"""The journal's typed writes, written once for every journal: each says what happened to a job (a
create about to leave, its ids, its export ready, its file, its end) and becomes one change of the
job's record, applied atomically with an entry in its history by the journal's one primitive.

`withdraw` takes back an intent the server answered 401 (nothing was created, so nothing is
uncertain): the record as it was before the intent is kept here, in memory, from the intent until
the job's next write. A run that dies in between leaves the intent journaled, which is the safe
side: the next run resubmits and flags it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job
from orchestrator.core.journal_log import first_record
from orchestrator.core.records import JobRecord
from orchestrator.core.states import StateName
from orchestrator.core.stored import StoredFile

Change = Callable[[JobRecord], JobRecord]
Ending = Literal["failed", "timed_out", "split"]


def fresh(job: Job, state: StateName, now: float) -> JobRecord:
    """A job's first record: who it is, and when it was first journaled."""
    return first_record(job, state, now)


def _unchanged(record: JobRecord) -> JobRecord:
    return record


class JournalWrites(ABC):
    """The typed writes of the journal port over `_apply` and `_put_back`, which each journal
    implements."""

    def __init__(self) -> None:
        self._before_intent: dict[str, JobRecord | None] = {}

    @abstractmethod
    async def _apply(
        self, job: Job, state: StateName, change: Change, note: str | None
    ) -> JobRecord | None:
        """Atomically: the job's record (or a fresh one) changed and moved to `state`, with a
        history entry; returns the record as it was before (None if there was none)."""

    @abstractmethod
    async def _put_back(self, key: str, previous: JobRecord | None) -> None:
        """Atomically: the job's record replaced by `previous` (removed if None), in its history."""

    async def _apply_soon(self, job: Job, state: StateName, change: Change) -> None:
        """`_apply` for a change no recovery depends on: a journal may return before it is
        durable and write it with its next commit (the SQLite journal does)."""
        await self._apply(job, state, change, None)

    async def intend(self, job: Job, *, attempts: int, uncertain: bool) -> None:
        """A create is about to leave: if the run dies now, the next one cannot know whether the
        server has the export (it resubmits, and says so)."""

        def change(record: JobRecord) -> JobRecord:
            return replace(
                record,
                attempts=attempts,
                uncertain=uncertain,
                workflow_id=None,
                run_id=None,
                status_url=None,
                error=None,
            )

        self._before_intent[job.key] = await self._apply(job, "submitting", change, None)

    async def withdraw(self, job: Job) -> None:
        """The create was answered 401: nothing was created; the record goes back as it was."""
        await self._put_back(job.key, self._before_intent.pop(job.key, None))

    async def submitted(self, job: Job, ids: RunIds) -> None:
        """The server's ids for the export (the status URL with its secrets sealed): from now on
        the job is polled, never created again."""
        await self._write(
            job,
            "submitted",
            lambda record: replace(
                record, workflow_id=ids.workflow_id, run_id=ids.run_id, status_url=ids.status_url
            ),
        )

    async def ready(self, job: Job) -> None:
        """The export is ready to download. Nothing depends on it after a crash (a `submitted`
        job is polled once and found ready again), so it may ride the job's next commit."""
        self._before_intent.pop(job.key, None)
        await self._apply_soon(job, "ready", _unchanged)

    async def stored(self, job: Job, file: StoredFile) -> None:
        """The job's file is in place: `downloaded`, or `empty` when it has no rows."""
        state: StateName = "empty" if file.empty else "downloaded"
        await self._write(job, state, lambda record: replace(record, file=file, error=None))

    async def ended(
        self, job: Job, state: Ending, reason: str, *, attempts: int | None = None
    ) -> None:
        """The job ended without a file: failed, timed out, or split into pieces."""

        def change(record: JobRecord) -> JobRecord:
            tried = record.attempts if attempts is None else attempts
            return replace(record, attempts=tried, error=reason)

        await self._write(job, state, change)

    async def found_again(self, job: Job, record: JobRecord, file: StoredFile) -> None:
        """The job's file was found by its sha256 under new facts (a copy, a restore, a touch):
        keep them, so the next run trusts it without reading it again."""
        note = "same sha256 under a new mtime or inode: reused"
        await self._write(job, record.state, lambda current: replace(current, file=file), note)

    async def _write(
        self, job: Job, state: StateName, change: Change, note: str | None = None
    ) -> None:
        self._before_intent.pop(job.key, None)
        await self._apply(job, state, change, note)
