"""The retry, polling and resubmit policies are pure functions of their inputs."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.backoff import ResubmitPolicy, RetryPolicy, parse_retry_after


def test_full_jitter_scales_the_exponential_ceiling() -> None:
    """The delay is the jitter fraction of base * 2**(retry-1), capped at max_seconds."""
    policy = RetryPolicy(base_seconds=1.0, max_seconds=60.0)
    assert policy.delay(1, 0.5) == 0.5
    assert policy.delay(3, 1.0) == 4.0
    assert policy.delay(10, 1.0) == 60.0
    assert policy.delay(4, 0.0) == 0.0


@given(retry=st.integers(min_value=-5, max_value=10**9), jitter=st.floats(0, 1))
def test_delay_never_overflows_or_exceeds_the_cap(retry: int, jitter: float) -> None:
    """Any retry count gives a finite delay within [0, max_seconds]."""
    policy = RetryPolicy(base_seconds=0.5, max_seconds=30.0)
    assert 0.0 <= policy.delay(retry, jitter) <= 30.0


def test_retry_after_overrides_the_schedule_within_its_clamp() -> None:
    """A server's Retry-After wins over the computed delay but is clamped."""
    policy = RetryPolicy(max_retry_after_seconds=120.0)
    assert policy.delay(1, 0.1, retry_after=7.0) == 7.0
    assert policy.delay(1, 0.1, retry_after=10_000.0) == 120.0


def test_attempts_are_capped() -> None:
    """max_attempts counts every try, the first included."""
    policy = RetryPolicy(max_attempts=3)
    assert policy.may_retry(1) and policy.may_retry(2)
    assert not policy.may_retry(3)


def test_retry_after_parses_seconds_and_http_dates_defensively() -> None:
    """Digits and HTTP dates parse; superscripts, garbage and None give None."""
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 12 ") == 12.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("²") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_resubmit_cooldown_doubles_per_attempt() -> None:
    """The cooldown before a resubmit grows with each failed attempt."""
    policy = ResubmitPolicy(cooldown_seconds=30.0)
    assert [policy.cooldown(n) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
