"""The life of one export job, without I/O: states, the events that move them, and `advance`.

    Submit ──Submitted──▶ Poll ──StatusSeen(completed, URL)──▶ Fetch ──FileStored──▶ Stored
      ▲   └─Refused/Broken/Transient──▶ Failed         │ ├─Cut/Expired/Transient──▶ Fetch (bounded)
      │                      │ StatusSeen(running, unknown state, completed without a URL,
      │                      │   CLOSED without a detail, a few times) / Transient ──▶ Poll
      │                      ├─StatusSeen(FAILED) ──▶ Cooldown ──CooledDown──▶ Submit
      │                      │      attempts used up ──▶ SplitUp (window long enough) or Failed
      └──────────────────────┴─Lost / Unsealable (the server forgot the run; its URL is unusable)
    any live state ──TimedOut──▶ TimedOut

As in h11, events are small immutable values and one function, `advance`, says which event moves
which state where; any other pair is a bug (`LifecycleError`). The runner performs the I/O a state
asks for, turns its outcome (or exception) into an event, and feeds it back here. `resume` says
where a job starts from its journal record. `attempts` counts the submits of a job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import ClassVar, Literal

from orchestrator.core.backoff import ResubmitPolicy, RetryPolicy
from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Window
from orchestrator.core.polling import PollPolicy
from orchestrator.core.records import JobRecord
from orchestrator.core.states import StateName
from orchestrator.core.stored import StoredFile


@dataclass(frozen=True, slots=True)
class Policies:
    """Every number the lifecycle decides with."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    resubmit: ResubmitPolicy = field(default_factory=ResubmitPolicy)
    job_timeout_seconds: float = 6 * 3600.0
    blank_close_polls: int = 3
    """Polls that may answer CLOSED with an empty detail before the export counts as failed."""


# --- states -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submit:
    """Create the export on the server. `uncertain`: an earlier submit may have reached it."""

    name: ClassVar[StateName] = "submitting"
    attempts: int = 0
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Poll:
    """Ask the server how the export is doing. `blank_closes`: CLOSED answers with no detail.

    `since` is when it was submitted and `running_at` when a poll last saw it not ready (the
    runner's clock; None for an export resumed from an earlier run): what polling learns from.
    """

    name: ClassVar[StateName] = "submitted"
    attempts: int
    ids: RunIds
    polls: int = 0
    blank_closes: int = 0
    since: float | None = None
    running_at: float | None = None
    counts: tuple[int | None, int | None] = (None, None)
    """The last status's currentCount and totalCount, when the server gave them (for display)."""


@dataclass(frozen=True, slots=True)
class Fetch:
    name: ClassVar[StateName] = "ready"
    attempts: int
    ids: RunIds
    download_url: str
    tries: int = 0


@dataclass(frozen=True, slots=True)
class Cooldown:
    """Wait, then submit again: the server ran the export and it failed."""

    name: ClassVar[StateName] = "cooling_down"
    attempts: int
    reason: str


@dataclass(frozen=True, slots=True)
class Stored:
    attempts: int
    ids: RunIds | None
    file: StoredFile

    @property
    def name(self) -> Literal["downloaded", "empty"]:
        return "empty" if self.file.empty else "downloaded"


@dataclass(frozen=True, slots=True)
class Failed:
    name: ClassVar[StateName] = "failed"
    attempts: int
    reason: str
    ids: RunIds | None = None


@dataclass(frozen=True, slots=True)
class TimedOut:
    name: ClassVar[StateName] = "timed_out"
    attempts: int
    ids: RunIds | None
    reason: str


@dataclass(frozen=True, slots=True)
class SplitUp:
    name: ClassVar[StateName] = "split"
    attempts: int
    reason: str
    halves: tuple[Window, Window]


Live = Submit | Poll | Fetch | Cooldown
Terminal = Stored | Failed | TimedOut | SplitUp
State = Live | Terminal


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    """The server created the export and gave its ids, at time `at`."""

    ids: RunIds
    at: float | None = None


@dataclass(frozen=True, slots=True)
class StatusSeen:
    report: StatusReport
    at: float | None = None


@dataclass(frozen=True, slots=True)
class FileStored:
    file: StoredFile


@dataclass(frozen=True, slots=True)
class Cut:
    """The download broke off, or its pre-signed link had expired: fetch again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Transient:
    """A request still failing after its retries (429, 5xx, network)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Lost:
    """The server no longer knows the run (404/410), or its URL cannot be used again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The API will not create this export (403 or 404 on create): no retry helps."""

    reason: str


@dataclass(frozen=True, slots=True)
class Broken:
    """An answer or a file that cannot be used (malformed, foreign origin, disk full)."""

    reason: str


@dataclass(frozen=True, slots=True)
class CooledDown:
    pass


@dataclass(frozen=True, slots=True)
class Expired:
    """The job timeout passed."""

    reason: str


Event = (
    Submitted | StatusSeen | FileStored | Cut | Transient | Lost | Refused | Broken | CooledDown
) | Expired


class LifecycleError(Exception):
    """An event that cannot happen in a state: a bug in the runner, never the server's doing."""


def advance(state: Live, event: Event, policies: Policies, window: Window) -> State:
    """The state that `event` leads to from `state`."""
    match state, event:
        case _, Expired(reason):
            return TimedOut(state.attempts, getattr(state, "ids", None), reason)
        case Submit(), Submitted(ids, at):
            return Poll(state.attempts + 1, ids, since=at)
        case Submit(), Refused(reason) | Broken(reason) | Transient(reason):
            return Failed(state.attempts + 1, f"submit failed: {reason}")
        case Poll(), StatusSeen(report, at):
            return _after_status(state, report, at, policies, window)
        case Poll(), Transient():
            return replace(state, polls=state.polls + 1)
        case Fetch(), FileStored(file):
            return Stored(state.attempts, state.ids, file)
        case Fetch(), Cut(reason) | Transient(reason):
            return _fetch_again(state, reason, policies.retry.max_attempts)
        case Poll() | Fetch(), Lost(reason):
            return _resubmit_now(state.attempts, reason, policies.resubmit, window)
        case Poll() | Fetch(), Broken(reason) | Refused(reason):
            return Failed(state.attempts, reason, state.ids)
        case Cooldown(), CooledDown():
            return Submit(attempts=state.attempts)
    raise LifecycleError(f"{type(event).__name__} cannot happen in state {state.name}")


def _after_status(
    state: Poll, report: StatusReport, at: float | None, policies: Policies, window: Window
) -> Poll | Fetch | Cooldown | Failed | SplitUp:
    ids = state.ids
    if report.status_url and report.status_url != ids.status_url:
        ids = replace(ids, status_url=report.status_url)
    counts = (report.current_count, report.total_count)
    again = replace(state, ids=ids, polls=state.polls + 1, running_at=at, counts=counts)
    if report.ready:
        return Fetch(state.attempts, ids, report.download_url)
    if report.completed:
        return again  # "wait a bit longer and try the request to the statusUrl again" (quick start)
    if report.closed_without_detail:
        if state.blank_closes < policies.blank_close_polls:
            return replace(again, blank_closes=state.blank_closes + 1)
        return _after_failure(state.attempts, report.failure_text(), policies.resubmit, window)
    if report.failed:
        return _after_failure(state.attempts, report.failure_text(), policies.resubmit, window)
    return again


def _after_failure(
    attempts: int, reason: str, policy: ResubmitPolicy, window: Window
) -> Cooldown | SplitUp | Failed:
    """Resubmit while attempts remain; then split the window if both halves stay long enough."""
    if attempts < policy.max_attempts:
        return Cooldown(attempts, reason)
    if window.length / 2 >= timedelta(seconds=policy.min_window_seconds):
        return SplitUp(attempts, reason, window.split())
    return Failed(attempts, reason)


def _resubmit_now(
    attempts: int, reason: str, policy: ResubmitPolicy, window: Window
) -> Submit | SplitUp | Failed:
    """The server lost the run: resubmit at once (nothing failed on the server, so no
    cooldown); the attempt still counts, so this cannot loop forever."""
    decided = _after_failure(attempts, reason, policy, window)
    return Submit(attempts=decided.attempts) if isinstance(decided, Cooldown) else decided


def _fetch_again(state: Fetch, reason: str, max_tries: int) -> Fetch | Failed:
    """A cut or expired download is fetched again (the API gives a fresh link), within limits."""
    if state.tries + 1 >= max_tries:
        return Failed(
            state.attempts, f"download failed {max_tries} times; last: {reason}", state.ids
        )
    return replace(state, tries=state.tries + 1)


def resume(record: JobRecord | None, window: Window) -> State:
    """Where a job starts, given what an earlier run journaled about it.

    A ready export is polled once more rather than fetched: download URLs are never journaled
    (they carry a per-job token), and the poll hands out a fresh one. A stored job whose file is
    gone or changed, and a failed or timed-out one, start afresh.
    """
    if record is None:
        return Submit()
    ids = record.ids
    if record.state == "submitting":
        return Submit(uncertain=True)
    if record.state in ("submitted", "ready") and ids is not None:
        return Poll(record.attempts, ids)
    if record.state == "split":
        return SplitUp(record.attempts, record.error or "split in an earlier run", window.split())
    return Submit()


def started(state: State) -> bool:
    """Whether anything may have been sent for a job in this state (its run can be resumed)."""
    return not (isinstance(state, Submit) and state.attempts == 0 and not state.uncertain)
