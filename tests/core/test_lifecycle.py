"""Every transition of a job's state machine, without I/O: `advance(state, event)` and `resume`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.core.backoff import ResubmitPolicy, RetryPolicy
from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Window
from orchestrator.core.lifecycle import (
    Broken,
    Cooldown,
    CooledDown,
    Cut,
    Expired,
    Failed,
    Fetch,
    FileStored,
    LifecycleError,
    Lost,
    Policies,
    Poll,
    Refused,
    SplitUp,
    State,
    StatusSeen,
    Stored,
    Submit,
    Submitted,
    TimedOut,
    Transient,
    advance,
    resume,
    started,
)
from orchestrator.core.records import JobRecord
from orchestrator.core.states import JOURNALED, STATE_NAMES
from orchestrator.core.stored import StoredFile

IDS = RunIds("wf", "run+/=", "https://api/status?companyKey=k")
DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
HOUR = Window(DAY.start, DAY.start + timedelta(hours=1))
POLICIES = Policies(
    retry=RetryPolicy(max_attempts=3),
    resubmit=ResubmitPolicy(max_attempts=3, min_window_seconds=3600),
    blank_close_polls=2,
)


def report(
    state: str, detail: str = "", url: str = "", status_url: str | None = None
) -> StatusReport:
    return StatusReport(state, detail, None, url, status_url)


def step(state: Submit | Poll | Fetch | Cooldown, event: object, window: Window = DAY) -> object:
    return advance(state, event, POLICIES, window)  # type: ignore[arg-type]


def test_submit_counts_an_attempt() -> None:
    """A successful submit moves to polling with one more attempt."""
    assert step(Submit(attempts=1), Submitted(IDS)) == Poll(2, IDS)


@pytest.mark.parametrize("event", [Refused("404"), Broken("not JSON"), Transient("503")])
def test_a_submit_that_cannot_succeed_fails_the_job(event: object) -> None:
    """A refused, malformed or persistently failing create fails the job, attempt counted."""
    nxt = step(Submit(attempts=0), event)
    assert isinstance(nxt, Failed)
    assert nxt.attempts == 1 and nxt.reason.startswith("submit failed: ")


def test_running_keeps_polling_and_adopts_a_new_status_url() -> None:
    """A running export is polled again, at the newer statusUrl the server gave."""
    seen = report("RUNNING", status_url="https://api/s?analyticsAccessToken=t")
    nxt = step(Poll(1, IDS), StatusSeen(seen))
    assert isinstance(nxt, Poll)
    assert nxt.polls == 1
    assert nxt.ids.status_url.endswith("analyticsAccessToken=t")


def test_completed_goes_to_fetch() -> None:
    """CLOSED/COMPLETED with a downloadUrl leads to the download."""
    nxt = step(Poll(1, IDS), StatusSeen(report("CLOSED", "COMPLETED", "https://api/d")))
    assert nxt == Fetch(1, IDS, "https://api/d")


def test_completed_without_download_url_is_polled_again() -> None:
    """CLOSED/COMPLETED with an empty downloadUrl means "wait a bit longer" (the quick start)."""
    nxt = step(Poll(1, IDS, polls=3), StatusSeen(report("CLOSED", "COMPLETED")))
    assert nxt == Poll(1, IDS, polls=4)


def test_an_unknown_runner_state_without_detail_is_polled_on() -> None:
    """A runnerState we do not know, with an empty detail, is neither success nor failure."""
    nxt = step(Poll(1, IDS), StatusSeen(report("QUEUED")))
    assert nxt == Poll(1, IDS, polls=1)


def test_closed_without_detail_is_polled_a_few_times_then_fails() -> None:
    """CLOSED with an empty detail gets `blank_close_polls` more polls before it is a failure."""
    state: object = Poll(1, IDS)
    for blank in (1, 2):
        state = step(state, StatusSeen(report("CLOSED")))  # type: ignore[arg-type]
        assert state == Poll(1, IDS, polls=blank, blank_closes=blank)
    assert isinstance(step(state, StatusSeen(report("CLOSED"))), Cooldown)  # type: ignore[arg-type]


def test_failed_export_cools_down_while_attempts_remain() -> None:
    """A FAILED export is resubmitted after a cooldown until the attempts are used."""
    nxt = step(Poll(2, IDS), StatusSeen(report("CLOSED", "FAILED")))
    assert isinstance(nxt, Cooldown)
    assert step(nxt, CooledDown()) == Submit(attempts=2)


def test_exhausted_attempts_split_the_window_into_halves() -> None:
    """After the last attempt, a long window is split into two halves that tile it."""
    nxt = step(Poll(3, IDS), StatusSeen(report("CLOSED", "FAILED")))
    assert isinstance(nxt, SplitUp)
    first, second = nxt.halves
    assert (first.start, first.end, second.end) == (
        DAY.start,
        DAY.start + timedelta(hours=12),
        DAY.end,
    )


def test_a_window_too_short_to_split_fails_with_the_reason() -> None:
    """A window whose halves would be under the minimum fails with the server's words."""
    nxt = step(Poll(3, IDS), StatusSeen(report("CLOSED", "FAILED")), HOUR)
    assert nxt == Failed(3, "export ended CLOSED: FAILED")


def test_an_unanswered_poll_only_counts_the_poll() -> None:
    """A poll that failed after its retries changes nothing but the poll count."""
    assert step(Poll(1, IDS, 4), Transient("503")) == Poll(1, IDS, 5)


def test_downloads_are_retried_within_a_limit() -> None:
    """A cut download is fetched again until three tries have failed, then fails."""
    first = Fetch(1, IDS, "https://api/d")
    second = step(first, Cut("cut"))
    assert isinstance(second, Fetch) and second.tries == 1
    third = step(second, Transient("reset"))
    assert isinstance(third, Fetch) and third.tries == 2
    last = step(third, Cut("cut"))
    assert isinstance(last, Failed)
    assert "3 times" in last.reason


def test_a_stored_file_ends_the_job_and_zero_rows_is_empty() -> None:
    """A stored file is the end; a file with zero rows is named `empty`."""
    empty = StoredFile("a/b.csv", 10, "ff", rows=0)
    done = step(Fetch(1, IDS, "u"), FileStored(empty))
    assert done == Stored(1, IDS, empty)
    assert isinstance(done, Stored) and done.name == "empty"
    assert Stored(1, IDS, StoredFile("p", 10, "ff", rows=3)).name == "downloaded"


def test_a_lost_run_is_resubmitted_at_once_but_still_counts() -> None:
    """An unknown run goes straight back to Submit; at the attempt limit it splits like a failure."""
    assert step(Poll(1, IDS), Lost("404")) == Submit(attempts=1)
    assert isinstance(step(Fetch(3, IDS, "u"), Lost("404")), SplitUp)


@pytest.mark.parametrize("state", [Poll(1, IDS), Fetch(1, IDS, "u")])
def test_an_unusable_answer_fails_the_job_with_its_ids(state: Poll | Fetch) -> None:
    """A malformed answer or a refused origin fails the job, keeping the server's ids."""
    assert step(state, Broken("HTML")) == Failed(1, "HTML", IDS)


@pytest.mark.parametrize(
    "state", [Submit(), Poll(2, IDS), Fetch(2, IDS, "u"), Cooldown(2, "FAILED")]
)
def test_the_job_timeout_ends_any_live_state(state: Submit | Poll | Fetch | Cooldown) -> None:
    """The job timeout turns any live state into timed_out, keeping attempts and ids."""
    nxt = step(state, Expired("not finished after 5 s"))
    assert isinstance(nxt, TimedOut)
    assert nxt.attempts == state.attempts
    assert nxt.ids == getattr(state, "ids", None)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (Submit(), StatusSeen(report("RUNNING"))),
        (Poll(1, IDS), Submitted(IDS)),
        (Fetch(1, IDS, "u"), CooledDown()),
        (Cooldown(1, "x"), FileStored(StoredFile("p", 1, "s", rows=1))),
    ],
)
def test_an_impossible_event_is_a_bug_raised_at_once(state: object, event: object) -> None:
    """An event that cannot happen in a state raises LifecycleError instead of guessing."""
    with pytest.raises(LifecycleError, match="cannot happen"):
        step(state, event)  # type: ignore[arg-type]


def record(state: str, **values: object) -> JobRecord:
    return JobRecord("k", "e", "s", "e", state, **values)  # type: ignore[arg-type]


def test_resume_from_each_journaled_state() -> None:
    """Where a job starts again: sent-but-unanswered is uncertain, known ids are polled, a split
    stays split, and a failed, timed-out or missing job starts afresh."""
    ids = {"workflow_id": "wf", "run_id": "run+/=", "status_url": IDS.status_url}
    assert resume(None, DAY) == Submit()
    assert resume(record("submitting", attempts=1), DAY) == Submit(uncertain=True)
    assert resume(record("submitted", attempts=2, **ids), DAY) == Poll(2, IDS)
    assert resume(record("ready", attempts=2, **ids), DAY) == Poll(2, IDS)
    split = resume(record("split", attempts=3, error="FAILED"), DAY)
    assert isinstance(split, SplitUp) and split.halves == DAY.split()
    for state in ("failed", "timed_out", "downloaded", "empty"):
        assert resume(record(state, attempts=3), DAY) == Submit()


def test_a_job_has_started_once_anything_may_have_been_sent() -> None:
    """A fresh job has not started; an uncertain or resumed one has."""
    assert not started(Submit())
    assert started(Submit(uncertain=True))
    assert started(Submit(attempts=1))
    assert started(Poll(1, IDS))


def test_every_state_name_comes_from_one_vocabulary() -> None:
    """Each state is named as the one vocabulary names it, every name has its state, and every
    name but cooling_down is journaled."""
    named: list[tuple[State, str]] = [
        (Submit(), "submitting"),
        (Poll(1, IDS), "submitted"),
        (Fetch(1, IDS, "u"), "ready"),
        (Cooldown(1, "r"), "cooling_down"),
        (Failed(1, "r"), "failed"),
        (TimedOut(1, None, "r"), "timed_out"),
        (SplitUp(1, "r", DAY.split()), "split"),
        (Stored(1, None, StoredFile("p", 1, "", rows=1)), "downloaded"),
        (Stored(1, None, StoredFile("p", 1, "", rows=0)), "empty"),
    ]
    assert [state.name for state, _ in named] == [name for _, name in named]
    assert {name for _, name in named} == set(STATE_NAMES)
    assert set(STATE_NAMES) - set(JOURNALED) == {"cooling_down"}
