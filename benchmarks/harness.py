"""The pieces every scenario shares: the fake in its own process, manifests, and orchestrator runs.

The fake is started through the CLI (`orchestrator fake-api --port 0 ...`) and read over HTTP:
`/_fake/counters` for requests by kind, `/_fake/timeline` for each job's creation, readiness and
first download (in the fake's monotonic seconds). Orchestrator runs happen in a fresh process each,
in a working folder of their own (so no `.env` file is picked up), measured by `measure.run_measured`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .measure import Measured, run_measured

FAKE_USER, FAKE_PASSWORD, FAKE_KEY = "demo", "demo-password", "demo-company"
API_KINDS = ("create", "status", "download")
"""Requests the API's budget counts; storage GETs go to object storage and are not counted."""
UNLIMITED_RPM = 1_000_000
MAX_JOBS = "1000000"
START = date(2024, 1, 1)
BENCH_DIR = Path(__file__).resolve().parent


def get_json(url: str, *, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback only
        return json.load(answer)


@dataclass
class Fake:
    """A fake API process and the URL it answered on."""

    process: subprocess.Popen[str]
    base_url: str

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = get_json(f"{self.base_url}/_fake/counters")
        return result

    def api_requests(self) -> int:
        """Create, status and download requests so far (the requests the budget counts)."""
        counts = self.counters()["requests"]
        return sum(int(counts[kind]) for kind in API_KINDS)

    def timeline(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = get_json(f"{self.base_url}/_fake/timeline")["jobs"]
        return jobs


@contextmanager
def fake_api(arguments: Sequence[str] = ()) -> Iterator[Fake]:
    """Start the fake (`orchestrator fake-api --port 0 ...`); stop it at the end."""
    with local_server(
        [sys.executable, "-m", "orchestrator", "fake-api", "--port", "0", *arguments]
    ) as fake:
        yield fake


@contextmanager
def local_server(command: Sequence[str]) -> Iterator[Fake]:
    """Start a server process whose first output line says "at http://127.0.0.1:PORT "."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"at (http://127\.0\.0\.1:\d+) ", process.stdout.readline())
        if not match:
            raise RuntimeError(f"the server did not start: {command}")
        yield Fake(process, match.group(1))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Export:
    """One export of a manifest: its name, export id and number of filter sets."""

    name: str
    export_id: str
    filters: int = 1


def manifest_text(exports: Sequence[Export], start: date, days: int) -> str:
    """A manifest of daily windows over `days` days from `start`: exports x filters x days jobs."""
    end = start + timedelta(days=days)
    lines = ["version: 1", "defaults:", f"  range: {{start: {start}, end: {end}}}", "exports:"]
    for export in exports:
        lines += [f"  - name: {export.name}", f"    export_id: {export.export_id}"]
        if export.filters > 1:
            sets = ", ".join(
                f"{{label: f{index}, workqueueIds: [{index}]}}" for index in range(export.filters)
            )
            lines.append(f"    filters: [{sets}]")
    return "\n".join(lines) + "\n"


def write_manifest(
    folder: Path, name: str, exports: Sequence[Export], start: date, days: int
) -> Path:
    path = folder / name
    path.write_text(manifest_text(exports, start, days))
    return path


def window_ms(day: date) -> tuple[int, int]:
    """The epoch milliseconds of a daily UTC window, as the orchestrator sends them."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


@dataclass(frozen=True)
class Limits:
    in_flight: int = 50
    downloads: int = 8
    requests_per_minute: float = UNLIMITED_RPM


QUICK_POLLS = {"ORCHESTRATOR_POLL_FIRST_SECONDS": "0.2", "ORCHESTRATOR_POLL_MAX_SECONDS": "1"}
"""--quick only: short polls, so a smoke test of the harness does not wait 5 s per run."""


def orchestrator_env(fake: Fake, out: Path, limits: Limits, *, quick: bool) -> dict[str, str]:
    """The environment of an orchestrator run against `fake`.

    Polling is left at the orchestrator's defaults, except in --quick (see QUICK_POLLS).
    """
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        ORCHESTRATOR_BASE_URL=fake.base_url,
        ORCHESTRATOR_USERNAME=FAKE_USER,
        ORCHESTRATOR_PASSWORD=FAKE_PASSWORD,
        ORCHESTRATOR_COMPANY_KEY=FAKE_KEY,
        ORCHESTRATOR_OUT=str(out),
        ORCHESTRATOR_MAX_IN_FLIGHT=str(limits.in_flight),
        ORCHESTRATOR_MAX_DOWNLOADS=str(limits.downloads),
        ORCHESTRATOR_REQUESTS_PER_MINUTE=str(limits.requests_per_minute),
        ORCHESTRATOR_MAX_JOBS=MAX_JOBS,
        ORCHESTRATOR_LOG_LEVEL="warning",
        ORCHESTRATOR_LOG_FORMAT="json",
    )
    if quick:
        env.update(QUICK_POLLS)
    return env


def orchestrator(
    command: str, manifest: Path, as_of: date, env: dict[str, str], *extra: str
) -> Measured:
    """`orchestrator <command> <manifest> --as-of <date>` in the manifest's folder, measured."""
    argv = [sys.executable, "-m", "orchestrator", command, str(manifest), "--as-of", str(as_of)]
    argv += ["--max-jobs", MAX_JOBS]  # a flag: `plan` reads no settings, so ignores the variable
    return run_measured([*argv, *extra], env=env, cwd=manifest.parent)


def check_run(measured: Measured, what: str) -> None:
    """Stop the benchmark with the run's own words when it did not finish every job."""
    if measured.exit_code != 0:
        tail = "\n".join(measured.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{what}: orchestrator exited {measured.exit_code}\n{tail}")


@dataclass
class RequestSampler:
    """Samples the fake's API request count every `interval` seconds, in a thread.

    The budget is "at most N requests in any sliding minute". The requests counted between two
    samples taken less than `window` seconds apart all reached the fake within that span, so the
    largest such difference is a lower bound of the busiest minute, exact to one sampling interval.
    """

    fake: Fake
    interval: float = 0.25
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RequestSampler:
        self._thread = threading.Thread(target=self._loop, name="request-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def _sample(self) -> None:
        self.samples.append((time.monotonic(), self.fake.api_requests()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def busiest(self, window: float) -> int:
        """Most requests seen between two samples less than `window` seconds apart."""
        best, first = 0, 0
        for at, count in self.samples:
            while at - self.samples[first][0] >= window:
                first += 1
            best = max(best, count - self.samples[first][1])
        return best


def jobs_between(timeline: list[dict[str, Any]], measured: Measured) -> list[dict[str, Any]]:
    """The fake's jobs created while the measured run was alive (same monotonic clock)."""
    return [job for job in timeline if measured.started <= job["created_at"] <= measured.ended]


def lag_fractions(jobs: list[dict[str, Any]]) -> list[float]:
    """Per downloaded job: (first download - ready) / (ready - created), the lag per unit of duration.

    Jobs of zero duration have no meaningful fraction and are left out.
    """
    fractions = []
    for job in jobs:
        duration = job["ready_at"] - job["created_at"]
        if job["first_download_at"] is not None and duration > 0:
            fractions.append(max(0.0, job["first_download_at"] - job["ready_at"]) / duration)
    return fractions


def request_delta(before: dict[str, Any], after: dict[str, Any]) -> int:
    """API requests (create, status, download) between two counter snapshots."""
    return sum(int(after["requests"][kind]) - int(before["requests"][kind]) for kind in API_KINDS)
