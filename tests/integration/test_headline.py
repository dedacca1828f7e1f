"""The acceptance scenario as a user would run it: `orchestrator fake-api` in one process,
`orchestrator run` of a 200-job manifest in another, with MAX_IN_FLIGHT=20."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.fakeapi import FakeConfig
from tests.integration.fakes import FAST_SETTINGS, assert_tree_matches

MANIFEST = """
version: 1
timezone: Europe/Berlin
defaults:
  range: {start: 2024-02-01, end: 2024-03-22}
exports:
  - name: conversations
    export_id: conversation
    columns: [CONVERSATION_ID, STATUS, AUTHOR_NAME]
    filters:
      - {}
      - {label: vip, priorities: [0], teamId: [4, 5]}
  - name: actions
    export_id: conversation_actions
    format: json
    filters:
      - {label: all}
      - {label: queue-7, workqueueIds: [7]}
"""


@pytest.fixture
def fake_process() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`orchestrator fake-api` on a free port, with exports taking 50 to 300 ms."""
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "fake-api",
        "--port",
        "0",
        "--job-seconds",
        "0.05:0.3",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+) ", line)
        assert match, f"unexpected banner: {line!r}"
        yield match.group(1), process
    finally:
        process.terminate()
        process.wait(10)


def counters(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/_fake/counters", timeout=10) as answer:  # noqa: S310 - loopback fake
        return dict(json.load(answer))


@pytest.mark.slow
def test_200_jobs_with_20_in_flight(
    tmp_path: Path, fake_process: tuple[str, subprocess.Popen[str]]
) -> None:
    """Every file arrives intact, at most 20 exports ever run at the fake, none is submitted twice,
    and no credential reaches the storage origin."""
    base_url, _ = fake_process
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(MANIFEST)
    out = tmp_path / "out"
    config = FakeConfig()
    env = {
        **os.environ,
        **FAST_SETTINGS,
        "ORCHESTRATOR_BASE_URL": base_url,
        "ORCHESTRATOR_USERNAME": config.username,
        "ORCHESTRATOR_PASSWORD": config.password,
        "ORCHESTRATOR_COMPANY_KEY": config.company_key,
        "ORCHESTRATOR_OUT": str(out),
        "ORCHESTRATOR_MAX_IN_FLIGHT": "20",
        "ORCHESTRATOR_MAX_DOWNLOADS": "6",
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    jobs = plan(load_manifest(manifest), as_of=date(2024, 3, 22)).jobs
    assert len(jobs) == 200
    report = json.loads(next((out / "_runs").glob("*.json")).read_text())
    assert_tree_matches(out, jobs, report, config)
    seen = counters(base_url)
    assert seen["max_running"] <= 20
    assert seen["max_running"] >= 15, "the limit should be used, not just respected"
    assert seen["credential_leaks"] == 0
    assert max(seen["submits_by_request"].values()) == 1
    assert seen["jobs_created"] == 200
