"""Scenario 3, downloads: one large and one small file from a fast static server, against curl.

A static server (sendfile) serves each file in its own process; the fake's download redirects to it
(see `fake_redirect.py`), and the orchestrator runs one zero-duration job. Its download time runs
from the fake's first download request (timeline, CLOCK_MONOTONIC) to the moment its file appears
under its final name, so it includes the 307, hashing, row counting, the fsync and the rename.
`curl -sS -L -o` fetches the same file from the same server in the same run, once before and once
after the orchestrator; its time is its process's wall time, and curl does not fsync. Peak RSS is
the orchestrator process's, from `wait4`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
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
from ..measure import ratio, run_measured
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
    """A CSV file of exactly `mebibytes` MiB, written a MiB at a time and fsync'd.

    The fsync matters: dirty pages of a fresh 1 GiB file would otherwise be written back while curl
    or the orchestrator downloads, and slow whichever runs first.
    """
    block = (ROW * (MIB // len(ROW) + 1))[:MIB]
    with path.open("wb") as handle:
        for _ in range(mebibytes):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class FileWatch:
    """Notes when the first finished file (not a hidden temporary) appears under `folder`."""

    folder: Path
    seen_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> FileWatch:
        self._thread = threading.Thread(target=self._loop, name="file-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while self.seen_at is None and not self._stop.wait(0.002):
            for _root, _folders, files in os.walk(self.folder):
                if any(name.endswith(".csv") and not name.startswith(".") for name in files):
                    self.seen_at = time.monotonic()


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("downloads", "3. Downloads", setup=vars(setup).copy())
    curl = shutil.which("curl")
    section.setup["curl"] = curl
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in (("large", setup.large_mib), ("small", setup.small_mib)):
            results[label] = _one(Path(tmp), label, size, curl, quick=quick)
    for label, size in (("large", setup.large_mib), ("small", setup.small_mib)):
        mine, theirs, durable, rss = results[label]
        section.add(f"{label} ({size} MiB): orchestrator", mine, "MiB/s")
        section.add(f"{label} ({size} MiB): curl (best of 2)", theirs, "MiB/s")
        section.add(f"{label} ({size} MiB): orchestrator / curl", ratio(mine, theirs), "x")
        section.add(f"{label} ({size} MiB): curl + fsync (best of 2)", durable, "MiB/s")
        section.add(
            f"{label} ({size} MiB): orchestrator / (curl + fsync)", ratio(mine, durable), "x"
        )
        section.add(f"{label} ({size} MiB): orchestrator peak RSS", rss, "MiB")
    spread = abs(results["large"][3] - results["small"][3])
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


def _curl(curl: str | None, url: str, target: Path, mebibytes: int) -> tuple[float, float] | None:
    """MiB/s of `curl -sS -L -o target url`, and of the same followed by an fsync of its file.

    None without curl or on a failed fetch. The orchestrator fsyncs every file before renaming it;
    the second figure is curl held to the same durability.
    """
    if curl is None:
        return None
    fetched = run_measured([curl, "-sS", "-L", "-o", str(target), url])
    done = fetched.exit_code == 0 and target.stat().st_size == mebibytes * MIB
    started = time.monotonic()
    if done:
        with target.open("rb+") as handle:
            os.fsync(handle.fileno())
    synced = time.monotonic() - started
    target.unlink(missing_ok=True)
    if not done:
        return None
    return mebibytes / fetched.seconds, mebibytes / (fetched.seconds + synced)


def _one(
    tmp: Path, label: str, mebibytes: int, curl: str | None, *, quick: bool
) -> tuple[float | None, float | None, float | None, float]:
    """(orchestrator MiB/s, curl's best MiB/s, with fsync, orchestrator peak RSS MiB) for one file.

    curl runs once before and once after the orchestrator, and its better run counts, so the order
    favours neither; the orchestrator's time ends when its file appears under its final name.
    """
    folder = tmp / label
    folder.mkdir()
    source = folder / "source.csv"
    write_csv(source, mebibytes)
    static = [sys.executable, str(BENCH_DIR / "static_server.py"), str(source)]
    try:
        with local_server(static) as storage:
            url = f"{storage.base_url}/bucket/curl"
            before = _curl(curl, url, folder / "curl.csv", mebibytes)
            redirect = [sys.executable, str(BENCH_DIR / "fake_redirect.py"), storage.base_url]
            with local_server(redirect) as fake:
                manifest = write_manifest(
                    folder, "jobs.yaml", [Export("big", "conversation")], START, 1
                )
                env = orchestrator_env(
                    fake, folder / "out", Limits(in_flight=1, downloads=1), quick=quick
                )
                (folder / "out").mkdir()
                with FileWatch(folder / "out") as watch:
                    measured = orchestrator("run", manifest, START.replace(day=2), env)
                check_run(measured, f"{label} download run")
                started = fake.timeline()[0]["first_download_at"]
            shutil.rmtree(folder / "out")
            after = _curl(curl, url, folder / "curl.csv", mebibytes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mine = mebibytes / (watch.seen_at - started) if watch.seen_at is not None else None
    runs = [rates for rates in (before, after) if rates is not None]
    best = max((rates[0] for rates in runs), default=None)
    durable = max((rates[1] for rates in runs), default=None)
    return mine, best, durable, measured.peak_rss_mib
