"""Scenario 4, overhead and scale: zero-duration exports with high limits, a big plan, a rerun,
and high throughput against the naive client.

Client CPU is the orchestrator process's user + system time (from `wait4`) over the exports it ran;
the fake runs in its own process and is not counted. The rerun goes over the same manifest, output
folder and journal as the large run, so every job is already done and only checking is left. The
throughput runs put the orchestrator and the naive client (`fixed_poller.py --interval 0.3
--growth 1.5`) through the same fake, one after the other, on exports of 50-100 ms.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..baselines import NAIVE, jobs
from ..harness import (
    BENCH_DIR,
    START,
    Export,
    Fake,
    Limits,
    check_run,
    fake_api,
    orchestrator,
    orchestrator_env,
    request_delta,
    write_manifest,
)
from ..measure import Measured, ratio, run_measured
from ..report import Section

HIGH = Limits(in_flight=1000, downloads=50)
FILTERS = 10
BRIEF_SECONDS = "0.05:0.1"
"""The throughput runs' exports: 50 to 100 ms each, drawn uniformly by the fake."""


@dataclass(frozen=True)
class Setup:
    small_run: int
    plan: int
    large_run: int
    throughput: int = 3_000
    throughput_in_flight: int = 100


FULL = Setup(small_run=2_000, plan=100_000, large_run=20_000)
QUICK = Setup(small_run=100, plan=1_000, large_run=100, throughput=200, throughput_in_flight=50)


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
    _throughput(section, setup, quick)
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


def _throughput(section: Section, setup: Setup, quick: bool) -> None:
    """The orchestrator, then the naive client, through one fake whose exports take 50-100 ms."""
    count, in_flight = setup.throughput, setup.throughput_in_flight
    with (
        fake_api(["--job-seconds", BRIEF_SECONDS]) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        manifest, as_of = _manifest(folder, "brief.yaml", count)
        limits = Limits(in_flight=in_flight, downloads=in_flight)
        ours = orchestrator(
            "run", manifest, as_of, orchestrator_env(fake, folder / "out", limits, quick=quick)
        )
        check_run(ours, "throughput run")
        naive = _naive(fake, count, in_flight, folder)
    name = "throughput"
    note = f"{count:,} exports of 50-100 ms, {in_flight} in flight"
    for who, measured in (("orchestrator", ours), ("naive client", naive)):
        section.add(f"{name}: {who} seconds", measured.seconds, "s", note)
        section.add(f"{name}: {who} CPU per export", measured.cpu_seconds * 1000 / count, "ms")
        section.add(f"{name}: {who} peak RSS", measured.peak_rss_mib, "MiB")
    section.add(f"{name}: seconds, orchestrator / naive", ratio(ours.seconds, naive.seconds), "x")
    section.target(
        "throughput: wall time <= naive client's",
        f"{name}: seconds, orchestrator / naive",
        "<=",
        1.0,
    )
    section.target(
        "throughput: CPU per export <= 2 ms", f"{name}: orchestrator CPU per export", "<=", 2.0
    )
    section.target(
        "throughput: peak RSS under 150 MB", f"{name}: orchestrator peak RSS", "<", 150e6 / 2**20
    )


def _naive(fake: Fake, count: int, in_flight: int, folder: Path) -> Measured:
    """The naive client over the same exports (one export id, `count` daily windows)."""
    listing = folder / "naive-jobs.json"
    listing.write_text(json.dumps(jobs(count)))
    command = [
        sys.executable,
        str(BENCH_DIR / "fixed_poller.py"),
        fake.base_url,
        str(listing),
        f"--in-flight={in_flight}",
        *NAIVE,
        f"--out={folder / 'naive'}",
    ]
    measured = run_measured(command, cwd=folder)
    if measured.exit_code != 0 or json.loads(measured.stdout)["failed"]:
        raise RuntimeError(f"the naive client failed: {measured.stderr[-500:]}")
    return measured
