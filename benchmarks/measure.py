"""Measuring a child process from outside: wall time, CPU time and peak RSS, plus small statistics.

`os.wait4` returns the resource usage of exactly the child it reaps, so each figure belongs to one
process (the orchestrator), never to the fake or the harness. Times are `time.monotonic()`, which on
Linux is CLOCK_MONOTONIC, shared by every process: a time read here compares with the fake's.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished child process, measured from outside."""

    exit_code: int
    started: float
    ended: float
    cpu_seconds: float
    """User plus system CPU time of the child."""
    peak_rss_mib: float
    stdout: str
    stderr: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900.0,
) -> Measured:
    """Run `command` to its end, capturing its output into files (a pipe could fill and block it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        ended = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Measured(
        exit_code=process.returncode,
        started=started,
        ended=ended,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        stdout=stdout,
        stderr=stderr,
    )


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile (0.5 is the median) by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
