"""The life of one export job as a state machine without I/O.

    Submit ──ids──▶ Poll ──completed──▶ Fetch ──stored──▶ Stored
      ▲              │  └─running──▶ Poll    │ └─cut/expired──▶ Fetch (again, bounded)
      │           FAILED / unknown run      exhausted ──▶ Failed
      └─ Cooldown ◀──┤
                     ├─ attempts used up, window long enough ──▶ SplitUp (two new jobs)
                     └─ attempts used up, window too short ───▶ Failed

Each transition is a pure function returning the next state; the runner performs the I/O a state
asks for and feeds the outcome back in. `attempts` counts submits of this job in this run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from orchestrator.core.backoff import ResubmitPolicy
from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Window


@dataclass(frozen=True, slots=True)
class Submit:
    """Create the export on the server. `uncertain`: an earlier submit may have reached it."""

    attempts: int = 0
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Poll:
    attempts: int
    ids: RunIds
    polls: int = 0


@dataclass(frozen=True, slots=True)
class Fetch:
    attempts: int
    ids: RunIds
    download_url: str
    tries: int = 0


@dataclass(frozen=True, slots=True)
class Cooldown:
    """Wait, then submit again: the server ran the export and it failed."""

    attempts: int
    reason: str


@dataclass(frozen=True, slots=True)
class Stored:
    attempts: int
    ids: RunIds | None
    path: str
    bytes: int
    rows: int | None
    sha256: str

    @property
    def empty(self) -> bool:
        return self.rows == 0


@dataclass(frozen=True, slots=True)
class Failed:
    attempts: int
    reason: str
    ids: RunIds | None = None


@dataclass(frozen=True, slots=True)
class TimedOut:
    attempts: int
    ids: RunIds | None


@dataclass(frozen=True, slots=True)
class SplitUp:
    attempts: int
    reason: str
    halves: tuple[Window, Window]


State = Submit | Poll | Fetch | Cooldown | Stored | Failed | TimedOut | SplitUp
Terminal = Stored | Failed | TimedOut | SplitUp


def submitted(state: Submit, ids: RunIds) -> Poll:
    return Poll(attempts=state.attempts + 1, ids=ids)


def after_status(
    state: Poll, report: StatusReport, window: Window, policy: ResubmitPolicy
) -> Poll | Fetch | Cooldown | Failed | SplitUp:
    """The next step once a poll has answered."""
    if report.completed:
        if not report.download_url:
            return Failed(state.attempts, "export completed without a downloadUrl", state.ids)
        return Fetch(state.attempts, state.ids, report.download_url)
    if report.failed:
        return after_export_failure(state.attempts, report.failure_text(), window, policy)
    ids = state.ids
    if report.status_url and report.status_url != ids.status_url:
        ids = replace(ids, status_url=report.status_url)
    return Poll(state.attempts, ids, state.polls + 1)


def poll_again(state: Poll) -> Poll:
    """A poll that could not be answered (network trouble) is simply tried later."""
    return replace(state, polls=state.polls + 1)


def after_export_failure(
    attempts: int, reason: str, window: Window, policy: ResubmitPolicy
) -> Cooldown | SplitUp | Failed:
    """Resubmit while attempts remain; then split the window if both halves stay long enough."""
    if attempts < policy.max_attempts:
        return Cooldown(attempts, reason)
    if window.length / 2 >= timedelta(seconds=policy.min_window_seconds):
        return SplitUp(attempts, reason, window.split())
    return Failed(attempts, reason)


def after_run_lost(
    attempts: int, reason: str, window: Window, policy: ResubmitPolicy
) -> Submit | SplitUp | Failed:
    """The server no longer knows the run (expired, or lost): resubmit at once, no cooldown,
    since nothing failed on the server; the attempt still counts, so this cannot loop forever."""
    decided = after_export_failure(attempts, reason, window, policy)
    return cooled(decided) if isinstance(decided, Cooldown) else decided


def fetch_again(state: Fetch, reason: str, max_tries: int) -> Fetch | Failed:
    """A cut or expired download is fetched again (the API gives a fresh link), within limits."""
    if state.tries + 1 >= max_tries:
        return Failed(
            state.attempts, f"download failed {max_tries} times; last: {reason}", state.ids
        )
    return replace(state, tries=state.tries + 1)


def cooled(state: Cooldown) -> Submit:
    return Submit(attempts=state.attempts)
