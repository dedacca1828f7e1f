"""The journal as a log of changes, for stores that keep no database: the state in memory, each
change as a small JSON-ready entry, and the replay that rebuilds the state from a checkpoint and
the entries written after it. Pure: times arrive as arguments, nothing is read or written here.

Entries (one JSON object each; a group commit writes a list of them):

    {"put": <record>, "event": [key, state, at, note]}     a job's record replaced
    {"delete": key, "event": [key, "forgotten", at, note]} a withdrawn first intent
    {"learned": [export_id, window_seconds, lower, upper], "at": at}
    {"opened": holder, "at": at}                            a run took the journal

A batch is applied under a `mark`: if its write fails, `rollback` puts the state back as it was,
so the state in memory never holds a change the store does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from orchestrator.core.jobs import Job
from orchestrator.core.polling import Observation
from orchestrator.core.records import HistoryEntry, JobRecord
from orchestrator.core.states import JOURNALED, StateName
from orchestrator.core.stored import StoredFile

Entry = dict[str, Any]
FORMAT_VERSION = 1
"""The version of the log and checkpoint documents; a newer one is refused, never misread."""
OBSERVATIONS_KEPT = 5000


class DamagedJournal(ValueError):
    """A log or checkpoint document that is not one this version wrote (or can read)."""


@dataclass
class _Mark:
    events: int
    observations: int
    touched: dict[str, JobRecord | None] = field(default_factory=dict)


def first_record(job: Job, state: StateName, now: float) -> JobRecord:
    """A job's first record: who it is, and when it was first journaled (every journal's)."""
    return JobRecord(
        key=job.key,
        export_name=job.export_name,
        window_start=job.window.start.isoformat(),
        window_end=job.window.end.isoformat(),
        state=state,
        parent_key=job.parent_key,
        created_at=now,
    )


class JournalState:
    """Records by key, every change of state in order, and what exports took."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self.events: list[tuple[str, HistoryEntry]] = []
        self.observations: list[Observation] = []
        self._mark: _Mark | None = None

    def upsert(
        self,
        job: Job,
        state: StateName,
        change: Callable[[JobRecord], JobRecord],
        note: str | None,
        now: float,
    ) -> tuple[JobRecord | None, Entry]:
        """The job's record changed and moved to `state`; returns the record before, and the entry."""
        before = self.records.get(job.key)
        after = replace(
            change(before or first_record(job, state, now)), state=state, updated_at=now
        )
        entry = {"put": record_json(after), "event": [job.key, state, now, note]}
        self.replay([entry])
        return before, entry

    def put_back(self, key: str, previous: JobRecord | None, now: float) -> Entry:
        """The job's record replaced by `previous`, or removed when it is None."""
        state = previous.state if previous else "forgotten"
        event = [key, state, now, "restored"]
        entry = (
            {"put": record_json(previous), "event": event}
            if previous
            else {"delete": key, "event": event}
        )
        self.replay([entry])
        return entry

    def learn(self, observation: Observation, now: float) -> Entry:
        entry = {"learned": list(_observation_row(observation)), "at": now}
        self.replay([entry])
        return entry

    def opened(self, holder: str, now: float) -> Entry:
        return {"opened": holder, "at": now}

    def replay(self, entries: list[Entry]) -> None:
        """Apply entries as written (by this run, or read back from the store)."""
        try:
            for entry in entries:
                self._apply(entry)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise DamagedJournal(f"an entry of an unknown shape ({error!r})") from None

    def _apply(self, entry: Entry) -> None:
        if "put" in entry:
            record = record_from_json(entry["put"])
            self._set(record.key, record)
        elif "delete" in entry:
            self._set(str(entry["delete"]), None)
        elif "learned" in entry:
            self.observations.append(Observation(*_observation_values(entry["learned"])))
            del self.observations[:-OBSERVATIONS_KEPT]  # never more than a checkpoint keeps
            return
        elif "opened" in entry:
            return
        else:
            raise ValueError(sorted(entry))
        key, state, at, note = entry["event"]
        self.events.append((str(key), HistoryEntry(str(state), float(at), note)))

    def _set(self, key: str, record: JobRecord | None) -> None:
        if self._mark is not None and key not in self._mark.touched:
            self._mark.touched[key] = self.records.get(key)
        if record is None:
            self.records.pop(key, None)
        else:
            self.records[key] = record

    def mark(self) -> None:
        """Remember the state as it is, for `rollback`, until `settle`."""
        self._mark = _Mark(len(self.events), len(self.observations))

    def settle(self) -> None:
        self._mark = None

    def rollback(self) -> None:
        """Undo every change since `mark` (the batch that carried them was not written)."""
        mark, self._mark = self._mark, None
        if mark is None:
            return
        for key, record in mark.touched.items():
            self._set(key, record)
        del self.events[mark.events :]
        if len(self.observations) >= mark.observations:  # (trimming aside, as it was)
            del self.observations[mark.observations :]

    def checkpoint(self, seq: int) -> dict[str, Any]:
        """The whole state after log entry `seq`, as one document."""
        return {
            "format": "orchestrator-journal-checkpoint",
            "version": FORMAT_VERSION,
            "seq": seq,
            "records": [record_json(record) for record in self.records.values()],
            "events": [[key, *event] for key, event in self.events],
            "observations": [
                list(_observation_row(o)) for o in self.observations[-OBSERVATIONS_KEPT:]
            ],
        }

    @classmethod
    def from_checkpoint(cls, document: dict[str, Any]) -> JournalState:
        check_document(document, "orchestrator-journal-checkpoint")
        state = cls()
        try:
            for item in document["records"]:
                record = record_from_json(item)
                state.records[record.key] = record
            for key, status, at, note in document["events"]:
                state.events.append((str(key), HistoryEntry(str(status), float(at), note)))
            state.observations = [
                Observation(*_observation_values(row)) for row in document["observations"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise DamagedJournal(f"a checkpoint of an unknown shape ({error!r})") from None
        return state


def log_document(seq: int, writer: str, entries: list[Entry]) -> dict[str, Any]:
    return {
        "format": "orchestrator-journal-log",
        "version": FORMAT_VERSION,
        "seq": seq,
        "writer": writer,
        "entries": entries,
    }


def check_document(document: object, kind: str) -> None:
    """Refuse a document that is not a `kind` of ours, or is a newer version's."""
    if not isinstance(document, dict) or document.get("format") != kind:
        raise DamagedJournal(f"not an {kind} document")
    version = document.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DamagedJournal(
            f"written by a newer version of orchestrator (format {version}; this version "
            f"reads up to {FORMAT_VERSION}): upgrade orchestrator"
        )


def record_json(record: JobRecord) -> dict[str, Any]:
    return asdict(record)


def record_from_json(value: dict[str, Any]) -> JobRecord:
    fields = dict(value)
    file = fields.pop("file", None)
    record = JobRecord(**fields, file=StoredFile(**file) if file else None)
    if record.state not in JOURNALED:
        raise ValueError(f"unknown state {record.state!r}")
    return record


def _observation_row(observation: Observation) -> tuple[str, int, float, float]:
    return (observation.export_id, observation.window_seconds, observation.lower, observation.upper)


def _observation_values(row: list[Any]) -> tuple[str, int, float, float]:
    export_id, window_seconds, lower, upper = row
    return str(export_id), int(window_seconds), float(lower), float(upper)
