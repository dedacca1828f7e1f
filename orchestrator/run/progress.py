"""What every job of a run is doing now: fed by the runner, read by the scheduler and displays."""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio

from orchestrator.core.estimate import COLD_REQUESTS_PER_EXPORT, paced, seconds_left
from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import Fetch, Poll, State, Stored, Submit, started

COLUMNS = (
    "waiting",
    "submitted",
    "running",
    "downloading",
    "done",
    "empty",
    "failed",
    "split",
)
"""The counts a person sees, in the order a job goes through them."""
FINISHED = ("done", "empty", "failed", "split")
"""The columns of jobs this run has finished with."""


@dataclass(frozen=True, slots=True)
class ExportTally:
    """One export of the manifest (all the jobs of its entry) so far: jobs finished (reused
    ones too) and failed, the pieces its split windows added to the plan, the bytes written."""

    finished: int = 0
    failed: int = 0
    pieces: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run at one moment: counts per column, volume, the budget, and the time left."""

    planned: int
    counts: dict[str, int]
    reused: int
    bytes: int
    requests: int
    retries: int
    throttled: int
    requests_in_last_minute: int
    requests_per_minute: float
    elapsed: float
    seconds_left: float | None
    server_current: int | None = None
    server_total: int | None = None
    """The sums of currentCount and totalCount over the running exports whose last status gave
    them (their unit is not published); None when none did."""
    exports: Mapping[str, ExportTally] = field(default_factory=dict)
    """By export name, the exports this run has finished jobs of (the live display's bars; not
    a log field)."""

    @property
    def finished(self) -> int:
        return sum(self.counts[name] for name in FINISHED)

    def fields(self) -> dict[str, object]:
        """The snapshot as flat log fields."""
        return {
            "planned": self.planned,
            **self.counts,
            "reused": self.reused,
            "bytes": self.bytes,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "budget_used": f"{self.requests_in_last_minute}/{self.requests_per_minute:g}",
            "elapsed_seconds": round(self.elapsed, 1),
            "seconds_left": None if self.seconds_left is None else round(self.seconds_left),
            **self.server_counts(),
        }

    def server_counts(self) -> dict[str, int]:
        """`server_current` and `server_total`, each only when some export reported it."""
        found = {"server_current": self.server_current, "server_total": self.server_total}
        return {name: value for name, value in found.items() if value is not None}


class RunProgress:
    """The last state of each job that has one, by key, and what finished jobs took."""

    def __init__(
        self, planned: int = 0, *, clock: Callable[[], float] = anyio.current_time
    ) -> None:
        self.planned = planned
        self._states: dict[str, State] = {}
        self._clock = clock
        self._started_at: dict[str, float] = {}
        self.reused = 0
        self.bytes = 0
        self._seconds: list[float] = []
        self._export_of: dict[str, str] = {}
        self._reused_by: Counter[str] = Counter()
        self._pieces_by: Counter[str] = Counter()
        self._bytes_by: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"RunProgress(planned={self.planned}, seen={len(self._states)})"

    def changed(self, job: Job, state: State) -> None:
        previous = self._states.get(job.key)
        self._states[job.key] = state
        self._export_of[job.key] = job.export_name
        if job.parent_key is not None and job.parent_key in self._states and previous is None:
            self.planned += 1  # a piece of a split window is one more job to do
            self._pieces_by[job.export_name] += 1
        if isinstance(state, Poll) and not isinstance(previous, Poll):
            self._started_at.setdefault(job.key, self._clock())
        elif isinstance(state, Stored) and isinstance(previous, Fetch):
            self.bytes += state.file.bytes
            self._bytes_by[job.export_name] += state.file.bytes
            began = self._started_at.pop(job.key, None)
            if began is not None:
                self._seconds.append(self._clock() - began)

    def was_reused(self, job: Job) -> None:
        """A finished file from an earlier run, kept: it counts as reused (a column of its own,
        as in every view of the run), never as this run's download."""
        self.reused += 1
        self._reused_by[job.export_name] += 1

    def by_export(self) -> dict[str, ExportTally]:
        """Each export this run has seen a job of, with its tally."""
        finished: Counter[str] = Counter(self._reused_by)
        failed: Counter[str] = Counter()
        for key, state in self._states.items():
            column = _column(state)
            if column in FINISHED:
                finished[self._export_of[key]] += 1
                failed[self._export_of[key]] += column == "failed"
        names = dict.fromkeys([*self._export_of.values(), *self._reused_by])
        return {
            name: ExportTally(
                finished[name], failed[name], self._pieces_by[name], self._bytes_by[name]
            )
            for name in names
        }

    def columns(self) -> dict[str, int]:
        """Jobs per column a person reads: every planned job is in exactly one of them or among
        the reused, so the columns and `reused` add up to the plan, none negative."""
        shown = dict.fromkeys(COLUMNS, 0)
        for state in self._states.values():
            shown[_column(state)] += 1
        shown["waiting"] += max(self.planned - len(self._states) - self.reused, 0)
        return shown

    def _tail_seconds(self, remaining: int, in_flight: int) -> float:
        """The end of a run, when its pace no longer says much. The exports under way finish at
        the median of the durations seen that are longer than their age; the ones not started
        take the slots as these free, at the median duration; the slowest export under way is
        expected no sooner than the expected largest of their remaining times."""
        seen = sorted(self._seconds)
        if not seen:
            return 0.0
        now = self._clock()
        ages = [
            now - began
            for key, began in self._started_at.items()
            if isinstance(self._states.get(key), Poll | Fetch)
        ]
        slots = [_median_left(seen, age) for age in ages]
        slots += [0.0] * max(in_flight - len(ages), 0)  # free slots take a waiting export now
        heapq.heapify(slots)
        median = seen[len(seen) // 2]
        for _ in range(max(remaining - len(ages), 0)):
            heapq.heappush(slots, heapq.heappop(slots) + median)
        return max(max(slots, default=0.0), _expected_slowest(seen, ages))

    def typical_seconds(self) -> float | None:
        """The median time from submit to stored file of this run's exports, once there are any."""
        if not self._seconds:
            return None
        ordered = sorted(self._seconds)
        return ordered[len(ordered) // 2]

    def snapshot(
        self,
        *,
        requests: int,
        retries: int = 0,
        throttled: int = 0,
        requests_in_last_minute: int,
        requests_per_minute: float,
        in_flight: int,
        elapsed: float,
    ) -> Snapshot:
        columns = self.columns()
        finished = sum(columns[name] for name in FINISHED)
        remaining = max(self.planned - finished - self.reused, 0)
        left = paced(remaining, finished, elapsed)
        if left is not None and remaining <= 4 * in_flight:  # the last waves: the slowest decide
            left = max(left, self._tail_seconds(remaining, in_flight))
        if left is None:  # less than a tenth done: the plan, the budget and the durations say
            per_export = requests / finished if finished else COLD_REQUESTS_PER_EXPORT
            typical = self.typical_seconds()
            left = seconds_left(
                remaining,
                requests_per_export=per_export,
                requests_per_minute=requests_per_minute,
                in_flight=in_flight,
                typical_seconds=typical,
            )
            if typical is None and remaining and not finished:
                left = None  # nothing has finished yet: no honest estimate
        current, total = self._server_sums()
        return Snapshot(
            planned=self.planned,
            counts=columns,
            reused=self.reused,
            bytes=self.bytes,
            requests=requests,
            retries=retries,
            throttled=throttled,
            requests_in_last_minute=requests_in_last_minute,
            requests_per_minute=requests_per_minute,
            elapsed=elapsed,
            seconds_left=left,
            server_current=current,
            server_total=total,
            exports=self.by_export(),
        )

    def _server_sums(self) -> tuple[int | None, int | None]:
        """Sums of the counts the running exports' last statuses gave, each None if none gave it."""
        sums: list[int | None] = [None, None]
        for state in self._states.values():
            if isinstance(state, Poll):
                for index, count in enumerate(state.counts):
                    if count is not None:
                        sums[index] = (sums[index] or 0) + count
        return sums[0], sums[1]


SLOWEST_STEPS = 64
"""Points at which the expected largest remaining time is integrated."""


def _median_left(seen: list[float], age: float) -> float:
    """The median remaining time of an export of this age: of the durations seen longer than it
    (none longer: about to finish)."""
    start = bisect.bisect_right(seen, age)
    return seen[start + (len(seen) - start) // 2] - age if start < len(seen) else 0.0


def _expected_slowest(seen: list[float], ages: list[float]) -> float:
    """E[max of the remaining times] of exports of these ages, each remaining time distributed
    as the durations in `seen` (sorted) longer than its age, less the age: the integral over x of
    1 - P(every one is done within x). An export older than every duration seen is taken to be
    about to finish."""
    tails = []
    for age in ages:
        start = bisect.bisect_right(seen, age)
        if start < len(seen):
            tails.append((age, start, len(seen) - start))
    if not tails:
        return 0.0
    step = max(seen[-1] - min(age for age, _, _ in tails), 0.0) / SLOWEST_STEPS
    total = 0.0
    for index in range(SLOWEST_STEPS):
        x = (index + 0.5) * step
        all_done = 1.0
        for age, start, count in tails:
            all_done *= (bisect.bisect_right(seen, age + x) - start) / count
        total += (1.0 - all_done) * step
    return total


def _column(state: State) -> str:
    match state:
        case Submit():
            return "waiting" if not started(state) else "submitted"
        case Poll():
            return "running" if state.polls else "submitted"
        case Fetch():
            return "downloading"
        case Stored():
            return "empty" if state.name == "empty" else "done"
        case _:
            name = state.name
            if name in ("failed", "timed_out"):
                return "failed"
            if name == "split":
                return "split"
            return "running"  # cooling down: the export is still being worked on
