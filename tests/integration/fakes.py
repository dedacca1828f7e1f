"""Ways to run the fake API for tests: in the test's event loop, or in a thread of its own for
tests that drive the CLI (which runs its own event loop)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.core.jobs import Job, Window
from orchestrator.core.markers import MARKER_NAME
from orchestrator.fakeapi import FakeApi, FakeConfig

T = TypeVar("T")

FAST_SETTINGS: dict[str, str] = {
    "ORCHESTRATOR_POLL_FIRST_SECONDS": "0.02",
    "ORCHESTRATOR_POLL_MAX_SECONDS": "0.1",
    "ORCHESTRATOR_RETRY_BASE_SECONDS": "0.01",
    "ORCHESTRATOR_RETRY_MAX_SECONDS": "0.1",
    "ORCHESTRATOR_RESUBMIT_COOLDOWN_SECONDS": "0.05",
    "ORCHESTRATOR_REQUESTS_PER_MINUTE": "100000",
    "ORCHESTRATOR_LOG_FORMAT": "json",
}
"""The client's timings turned down to match a fake whose exports take milliseconds."""


@dataclass
class RunningFake:
    fake: FakeApi

    @property
    def config(self) -> FakeConfig:
        return self.fake.config

    def environment(self, out: Path, **extra: str) -> dict[str, str]:
        """ORCHESTRATOR_* variables that point a run at this fake, with fast timings."""
        return {
            **FAST_SETTINGS,
            "ORCHESTRATOR_BASE_URL": self.fake.base_url,
            "ORCHESTRATOR_USERNAME": self.config.username,
            "ORCHESTRATOR_PASSWORD": self.config.password,
            "ORCHESTRATOR_COMPANY_KEY": self.config.company_key,
            "ORCHESTRATOR_OUT": str(out),
            **extra,
        }


@contextmanager
def in_thread(factory: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Enter an async context manager (a server) in a thread with its own event loop, and keep
    it there until the block ends; for tests that drive the CLI, which runs its own loop."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        holder["stop"], holder["loop"] = stop, asyncio.get_running_loop()
        try:
            async with factory() as served:
                holder["served"] = served
                ready.set()
                await stop.wait()
        finally:
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="server", daemon=True)
    thread.start()
    if not ready.wait(10) or "served" not in holder:
        raise RuntimeError("the server did not start")
    try:
        yield holder["served"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)


@contextmanager
def fake_in_thread(config: FakeConfig, **options: Any) -> Iterator[RunningFake]:
    """Serve the fake from a thread until the block ends."""
    with in_thread(lambda: FakeApi(config, **options)) as fake:
        yield RunningFake(fake)


def expected_bytes(job: Job, config: FakeConfig) -> bytes:
    """The exact file the fake serves for this job's request."""
    return config.expected_file(job.export_id, job.request_params())


def assert_tree_matches(
    out: Path, jobs: Sequence[Job], report: dict[str, Any], config: FakeConfig
) -> None:
    """Every finished job's file is at its reported path, byte-identical to what the fake served,
    and the output tree holds nothing else (no partial or stray files)."""
    planned = {job.key: job for job in jobs}
    entries = {entry["key"]: entry for entry in report["jobs"]}
    expected_files = set()
    for entry in report["jobs"]:
        if entry["status"] not in ("downloaded", "empty"):
            continue
        job = planned.get(entry["key"]) or _piece(planned, entries, entry)
        data = (out / entry["path"]).read_bytes()
        assert data == expected_bytes(job, config), entry["path"]
        assert entry["bytes"] == len(data)
        expected_files.add(out / entry["path"])
    present = {
        path
        for path in out.rglob("*")
        if path.is_file() and "_runs" not in path.parts and ".orchestrator" not in path.parts
    }
    markers = {path for path in present if path.name == MARKER_NAME}
    assert present - markers == expected_files
    for marker in markers:
        assert_marker_vouches_for_its_folder(out, marker)


def assert_marker_vouches_for_its_folder(out: Path, marker: Path) -> None:
    """A `_SUCCESS` marker lists exactly the files of its folder, each with its sha256 and size."""
    document = json.loads(marker.read_text())
    listed = {out / entry["path"]: entry for entry in document["files"]}
    assert set(listed) == {p for p in marker.parent.iterdir() if p.name != MARKER_NAME}, marker
    for path, entry in listed.items():
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])


def _piece(
    planned: dict[str, Job], entries: dict[str, dict[str, Any]], entry: dict[str, Any]
) -> Job:
    """Rebuild a job made by splitting a failed window, from its planned ancestor."""
    ancestor = entry
    while ancestor["key"] not in planned:
        ancestor = entries[ancestor["parent_key"]]
    window = Window(
        datetime.fromisoformat(entry["window_start"]), datetime.fromisoformat(entry["window_end"])
    )
    piece = planned[ancestor["key"]].piece(window)
    assert piece.key == entry["key"], "a split piece's key must follow from its window"
    return piece
