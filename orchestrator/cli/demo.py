"""`orchestrator demo`: a manifest run against the embedded fake API, for trying the tool without
an account (`orchestrator fake-api` serves the same fake on its own).

`demo` without a manifest where there is no ./jobs.yaml (inside the image, say) runs
`demo_jobs.yaml`, a copy of the repository's jobs.yaml shipped in the package."""

from __future__ import annotations

import argparse
import time
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import anyio

from orchestrator.app.planning import request_for
from orchestrator.cli.arguments import (
    DEFAULT_MANIFEST,
    MANIFEST_ARGUMENTS,
    SETTINGS,
    Commands,
    add,
    plan_from,
    settings_from,
)
from orchestrator.cli.runs import run_and_report
from orchestrator.edges.settings import load_settings
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, describe

DEMO_LIMITS: dict[str, Any] = {
    "max_in_flight": 8,
    "max_downloads": 4,
    "requests_per_minute": 6000,
    "poll_first_seconds": 0.2,
    "poll_max_seconds": 1.0,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 1.0,
    "resubmit_cooldown_seconds": 0.5,
}
"""Limits suited to the fake, whose exports take about a second instead of minutes."""

DEMO_FAULTS = Faults(rate_limit=0.03, server_error=0.03, cut_download=0.05, job_failure=0.05)
"""A few of the faults the real API shows, so the demo also shows the retries."""
BUNDLED_MANIFEST = "demo_jobs.yaml"
"""Package data: the repository's jobs.yaml, for a demo where there is none (the image)."""


def add_commands(commands: Commands) -> None:
    """Register `demo`."""
    demo = commands.add_parser("demo", help="run a manifest against the embedded fake API")
    add(demo, *MANIFEST_ARGUMENTS, SETTINGS["out"])
    demo.set_defaults(command=command_demo)


def uses_bundled_manifest(manifest: Path) -> bool:
    """True when the demo should run the package's own manifest: none was named (the default,
    ./jobs.yaml) and there is no such file here."""
    return manifest == DEFAULT_MANIFEST and not manifest.exists()


def command_demo(arguments: argparse.Namespace) -> ExitCode:
    if not uses_bundled_manifest(arguments.manifest):
        return _demo(arguments)
    with as_file(files("orchestrator").joinpath(BUNDLED_MANIFEST)) as bundled:
        print(f"no ./{arguments.manifest} here: running the bundled demo manifest", flush=True)
        arguments.manifest = bundled
        return _demo(arguments)


def _demo(arguments: argparse.Namespace) -> ExitCode:
    found = plan_from(arguments, settings_from(arguments))
    request = request_for(found, manifest=str(arguments.manifest))
    config = FakeConfig(faults=DEMO_FAULTS)

    async def demo() -> ExitCode:
        async with FakeApi(config) as fake:
            print(describe(fake), flush=True)
            settings = load_settings(
                base_url=fake.base_url,
                username=config.username,
                password=config.password,
                company_key=config.company_key,
                out=arguments.out,
                **DEMO_LIMITS,
            )
            started = time.monotonic()
            code = await run_and_report(settings, request)
            print(f"demo finished in {time.monotonic() - started:.1f} s")
            return code

    return anyio.run(demo)
