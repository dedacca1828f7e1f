"""Scenario 4, overhead and scale: zero-duration exports with high limits, a big plan, a rerun.

Client CPU is the orchestrator process's user + system time (from `wait4`) over the exports it ran;
the fake runs in its own process and is not counted. The rerun goes over the same manifest, output
folder and journal as the large run, so every job is already done and only checking is left.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..harness import (
    START,
    Export,
    Limits,
    check_run,
    fake_api,
    orchestrator,
    orchestrator_env,
    request_delta,
    write_manifest,
)
from ..report import Section

HIGH = Limits(in_flight=1000, downloads=50)
FILTERS = 10


@dataclass(frozen=True)
class Setup:
    small_run: int
    plan: int
    large_run: int


FULL = Setup(small_run=2_000, plan=100_000, large_run=20_000)
QUICK = Setup(small_run=100, plan=1_000, large_run=100)


def _manifest(folder: Path, name: str, jobs: int) -> tuple[Path, date]:
    """A manifest of exactly `jobs` jobs: exports x 10 filter sets x 100 days (jobs % 1000 == 0)."""
    per_export = FILTERS * 100
    exports = [
        Export(f"e{index}", "conversation", FILTERS) for index in range(max(1, jobs // per_export))
    ]
    days = 100 if jobs >= per_export else jobs // FILTERS
    return write_manifest(folder, name, exports, START, days), START + timedelta(days=days)


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("scale", "4. Overhead and scale", setup=vars(setup).copy())
    with fake_api(["--job-seconds", "0"]) as fake, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, small_as_of = _manifest(folder, "small.yaml", setup.small_run)
        env = orchestrator_env(fake, folder / "small-out", HIGH, quick=quick)
        measured = orchestrator("run", small, small_as_of, env)
        check_run(measured, "zero-duration run")
        section.add("small run: exports", setup.small_run, "")
        section.add("small run: exports per second", setup.small_run / measured.seconds, "/s")
        section.add(
            "small run: client CPU per export", measured.cpu_seconds * 1000 / setup.small_run, "ms"
        )
        section.add("small run: peak RSS", measured.peak_rss_mib, "MiB")
        startup = orchestrator("plan", small, small_as_of, env)
        net = (measured.cpu_seconds - startup.cpu_seconds) * 1000 / setup.small_run
        section.add("small run: CPU per export net of start-up", net, "ms", "minus the CPU of plan")

        big, big_as_of = _manifest(folder, "plan.yaml", setup.plan)
        planned = orchestrator("plan", big, big_as_of, env)
        check_run(planned, "plan")
        section.add("plan: jobs", setup.plan, "")
        section.add("plan: seconds", planned.seconds, "s")
        section.add("plan: peak RSS", planned.peak_rss_mib, "MiB")
        big.unlink()

        large, large_as_of = _manifest(folder, "large.yaml", setup.large_run)
        env = orchestrator_env(fake, folder / "large-out", HIGH, quick=quick)
        measured = orchestrator("run", large, large_as_of, env)
        check_run(measured, "large run")
        section.add("large run: exports", setup.large_run, "")
        section.add("large run: seconds", measured.seconds, "s")
        section.add("large run: exports per second", setup.large_run / measured.seconds, "/s")
        section.add(
            "large run: client CPU per export", measured.cpu_seconds * 1000 / setup.large_run, "ms"
        )
        section.add("large run: peak RSS", measured.peak_rss_mib, "MiB")

        before = fake.counters()
        rerun = orchestrator("run", large, large_as_of, env)
        check_run(rerun, "rerun")
        section.add("rerun over finished files: seconds", rerun.seconds, "s")
        section.add("rerun: API requests", request_delta(before, fake.counters()), "")
        section.add("rerun: peak RSS", rerun.peak_rss_mib, "MiB")
    section.target("client CPU per export <= 2 ms", "small run: client CPU per export", "<=", 2.0)
    section.target("plan under 3 s (100k jobs in full)", "plan: seconds", "<", 3.0)
    section.target("large run under 300 MB RSS", "large run: peak RSS", "<", 300e6 / 2**20)
    section.target("rerun under 5 s", "rerun over finished files: seconds", "<", 5.0)
    return section
