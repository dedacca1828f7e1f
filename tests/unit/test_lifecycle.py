"""Every transition of a job's state machine, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.core.backoff import ResubmitPolicy
from orchestrator.core.envelope import RunIds, StatusReport
from orchestrator.core.jobs import Window
from orchestrator.core.lifecycle import (
    Cooldown,
    Failed,
    Fetch,
    Poll,
    SplitUp,
    Submit,
    after_export_failure,
    after_run_lost,
    after_status,
    cooled,
    fetch_again,
    poll_again,
    submitted,
)

IDS = RunIds("wf", "run+/=", "https://api/status?companyKey=k")
DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
POLICY = ResubmitPolicy(max_attempts=3, min_window_seconds=3600)


def report(
    state: str, detail: str = "", url: str = "", status_url: str | None = None
) -> StatusReport:
    return StatusReport(state, detail, None, url, status_url)


def test_submit_counts_an_attempt() -> None:
    """A successful submit moves to polling with one more attempt."""
    assert submitted(Submit(attempts=1), IDS) == Poll(2, IDS)


def test_running_keeps_polling_and_adopts_a_new_status_url() -> None:
    """A running export is polled again, at the newer statusUrl the server gave."""
    nxt = after_status(
        Poll(1, IDS),
        report("RUNNING", status_url="https://api/s?analyticsAccessToken=t"),
        DAY,
        POLICY,
    )
    assert isinstance(nxt, Poll)
    assert nxt.polls == 1
    assert nxt.ids.status_url.endswith("analyticsAccessToken=t")


def test_completed_goes_to_fetch() -> None:
    """CLOSED/COMPLETED with a downloadUrl leads to the download."""
    nxt = after_status(Poll(1, IDS), report("CLOSED", "COMPLETED", "https://api/d"), DAY, POLICY)
    assert nxt == Fetch(1, IDS, "https://api/d")


def test_completed_without_download_url_fails() -> None:
    """A completed export with no downloadUrl is a failure, not an endless poll."""
    nxt = after_status(Poll(1, IDS), report("CLOSED", "COMPLETED"), DAY, POLICY)
    assert isinstance(nxt, Failed)


def test_failed_export_cools_down_while_attempts_remain() -> None:
    """A FAILED export is resubmitted after a cooldown until the attempts are used."""
    nxt = after_status(Poll(2, IDS), report("CLOSED", "FAILED"), DAY, POLICY)
    assert isinstance(nxt, Cooldown)
    assert cooled(nxt) == Submit(attempts=2)


def test_exhausted_attempts_split_the_window_into_halves() -> None:
    """After the last attempt, a long window is split into two halves that tile it."""
    nxt = after_export_failure(3, "FAILED", DAY, POLICY)
    assert isinstance(nxt, SplitUp)
    first, second = nxt.halves
    assert (first.start, first.end, second.end) == (
        DAY.start,
        DAY.start + timedelta(hours=12),
        DAY.end,
    )


def test_a_window_too_short_to_split_fails_with_the_reason() -> None:
    """A window whose halves would be under the minimum fails with the server's words."""
    hour = Window(DAY.start, DAY.start + timedelta(hours=1))
    nxt = after_export_failure(3, "export ended CLOSED: FAILED", hour, POLICY)
    assert nxt == Failed(3, "export ended CLOSED: FAILED")


def test_poll_again_only_counts_the_poll() -> None:
    """An unanswered poll changes nothing but the poll count."""
    assert poll_again(Poll(1, IDS, 4)) == Poll(1, IDS, 5)


def test_downloads_are_retried_within_a_limit() -> None:
    """A cut download is fetched again until three tries have failed, then fails."""
    first = Fetch(1, IDS, "https://api/d")
    second = fetch_again(first, "cut", max_tries=3)
    assert isinstance(second, Fetch) and second.tries == 1
    third = fetch_again(second, "cut", max_tries=3)
    assert isinstance(third, Fetch) and third.tries == 2
    last = fetch_again(third, "cut", max_tries=3)
    assert isinstance(last, Failed)
    assert "3 times" in last.reason


def test_a_lost_run_is_resubmitted_at_once_but_still_counts() -> None:
    """An unknown run goes straight back to Submit; at the attempt limit it splits like a failure."""
    assert after_run_lost(1, "404", DAY, POLICY) == Submit(attempts=1)
    assert isinstance(after_run_lost(3, "404", DAY, POLICY), SplitUp)
