"""Scenario 5, baselines through the same fake as scenario 1 (exports of exactly D seconds).

- The quick start's workflow: a sequential shell-style loop of `curl` processes on a few exports:
  create, then `curl` the statusUrl every N seconds until a downloadUrl appears, then `curl -L -o`.
- A fixed-interval poller (`fixed_poller.py`, asyncio + aiohttp, 5 s like Airbyte's) on a subset of
  scenario 1's exports with the same number in flight.
- The naive client of issue 18 (the same script, first poll after 0.3 s, each wait x1.5) on the same
  subset: what an afternoon's asyncio client does without learning.

Each reports exports per minute and API requests per export (counted at the fake). `compare` then
sets the orchestrator's scenario-1 figures beside them, as ratios.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from .harness import (
    BENCH_DIR,
    FAKE_KEY,
    FAKE_PASSWORD,
    FAKE_USER,
    START,
    Fake,
    fake_api,
    request_delta,
    window_ms,
)
from .measure import ratio, run_measured
from .report import Section
from .scenarios import economy, slots

PREFIX = "/api/public/reports/report/"
NAIVE = ("--interval=0.3", "--growth=1.5")
"""The naive client's polls: the first after 0.3 s, each wait 1.5 times the last."""


@dataclass(frozen=True)
class Setup:
    curl_exports: int
    curl_interval: float
    poller_exports: int
    poller_in_flight: int
    poller_interval: float
    seconds: float


FULL = Setup(6, 5.0, 200, slots.FULL.in_flight, 5.0, slots.FULL.seconds)
QUICK = Setup(2, 1.0, 40, slots.QUICK.in_flight, 1.0, slots.QUICK.seconds)


def jobs(count: int, export_ids: Sequence[str] = ("conversation",)) -> list[dict[str, Any]]:
    """`count` daily windows from START of each export id."""
    windows = [window_ms(START + timedelta(days=day)) for day in range(count)]
    return [
        {"export_id": export_id, "start_ms": a, "end_ms": b}
        for export_id in export_ids
        for a, b in windows
    ]


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("baselines", "5. Baselines", setup=vars(setup).copy())
    curl = shutil.which("curl")
    with (
        fake_api(["--job-seconds", str(setup.seconds)]) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        if curl is None:
            section.add("curl loop: exports per minute", None, "/min", "curl not found")
            section.add("curl loop: API requests per export", None, "")
        else:
            before = fake.counters()
            started = time.monotonic()
            for job in jobs(setup.curl_exports):
                _curl_one(curl, fake, job, setup.curl_interval, folder / "curl.csv")
            elapsed = time.monotonic() - started
            requests = request_delta(before, fake.counters())
            section.add("curl loop: exports per minute", setup.curl_exports / elapsed * 60, "/min")
            section.add("curl loop: API requests per export", requests / setup.curl_exports, "")
        listing = jobs(setup.poller_exports)
        fixed = (f"--interval={setup.poller_interval}",)
        _poller(section, "fixed poller", fake, listing, setup.poller_in_flight, fixed, folder)
        _poller(section, "naive client", fake, listing, setup.poller_in_flight, NAIVE, folder)
    _economy_poller(section, quick, setup)
    return section


def _economy_poller(section: Section, quick: bool, setup: Setup) -> None:
    """The fixed poller on scenario 2's cold workload (lognormal durations), without a budget."""
    workload = economy.QUICK if quick else economy.FULL
    with (
        fake_api(economy.fake_arguments(workload)) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        listing = jobs(workload.days, list(workload.medians))
        name = "fixed poller, scenario 2"
        schedule = (f"--interval={setup.poller_interval}",)
        _poller(section, name, fake, listing, workload.in_flight, schedule, Path(tmp))


def _poller(
    section: Section,
    name: str,
    fake: Fake,
    listing: list[dict[str, Any]],
    in_flight: int,
    schedule: Sequence[str],
    folder: Path,
) -> None:
    """Run `fixed_poller.py` over `listing` with its poll `schedule`; add its exports per minute,
    requests per export and CPU per export."""
    (folder / "jobs.json").write_text(json.dumps(listing))
    before = fake.counters()
    command = [
        sys.executable,
        str(BENCH_DIR / "fixed_poller.py"),
        fake.base_url,
        str(folder / "jobs.json"),
        f"--in-flight={in_flight}",
        *schedule,
        f"--out={folder / 'poller'}",
    ]
    measured = run_measured(command, cwd=folder)
    if measured.exit_code != 0 or json.loads(measured.stdout)["failed"]:
        raise RuntimeError(f"{name} failed: {measured.stderr[-500:]}")
    requests = request_delta(before, fake.counters())
    count = len(listing)
    section.add(f"{name}: exports per minute", count / measured.seconds * 60, "/min")
    section.add(f"{name}: API requests per export", requests / count, "")
    section.add(f"{name}: client CPU per export", measured.cpu_seconds * 1000 / count, "ms")


def _curl_one(curl: str, fake: Fake, job: dict[str, Any], interval: float, target: Path) -> None:
    """The quick start, step by step: create, poll every `interval` s, download with -L."""
    query = (
        f"reportFormat=csv&locale=en_US&companyKey={FAKE_KEY}"
        f"&startTime={job['start_ms']}&endTime={job['end_ms']}"
    )
    auth = f"{FAKE_USER}:{FAKE_PASSWORD}"
    created = _curl_json(curl, "-u", auth, f"{fake.base_url}{PREFIX}{job['export_id']}?{query}")
    status_url = created["result"]["statusUrl"]
    while True:
        time.sleep(interval)
        result = _curl_json(curl, "-u", auth, status_url)["result"]
        info = (result[0] if isinstance(result, list) else result)["jobInfo"]
        if info.get("downloadUrl"):
            break
    fetched = run_measured([curl, "-sS", "-L", "-o", str(target), info["downloadUrl"]])
    if fetched.exit_code != 0:
        raise RuntimeError(f"curl download failed: {fetched.stderr}")
    target.unlink()


def _curl_json(curl: str, *arguments: str) -> dict[str, Any]:
    fetched = run_measured([curl, "-sS", "--fail", *arguments])
    if fetched.exit_code != 0:
        raise RuntimeError(f"curl failed: {fetched.stderr}")
    result: dict[str, Any] = json.loads(fetched.stdout)
    return result


def compare(section: Section, reference: Section, requests: Section | None) -> None:
    """The orchestrator's scenario-1 (and scenario-2 cold) figures beside the baselines', as ratios."""
    figures = {figure.name: figure.value for figure in section.figures + reference.figures}
    rate = figures.get("exports per minute")
    per_export = figures.get("API requests per export")
    section.add("orchestrator (scenario 1): exports per minute", rate, "/min")
    section.add("orchestrator (scenario 1): API requests per export", per_export, "")
    for name in ("curl loop", "fixed poller", "naive client"):
        section.add(
            f"orchestrator / {name}: exports per minute",
            ratio(rate, figures.get(f"{name}: exports per minute")),
            "x",
        )
        section.add(
            f"orchestrator / {name}: requests per export",
            ratio(per_export, figures.get(f"{name}: API requests per export")),
            "x",
        )
    if requests is not None:
        cold = next(f.value for f in requests.figures if f.name == "cold: API requests per export")
        naive = figures.get("fixed poller, scenario 2: API requests per export")
        section.add("orchestrator (scenario 2, cold): API requests per export", cold, "")
        section.add(
            "orchestrator / fixed poller, scenario 2: requests per export", ratio(cold, naive), "x"
        )
