"""When to try again: retry backoff and resubmit cooldowns, as pure functions (polling: `polling`).

Randomness arrives as an argument (a number in [0, 1) drawn by the caller), so every delay here is a
plain function of its inputs and is tested without a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Full-jitter exponential backoff for one request, with a cap on tries.

    `max_attempts` counts every try, the first included.
    """

    max_attempts: int = 8
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0

    def delay(self, retry: int, jitter: float, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry).

        Without Retry-After: `jitter * min(max_seconds, base_seconds * 2 ** (retry - 1))`, the
        "full jitter" schedule; the exponent is clamped so a large retry count cannot overflow.
        A server's Retry-After wins, clamped to `max_retry_after_seconds`.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_seconds)
        exponent = min(max(retry - 1, 0), 62)
        ceiling = min(self.max_seconds, self.base_seconds * math.ldexp(1.0, exponent))
        return max(0.0, min(jitter, 1.0)) * ceiling

    def may_retry(self, attempt: int) -> bool:
        """Whether a request that just failed on try `attempt` may be tried again."""
        return attempt < self.max_attempts


@dataclass(frozen=True, slots=True)
class ResubmitPolicy:
    """What to do with an export the server ran and reported FAILED.

    Resubmit after a cooldown that doubles per attempt, up to `max_attempts` submits; then split the
    window in halves, down to `min_window_seconds`.
    """

    max_attempts: int = 3
    cooldown_seconds: float = 30.0
    min_window_seconds: float = 3600.0

    def cooldown(self, attempts_done: int) -> float:
        """Seconds to wait before submit number `attempts_done + 1`."""
        return self.cooldown_seconds * math.ldexp(1.0, min(max(attempts_done - 1, 0), 30))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when unusable.

    Parsed defensively: only ASCII digits count as a number (`"²".isdigit()` is true in Python),
    and a date is measured against `now`, which the caller passes in.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else moment
    return max(0.0, (moment - reference).total_seconds())
