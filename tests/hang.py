"""A time limit for calls that could block forever in a system call (an open() of a FIFO nobody
writes): the test fails with `Hang` instead of stalling until pytest-timeout gives up."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

LIMIT_SECONDS = 5.0


class Hang(BaseException):
    """Raised by the alarm in a call still blocked after its limit (a BaseException: not caught)."""


@contextlib.contextmanager
def time_limit(seconds: float = LIMIT_SECONDS) -> Iterator[None]:
    """Raise `Hang` in the main thread if the block still runs after `seconds`: SIGALRM interrupts
    a blocked system call there, and repeats every 0.2 s in case one lands where it is swallowed."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
