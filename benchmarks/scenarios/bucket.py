"""Scenario 6, a bucket: one large file exported into S3 (moto, in its own process), memory flat.

The downloads scenario's set-up (a static server in its own process, a fake whose download
redirects to it, one zero-duration job), with `ORCHESTRATOR_OUT=s3://bench/exports` and the
standard AWS variables pointing at moto. The file streams up in parts of 8 MiB to a staging object,
then to its key with its metadata (see orchestrator/edges/storage/object_sink.py): the whole file
crosses the orchestrator twice, and its memory must stay flat. Peak RSS is the orchestrator
process's, from `wait4`; moto holds every byte, in its own process. Not part of `--quick` (moto
keeps the file in memory, and the test suite covers S3 runs); `--only bucket` runs it alone.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
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
from ..report import Section
from .downloads import MIB, write_csv

BUCKET = "bench-exports"
SIZE_MIB = 1024


def run(quick: bool) -> Section:
    size = 64 if quick else SIZE_MIB
    section = Section("bucket", "6. A bucket", setup={"file_mib": size, "store": "moto S3"})
    folder = Path(tempfile.mkdtemp(prefix="bench-bucket-"))
    try:
        source = folder / "source.csv"
        write_csv(source, size)
        static = [sys.executable, str(BENCH_DIR / "static_server.py"), str(source)]
        moto = [sys.executable, str(BENCH_DIR / "moto_s3.py"), BUCKET]
        with local_server(static) as storage, local_server(moto) as s3:
            redirect = [sys.executable, str(BENCH_DIR / "fake_redirect.py"), storage.base_url]
            with local_server(redirect) as fake:
                manifest = write_manifest(
                    folder, "jobs.yaml", [Export("big", "conversation")], START, 1
                )
                env = orchestrator_env(
                    fake, folder / "unused", Limits(in_flight=1, downloads=1), quick=quick
                )
                env.update(
                    ORCHESTRATOR_OUT=f"s3://{BUCKET}/exports",
                    AWS_ACCESS_KEY_ID="bench",
                    AWS_SECRET_ACCESS_KEY="bench-secret",  # noqa: S106 - moto checks no signature
                    AWS_REGION="us-east-1",
                    AWS_ENDPOINT_URL=s3.base_url,
                    AWS_ALLOW_HTTP="true",
                )
                measured = orchestrator("run", manifest, START.replace(day=2), env)
                check_run(measured, "bucket run")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    section.add(f"{size} MiB into S3: seconds", measured.seconds, "s")
    section.add(f"{size} MiB into S3: MiB/s", size / measured.seconds, "MiB/s", "both passes")
    section.add(f"{size} MiB into S3: orchestrator peak RSS", measured.peak_rss_mib, "MiB")
    section.target(
        "peak RSS under 150 MB", f"{size} MiB into S3: orchestrator peak RSS", "<", 150e6 / MIB
    )
    return section
