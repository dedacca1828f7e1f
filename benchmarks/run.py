"""Throughput and memory of a whole run against the fake API, both in their own processes.

    python benchmarks/run.py [--jobs 1000] [--in-flight 50] [--downloads 8] [--rows-per-day 2000]

Prints wall time, jobs per second, peak RSS of the orchestrator process, and API requests per job
(create + status + download), which is what the real API's 20-per-minute budget makes scarce.
Few jobs with many rows (`--jobs 4 --rows-per-day 1000000`, files of about 100 MB) show that a
large file streams in bounded memory. Not part of `make test`: timings belong to a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

FAKE_USER, FAKE_PASSWORD, FAKE_KEY = "demo", "demo-password", "demo-company"


START = date(2024, 1, 1)


def manifest(jobs: int) -> tuple[str, date]:
    """Two exports with two filter sets each (four jobs a day) over enough days; and the end."""
    end = START + timedelta(days=max(1, jobs // 4))
    lines = [
        "version: 1",
        "defaults:",
        f"  range: {{start: {START}, end: {end}}}",
        "exports:",
        "  - name: conversations",
        "    export_id: conversation",
        "    filters: [{}, {label: urgent, priorities: [0, 1]}]",
        "  - name: actions",
        "    export_id: conversation_actions",
        "    format: json",
        "    filters: [{}, {label: queue, workqueueIds: [7]}]",
    ]
    return "\n".join(lines) + "\n", end


def start_fake(rows_per_day: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "fake-api",
        "--port",
        "0",
        "--job-seconds",
        "0.05:0.2",
        "--rows-per-day",
        str(rows_per_day),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.search(r"at (http://127\.0\.0\.1:\d+) ", process.stdout.readline())
    if not match:
        process.kill()
        raise SystemExit("the fake API did not start")
    return process, match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--downloads", type=int, default=8)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    options = parser.parse_args()

    fake, base_url = start_fake(options.rows_per_day)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "jobs.yaml"
            text, as_of = manifest(options.jobs)
            path.write_text(text)
            env = {
                **os.environ,
                "ORCHESTRATOR_BASE_URL": base_url,
                "ORCHESTRATOR_USERNAME": FAKE_USER,
                "ORCHESTRATOR_PASSWORD": FAKE_PASSWORD,
                "ORCHESTRATOR_COMPANY_KEY": FAKE_KEY,
                "ORCHESTRATOR_OUT": str(Path(folder) / "out"),
                "ORCHESTRATOR_MAX_IN_FLIGHT": str(options.in_flight),
                "ORCHESTRATOR_MAX_DOWNLOADS": str(options.downloads),
                "ORCHESTRATOR_REQUESTS_PER_MINUTE": "1000000",
                "ORCHESTRATOR_POLL_FIRST_SECONDS": "0.1",
                "ORCHESTRATOR_POLL_MAX_SECONDS": "0.5",
                "ORCHESTRATOR_LOG_LEVEL": "warning",
            }
            started = time.monotonic()
            run = subprocess.Popen(
                [sys.executable, "-m", "orchestrator", "run", str(path), "--as-of", str(as_of)],
                env=env,
                stdout=subprocess.PIPE,
            )
            _, status, usage = os.wait4(run.pid, 0)
            elapsed = time.monotonic() - started
            assert run.stdout is not None
            summary = run.stdout.read().decode()
            report = json.loads(next((Path(folder) / "out" / "_runs").glob("*.json")).read_text())
        with urllib.request.urlopen(f"{base_url}/_fake/counters", timeout=10) as answer:  # noqa: S310 - loopback
            counters = json.load(answer)
    finally:
        fake.terminate()
        fake.wait(10)

    jobs = report["totals"]["jobs"]
    requests = sum(counters["requests"][kind] for kind in ("create", "status", "download"))
    result = {
        "exit_code": os.waitstatus_to_exitcode(status),
        "jobs": jobs,
        "seconds": round(elapsed, 2),
        "jobs_per_second": round(jobs / elapsed, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "megabytes_written": round(report["totals"]["bytes"] / 1e6, 1),
        "api_requests_per_job": round(requests / max(jobs, 1), 2),
        "max_running_at_fake": counters["max_running"],
        "credential_leaks": counters["credential_leaks"],
    }
    print(summary.strip().splitlines()[0])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
