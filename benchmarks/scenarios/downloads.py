"""Scenario 3, downloads: one large and one small file from a fast static server, against curl.

A static server (sendfile) serves each file in its own process; the fake's download redirects to it
(see `fake_redirect.py`), and the orchestrator runs one zero-duration job. Its download time runs
from the fake's first download request (timeline, CLOCK_MONOTONIC) to the orchestrator's exit, so it
includes the 307, hashing, row counting, the fsync and the rename, and the process's own shutdown.
`curl -sS -L -o` fetches the same file from the same server in the same run; its time is its
process's wall time. Peak RSS is the orchestrator process's, from `wait4`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..harness import (
    BENCH_DIR,
    START,
    Export,
    Limits,
    check_run,
    local_server,
    orchestrator,
    orchestrator_env,
    write_manifest,
)
from ..measure import run_measured
from ..report import Section

MIB = 1024 * 1024
ROW = b"1234567890,2024-01-01T00:00:00Z,CLOSED,agent-0042,a row of an export of about 64 bytes\n"


@dataclass(frozen=True)
class Setup:
    large_mib: int
    small_mib: int


FULL = Setup(large_mib=1024, small_mib=10)
QUICK = Setup(large_mib=64, small_mib=4)


def write_csv(path: Path, mebibytes: int) -> None:
    """A CSV file of exactly `mebibytes` MiB, written a MiB at a time."""
    block = (ROW * (MIB // len(ROW) + 1))[:MIB]
    with path.open("wb") as handle:
        for _ in range(mebibytes):
            handle.write(block)


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("downloads", "3. Downloads", setup=vars(setup).copy())
    curl = shutil.which("curl")
    section.setup["curl"] = curl
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in (("large", setup.large_mib), ("small", setup.small_mib)):
            results[label] = _one(Path(tmp), label, size, curl)
    for label, size in (("large", setup.large_mib), ("small", setup.small_mib)):
        mine, theirs, rss = results[label]
        section.add(f"{label} ({size} MiB): orchestrator", mine, "MiB/s")
        section.add(f"{label} ({size} MiB): curl", theirs, "MiB/s")
        ratio = mine / theirs if mine and theirs else None
        section.add(f"{label} ({size} MiB): orchestrator / curl", ratio, "x")
        section.add(f"{label} ({size} MiB): orchestrator peak RSS", rss, "MiB")
    spread = abs(results["large"][2] - results["small"][2])
    section.add("peak RSS, large - small", spread, "MiB")
    large = f"large ({setup.large_mib} MiB)"
    small = f"small ({setup.small_mib} MiB)"
    section.target("large file at >= 0.8 x curl", f"{large}: orchestrator / curl", ">=", 0.8)
    section.target(
        "peak RSS (large) under 100 MB", f"{large}: orchestrator peak RSS", "<", 100e6 / MIB
    )
    section.target(
        "peak RSS (small) under 100 MB", f"{small}: orchestrator peak RSS", "<", 100e6 / MIB
    )
    section.target("peak RSS within 20 MB", "peak RSS, large - small", "<=", 20e6 / MIB)
    return section


def _one(
    tmp: Path, label: str, mebibytes: int, curl: str | None
) -> tuple[float, float | None, float]:
    """(orchestrator MiB/s, curl MiB/s or None, orchestrator peak RSS MiB) for one file."""
    folder = tmp / label
    folder.mkdir()
    source = folder / "source.csv"
    write_csv(source, mebibytes)
    static = [sys.executable, str(BENCH_DIR / "static_server.py"), str(source)]
    try:
        with local_server(static) as storage:
            redirect = [sys.executable, str(BENCH_DIR / "fake_redirect.py"), storage.base_url]
            theirs = None
            if curl is not None:
                target = folder / "curl.csv"
                fetched = run_measured(
                    [curl, "-sS", "-L", "-o", str(target), f"{storage.base_url}/bucket/x"]
                )
                if fetched.exit_code == 0 and target.stat().st_size == mebibytes * MIB:
                    theirs = mebibytes / fetched.seconds
                target.unlink(missing_ok=True)
            with local_server(redirect) as fake:
                manifest = write_manifest(
                    folder, "jobs.yaml", [Export("big", "conversation")], START, 1
                )
                env = orchestrator_env(fake, folder / "out", Limits(in_flight=1, downloads=1))
                measured = orchestrator("run", manifest, START.replace(day=2), env)
                check_run(measured, f"{label} download run")
                started = fake.timeline()[0]["first_download_at"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return mebibytes / (measured.ended - started), theirs, measured.peak_rss_mib
