"""`orchestrator demo` and `orchestrator fake-api`: the embedded fake API, for trying a manifest
without an account and for benchmarks against a separate process."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

import anyio

from orchestrator.edges.settings import load_settings
from orchestrator.errors import UsageError
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, describe, serve_forever

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


def add_demo_commands(commands: Any) -> None:
    """Register `demo` and `fake-api` on the CLI's sub-command parser."""
    from orchestrator.cli import manifest_arguments

    demo = commands.add_parser("demo", help="run a manifest against the embedded fake API")
    manifest_arguments(demo)
    demo.add_argument("--out", type=Path, default=Path("out"), help="output folder (./out)")
    demo.set_defaults(command=command_demo)

    fake = commands.add_parser("fake-api", help="serve the fake Analytics Reports API")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8080)
    fake.add_argument("--storage-port", type=int, default=0)
    fake.add_argument("--username", default="demo")
    fake.add_argument("--password", default="demo-password")
    fake.add_argument("--company-key", default="demo-company")
    fake.add_argument("--job-seconds", type=_duration, default=(0.2, 1.0), metavar="S[:MAX]")
    fake.add_argument("--url-ttl", type=float, default=300.0, metavar="SECONDS")
    fake.add_argument("--max-running", type=int, default=None, help="cap on running exports")
    fake.add_argument("--rows-per-day", type=int, default=24)
    fake.add_argument("--seed", type=int, default=0)
    for fault in ("rate_limit", "server_error", "job_failure", "cut_download", "expired_url"):
        fake.add_argument(f"--{fault.replace('_', '-')}", type=float, default=0.0, metavar="P")
    fake.set_defaults(command=command_fake_api)


def _duration(text: str) -> float | tuple[float, float]:
    try:
        low, _, high = text.partition(":")
        return (float(low), float(high)) if high else float(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SECONDS or MIN:MAX") from None


def command_demo(arguments: argparse.Namespace) -> ExitCode:
    from orchestrator.cli import planned, run_and_report

    _, expanded, as_of = planned(arguments)
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
            code = await run_and_report(
                settings, expanded, manifest=str(arguments.manifest), as_of=as_of
            )
            print(f"demo finished in {time.monotonic() - started:.1f} s")
            return code

    return anyio.run(demo)


def command_fake_api(arguments: argparse.Namespace) -> ExitCode:
    try:
        config = _fake_config(arguments)
    except ValueError as error:
        raise UsageError(f"fake-api: {error}") from None

    async def serve() -> None:
        await serve_forever(
            config,
            arguments.host,
            arguments.port,
            arguments.storage_port,
            on_ready=lambda fake: print(describe(fake), flush=True),
        )

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops the fake
        anyio.run(serve)
    return ExitCode.OK


def _fake_config(arguments: argparse.Namespace) -> FakeConfig:
    faults = Faults(
        rate_limit=arguments.rate_limit,
        server_error=arguments.server_error,
        job_failure=arguments.job_failure,
        cut_download=arguments.cut_download,
        expired_url=arguments.expired_url,
    )
    return FakeConfig(
        username=arguments.username,
        password=arguments.password,
        company_key=arguments.company_key,
        job_duration=arguments.job_seconds,
        url_ttl_seconds=arguments.url_ttl,
        max_running_per_company=arguments.max_running,
        rows_per_day=arguments.rows_per_day,
        seed=arguments.seed,
        faults=faults,
    )
