"""`orchestrator status`: what the journals know, read without taking the run lock.

A sharded run keeps one journal per shard beside the unsharded one (see `core.shard`); status reads
every journal file of that folder and sums them, read-only (WAL lets readers in while a run writes),
so it works during a run. Given the plan, it also counts the planned jobs nothing was sent for yet,
and follows a split job into its pieces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestrator.core.jobs import Job
from orchestrator.core.records import JobRecord
from orchestrator.core.shard import is_journal_of
from orchestrator.core.states import GAVE_UP, PENDING, STORED
from orchestrator.edges.folders import is_dir, is_file
from orchestrator.edges.journal import read_records

MAX_LISTED_FAILURES = 20
Progress = Literal["not_started", "pending", "done", "failed"]


def journal_files(base: Path) -> list[Path]:
    """`base` and the journals of its shards beside it, those that exist, in name order."""
    if not is_dir(base.parent):
        return []
    return sorted(
        path for path in base.parent.iterdir() if is_journal_of(path.name, base) and is_file(path)
    )


@dataclass
class JournalStatus:
    """What the journals say, and, given a plan, where each planned job stands."""

    base: str
    """Where the journal is when there is one: a path, or a URL in a bucket."""
    journals: list[str]
    states: Counter[str]
    failures: list[JobRecord]
    oldest_pending: JobRecord | None
    planned: Counter[Progress] | None = None
    """Planned jobs by where they stand (None without a plan)."""
    failed_jobs: int = 0
    standing: list[dict[str, Any]] | None = None
    """Each planned job in plan order: key, export, window, where it stands, its file's path
    (relative to the output folder, once stored); None without a plan."""

    def to_json(self) -> dict[str, Any]:
        return {
            "journals": list(self.journals),
            "states": dict(sorted(self.states.items())),
            "plan": None
            if self.planned is None
            else {"planned": sum(self.planned.values()), **_all(self.planned)},
            "jobs": self.standing,
            "failed": [
                {
                    "key": r.key,
                    "export": r.export_name,
                    "window_start": r.window_start,
                    "state": r.state,
                    "error": r.error,
                }
                for r in self.failures
            ],
            "oldest_pending": None
            if self.oldest_pending is None
            else {
                "key": self.oldest_pending.key,
                "export": self.oldest_pending.export_name,
                "window_start": self.oldest_pending.window_start,
                "state": self.oldest_pending.state,
                "since": _since(self.oldest_pending),
            },
        }

    def describe(self) -> str:
        if not self.journals:
            lines = [f"no journal at {self.base}: no run has written to this output folder yet"]
        elif len(self.journals) == 1:
            lines = [f"journal {self.journals[0]}"]
        else:
            folder = self.journals[0].rpartition("/")[0]
            names = ", ".join(journal.rpartition("/")[2] for journal in self.journals)
            lines = [f"{len(self.journals)} journals in {folder}: {names}"]
        total = sum(self.states.values())
        lines.append(
            f"{total} jobs: " + ", ".join(f"{self.states[s]} {s}" for s in sorted(self.states))
        )
        if self.planned is not None:
            counts = _all(self.planned)
            lines.append(
                f"plan: {sum(self.planned.values())} planned, {counts['done']} done, "
                f"{counts['pending']} pending, {counts['failed']} failed, "
                f"{counts['not_started']} not started"
            )
        for record in self.failures[:MAX_LISTED_FAILURES]:
            lines.append(
                f"  {record.state} {record.export_name} {record.window_start} ({record.key}): "
                f"{record.error}"
            )
        if len(self.failures) > MAX_LISTED_FAILURES:
            lines.append(f"  … and {len(self.failures) - MAX_LISTED_FAILURES} more")
        if self.oldest_pending is not None:
            oldest = self.oldest_pending
            lines.append(
                f"oldest pending: {oldest.export_name} {oldest.window_start} ({oldest.key}), "
                f"{oldest.state} since {_since(oldest)}"
            )
        return "\n".join(lines)


def journal_status(base: Path, jobs: Sequence[Job] | None = None) -> JournalStatus:
    """Read every journal of `base` and sum them; with `jobs`, place each planned job."""
    found = {str(path): read_records(path) for path in journal_files(base)}
    return status_of(str(base), found, jobs)


def status_of(
    base: str, journals: Mapping[str, Mapping[str, JobRecord]], jobs: Sequence[Job] | None = None
) -> JournalStatus:
    """Sum the records of every journal read (by where each is, a path or a URL); with `jobs`,
    place each planned job. `base` is where a journal would be, for "no journal" messages."""
    records: dict[str, JobRecord] = {}
    for found in journals.values():
        records.update(found)
    if jobs is not None:  # only what the plan covers (its jobs and their pieces)
        keys = {job.key for job in jobs}
        records = {key: r for key, r in records.items() if _covered(r, records, keys)}
    failures = sorted((r for r in records.values() if r.state in GAVE_UP), key=_updated)
    pending = [r for r in records.values() if r.state in PENDING]
    status = JournalStatus(
        base=base,
        journals=list(journals),
        states=Counter(record.state for record in records.values()),
        failures=failures,
        oldest_pending=min(pending, key=_updated) if pending else None,
        failed_jobs=len(failures),
    )
    if jobs is not None:
        children = _children(records.values())
        places = [_progress(job.key, records, children) for job in jobs]
        status.planned = Counter(places)
        status.standing = [
            _standing(job, place, records.get(job.key))
            for job, place in zip(jobs, places, strict=True)
        ]
    return status


def _standing(job: Job, place: Progress, record: JobRecord | None) -> dict[str, Any]:
    """One planned job as `status --json` lists it."""
    file = record.file if record is not None else None
    return {
        "key": job.key,
        "export": job.export_name,
        "window_start": job.window.start.isoformat(),
        "window_end": job.window.end.isoformat(),
        "state": place,
        "path": file.path if file is not None and place == "done" else None,
    }


def _covered(record: JobRecord, records: dict[str, JobRecord], keys: set[str]) -> bool:
    ancestor: JobRecord | None = record
    while ancestor is not None:
        if ancestor.key in keys:
            return True
        ancestor = records.get(ancestor.parent_key) if ancestor.parent_key else None
    return False


def _children(records: Any) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for record in records:
        if record.parent_key:
            children.setdefault(record.parent_key, []).append(record.key)
    return children


def _progress(key: str, records: dict[str, JobRecord], children: dict[str, list[str]]) -> Progress:
    """Where one job stands; a split job stands where the least finished of its pieces does."""
    record = records.get(key)
    if record is None:
        return "not_started"
    if record.state in STORED:
        return "done"
    if record.state in GAVE_UP:
        return "failed"
    if record.state == "split":
        pieces = [_progress(piece, records, children) for piece in children.get(key, [])]
        for worst in ("failed", "pending", "not_started"):
            if worst in pieces:
                return "pending" if worst == "not_started" else worst
        return "done" if len(pieces) >= 2 else "pending"
    return "pending"


def _all(counts: Counter[Progress]) -> dict[str, int]:
    return {name: counts.get(name, 0) for name in ("done", "pending", "failed", "not_started")}


def _updated(record: JobRecord) -> float:
    return record.updated_at


def _since(record: JobRecord) -> str:
    return datetime.fromtimestamp(record.updated_at, UTC).isoformat(timespec="seconds")
