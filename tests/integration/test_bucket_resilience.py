"""Runs into S3 (moto on loopback) as separate processes: two runs of one shard contend for its
lease, and a run killed with SIGKILL again and again loses nothing and resubmits no journaled
export. The journal is read from the bucket, as the next run reads it."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.core.jobs import Job
from orchestrator.core.location import Location
from orchestrator.edges.storage.object_journal import read_journal
from orchestrator.edges.storage.output import JOURNAL_FOLDER, LEASE_FILE
from orchestrator.edges.storage.stores import build_store
from orchestrator.errors import JournalUnavailable
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import FakeConfig, request_key
from tests.depth import scaled
from tests.integration.fakes import RunningFake, expected_bytes, fake_in_thread
from tests.integration.test_bucket_runs import data_keys, newest_report
from tests.integration.test_resilience import AS_OF, SUBMIT_ANSWERED, kill_at, manifest_for, planned
from tests.s3 import moto_s3

KILLS = scaled(4, quick=0.5)
"""SIGKILLs per soak: 2 in `make test`, 8 in `make soak`."""
LEASE_SECONDS = "1"
"""A killed run's lease lapses after this long: the next run waits for it."""


def cli(
    manifest: Path, fake: RunningFake, bucket: Location, log: Path | None = None, **extra: str
) -> subprocess.Popen[bytes]:
    """`orchestrator run` into the bucket, in a process of its own; its stderr to `log`."""
    settings = fake.environment(
        Path(), ORCHESTRATOR_OUT=bucket.url(), ORCHESTRATOR_LEASE_SECONDS=LEASE_SECONDS, **extra
    )
    command = [sys.executable, "-m", "orchestrator", "run", str(manifest), "--as-of", f"{AS_OF}"]
    return subprocess.Popen(
        command,
        env={**os.environ, **settings},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )


def journal_events(bucket: Location) -> dict[str, list[str]]:
    """Each job's states in the order the bucket's journal logged them (checkpoint and log)."""

    async def read() -> dict[str, list[str]]:
        store = build_store(bucket)
        loaded = await read_journal(store, JOURNAL_FOLDER, bucket.url(JOURNAL_FOLDER))
        history: dict[str, list[str]] = {}
        for key, entry in loaded.state.events:
            history.setdefault(key, []).append(entry.state)
        return history

    return anyio.run(read)


def journaled_creates(bucket: Location) -> int:
    """How many creates' ids the bucket's journal holds (read while a run writes it)."""
    try:
        return sum(states.count("submitted") for states in journal_events(bucket).values())
    except JournalUnavailable:
        return 0  # not written yet, or compacted under the reader several times over


def created(bucket: Location, count: int) -> Callable[[], bool]:
    """A moment: the bucket's journal holds the ids of `count` creates."""
    return lambda: journaled_creates(bucket) >= count


def stored(bucket: Location) -> Callable[[], bool]:
    """A moment: a file object of this run appeared (the journal may not know it yet)."""
    server, before = moto_s3(), data_keys(moto_s3(), bucket)
    return lambda: bool(data_keys(server, bucket) - before)


def assert_bucket_matches(
    bucket: Location, jobs: list[Job], report: dict[str, Any], config: FakeConfig
) -> None:
    """Every job's file is an object at its reported key, byte-identical to what the fake served;
    nothing else is there: no partial or staging object, no unfinished multipart upload."""
    server, planned_jobs = moto_s3(), {job.key: job for job in jobs}
    finished = [e for e in report["jobs"] if e["status"] in ("downloaded", "empty")]
    assert len(finished) == len(jobs)
    for entry in finished:
        body = server.get(bucket.bucket, bucket.key(entry["path"]))[0]
        assert body == expected_bytes(planned_jobs[entry["key"]], config), entry["path"]
    assert data_keys(server, bucket) == {entry["path"] for entry in finished}
    staging = server.keys(bucket.bucket, bucket.key(".orchestrator/uploads/"))
    assert (staging, server.uploads(bucket.bucket)) == ([], [])


def assert_never_resubmitted(jobs: list[Job], fake: RunningFake, bucket: Location) -> None:
    """No job was submitted again once its ids were journaled, and the fake saw no more creates
    of a request than the journal announced."""
    history, submits = journal_events(bucket), fake.fake.counters.submits_by_request
    for job in jobs:
        states = history[job.key]
        assert "submitting" not in states[states.index("submitted") :], (job.key, states)
        key = request_key(job.source, job.export_id, job.request_params())
        answered = sum(1 for pair in itertools.pairwise(states) if pair == SUBMIT_ANSWERED)
        assert answered <= submits[key] <= states.count("submitting"), (job.key, states)


def first_to_exit(runs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 60
    while all(run.poll() is None for run in runs):
        assert time.monotonic() < deadline, "neither run exited"
        time.sleep(0.01)
    return next(run for run in runs if run.returncode is not None)


@pytest.mark.slow
def test_a_second_process_on_a_held_lease_exits_75(tmp_path: Path, bucket: Location) -> None:
    """Of two runs of one shard started together, one takes the lease and the other, meeting it
    renewed, exits 75 as on a local journal another run holds; the holder, stopped by SIGTERM,
    exits 143 and releases the lease at once."""
    manifest = manifest_for(tmp_path, 1, ("conversation",), team_filter=False)
    with fake_in_thread(FakeConfig(job_duration=60)) as fake:
        logs = [tmp_path / f"run-{index}.log" for index in range(2)]
        runs = [cli(manifest, fake, bucket, log, ORCHESTRATOR_GRACE_SECONDS="0") for log in logs]
        loser = first_to_exit(runs)
        (holder,) = (run for run in runs if run is not loser)
        holder.send_signal(signal.SIGTERM)
        codes = (loser.returncode, holder.wait(30))
    said = "\n".join(log.read_text()[-3000:] for log in logs)
    assert codes == (ExitCode.LOCKED, ExitCode.SIGTERM), said
    lease = json.loads(moto_s3().get(bucket.bucket, bucket.key(LEASE_FILE))[0])
    assert lease["released"] is True


@pytest.mark.slow
def test_sigkill_at_any_moment_on_s3_loses_and_resubmits_nothing(
    tmp_path: Path, bucket: Location
) -> None:
    """Killed with SIGKILL again and again, alternately right after a create's ids reach the
    bucket's journal and right after a file object appears, the run resumes each time once the
    killed run's lease lapses; in the end every file is intact in the bucket and no journaled
    export was submitted twice."""
    manifest = manifest_for(tmp_path, scaled(4, quick=0.5))
    config = FakeConfig(job_duration=(0.05, 0.4))
    jobs, exits = planned(manifest), []
    with fake_in_thread(config) as fake:
        for kill in range(KILLS):
            creates = journaled_creates(bucket) + 3
            moment = stored(bucket) if kill % 2 or creates > len(jobs) else created(bucket, creates)
            exits.append(
                kill_at(cli(manifest, fake, bucket, ORCHESTRATOR_MAX_IN_FLIGHT="12"), moment)
            )
        for _ in range(3):
            if cli(manifest, fake, bucket).wait(120) == 0:
                break
        else:
            pytest.fail("the run never finished after the kills")
        assert_bucket_matches(bucket, jobs, newest_report(moto_s3(), bucket), config)
        assert_never_resubmitted(jobs, fake, bucket)
    assert exits.count(-signal.SIGKILL) == KILLS, f"every run should have been killed: {exits}"
