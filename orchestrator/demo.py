"""`orchestrator demo` and `orchestrator fake-api`: the embedded fake API, for trying a manifest
without an account and for benchmarks against a separate process.

`demo` without a manifest where there is no ./jobs.yaml (inside the image, say) runs
`demo_jobs.yaml`, a copy of the repository's jobs.yaml shipped in the package."""

from __future__ import annotations

import argparse
import contextlib
import time
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import anyio

from orchestrator.edges.settings import load_settings
from orchestrator.errors import UsageError
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import (
    MAX_REDIRECT_HOPS,
    Duration,
    FakeApi,
    FakeConfig,
    Faults,
    describe,
    parse_duration,
    serve_forever,
)

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


def add_demo_commands(commands: Any) -> None:
    """Register `demo` and `fake-api` on the CLI's sub-command parser."""
    from orchestrator.cli import manifest_arguments

    demo = commands.add_parser("demo", help="run a manifest against the embedded fake API")
    manifest_arguments(demo)
    demo.add_argument(
        "--out", type=Path, help="output folder (default: $ORCHESTRATOR_OUT, else ./out)"
    )
    demo.set_defaults(command=command_demo)

    fake = commands.add_parser(
        "fake-api",
        help="serve the fake Analytics Reports API",
        description="Serve the fake Analytics Reports API and its object storage on loopback "
        "ports until Ctrl-C. Every fault and answer form is off by default; probabilities (P) "
        "are drawn per request from one generator seeded by --seed.",
        formatter_class=_DefaultsHelpFormatter,
    )
    _fake_server_arguments(fake)
    _fake_fault_arguments(fake)
    _fake_form_arguments(fake)
    fake.set_defaults(command=command_fake_api)


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default; an empty or absent default reads "none"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in ("", [], None) and action.help is not None:
            return f"{action.help} (default: none)"
        if action.default is False and action.help is not None:
            return f"{action.help} (default: off)"
        return super()._get_help_string(action)


def _fake_server_arguments(fake: argparse.ArgumentParser) -> None:
    add = fake.add_argument
    add("--host", default="127.0.0.1", help="address both servers listen on")
    add(
        "--public-host",
        default="127.0.0.1",
        help="host named in the URLs the API hands out (status, download, storage), for clients "
        "that reach the fake by another name (a container's service name)",
    )
    add("--port", type=int, default=8080, help="API port (0 picks a free one)")
    add("--storage-port", type=int, default=0, help="object-storage port (0 picks a free one)")
    add("--username", default="demo", help="the Basic-auth user the API accepts")
    add("--password", default="demo-password", help="the Basic-auth password the API accepts")
    add("--company-key", default="demo-company", help="the companyKey the API accepts")
    add(
        "--job-seconds",
        type=_duration,
        default="0.2:1.0",
        metavar="SPEC",
        help="how long each export runs: S, MIN:MAX (uniform) or lognormal:MEDIAN:SIGMA",
    )
    add(
        "--job-seconds-for",
        type=_export_duration,
        action="append",
        default=[],
        metavar="EXPORT_ID=SPEC",
        help="the same, for one export id only (repeatable)",
    )
    add("--url-ttl", type=float, default=300.0, metavar="SECONDS", help="pre-signed URL lifetime")
    add(
        "--max-running",
        type=int,
        default=None,
        metavar="N",
        help="cap on running exports, past which a create answers 429; none: no cap",
    )
    add("--rows-per-day", type=int, default=24, metavar="N", help="about N rows per day of data")
    add("--seed", type=int, default=0, help="seed of every random draw (faults, durations)")


_FAULT_HELP = {
    "rate_limit": "an API request answers 429 with Retry-After",
    "server_error": "an API request answers 500, 502 or 503 with an HTML body",
    "job_failure": "a created export ends CLOSED/FAILED",
    "cut_download": "a file body stops halfway after announcing its full Content-Length",
    "expired_url": "the download redirects to an already-expired pre-signed URL",
    "text_plain": "a JSON answer is labelled text/plain",
}


def _fake_fault_arguments(fake: argparse.ArgumentParser) -> None:
    group = fake.add_argument_group("faults", "what goes wrong; P is a probability per request")
    for fault, meaning in _FAULT_HELP.items():
        group.add_argument(
            f"--{fault.replace('_', '-')}", type=float, default=0.0, metavar="P", help=meaning
        )
    group.add_argument(
        "--retry-after", type=int, default=1, metavar="SECONDS", help="Retry-After of the 429s"
    )
    group.add_argument(
        "--failing-exports",
        type=_ids,
        default="",
        metavar="ID,ID",
        help="export ids whose exports always end CLOSED/FAILED",
    )


def _fake_form_arguments(fake: argparse.ArgumentParser) -> None:
    group = fake.add_argument_group(
        "answer forms", "answers the quick start allows and a client must accept (all off)"
    )
    add = group.add_argument
    add(
        "--direct-download",
        type=float,
        default=0.0,
        metavar="P",
        help="the download endpoint answers 200 with the file itself instead of a 307",
    )
    add(
        "--redirect-hops",
        type=int,
        default=0,
        metavar="N",
        help=f"extra redirects (0-{MAX_REDIRECT_HOPS}) before the storage object, alternating "
        "API and storage origins; none takes credentials",
    )
    add(
        "--late-url-polls",
        type=int,
        default=0,
        metavar="K",
        help="a COMPLETED export shows an empty downloadUrl for its first K polls after it ended",
    )
    add(
        "--gzip-storage",
        type=float,
        default=0.0,
        metavar="P",
        help="storage sends the body with Content-Encoding: gzip whatever was asked "
        "(Content-Length counts the compressed bytes)",
    )
    add(
        "--access-tokens",
        action="store_true",
        help="status and download URLs carry a per-job analyticsAccessToken, and a status or "
        "download request carrying a companyKey is refused with 403",
    )
    add(
        "--missing-exports",
        type=_ids,
        default="",
        metavar="ID,ID",
        help="export ids whose create answers 404",
    )
    add(
        "--refused-exports",
        type=_ids,
        default="",
        metavar="ID,ID",
        help="export ids whose create answers 403, as when Publishing is not enabled",
    )
    add(
        "--unknown-state-polls",
        type=int,
        default=0,
        metavar="K",
        help="an export's first K polls answer runnerState QUEUED with an empty detail",
    )
    add(
        "--closed-empty-detail-polls",
        type=int,
        default=0,
        metavar="K",
        help="after an export ended, its first K polls answer CLOSED with an empty detail",
    )
    add(
        "--empty-exports",
        type=_ids,
        default="",
        metavar="ID,ID",
        help="export ids whose files are empty: [] for JSON, for CSV see --empty-form",
    )
    add(
        "--empty-form",
        choices=("header", "zero"),
        default="header",
        help="an empty CSV file is its header line alone, or 0 bytes",
    )
    add(
        "--ids-only-creates",
        type=float,
        default=0.0,
        metavar="P",
        help="a create answers {workflowId, runId} alone, as the vendor's generic endpoint does "
        "(for the report types it serves)",
    )
    add(
        "--early-download-url",
        action="store_true",
        help="the user export's create answer carries its downloadUrl at once, as the vendor's "
        "example does",
    )


def _duration(text: str) -> Duration:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _export_duration(text: str) -> tuple[str, Duration]:
    export_id, equals, spec = text.partition("=")
    if not equals or not export_id.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not EXPORT_ID=SPEC")
    return export_id.strip(), _duration(spec)


def _ids(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split(",") if item.strip())


def uses_bundled_manifest(manifest: Path) -> bool:
    """True when the demo should run the package's own manifest: none was named (the default,
    ./jobs.yaml) and there is no such file here."""
    from orchestrator.cli import DEFAULT_MANIFEST

    return manifest == DEFAULT_MANIFEST and not manifest.exists()


def command_demo(arguments: argparse.Namespace) -> ExitCode:
    if not uses_bundled_manifest(arguments.manifest):
        return _demo(arguments)
    with as_file(files("orchestrator").joinpath(BUNDLED_MANIFEST)) as bundled:
        print(f"no ./{arguments.manifest} here: running the bundled demo manifest", flush=True)
        arguments.manifest = bundled
        return _demo(arguments)


def _demo(arguments: argparse.Namespace) -> ExitCode:
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

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops the fake
            anyio.run(serve)
    except OSError as error:  # a port taken, or an address this host does not have
        raise UsageError(
            f"fake-api: cannot listen on {arguments.host} (--port {arguments.port}, "
            f"--storage-port {arguments.storage_port}): {error.strerror or error}"
        ) from None
    return ExitCode.OK


def _fake_config(arguments: argparse.Namespace) -> FakeConfig:
    faults = Faults(
        rate_limit=arguments.rate_limit,
        server_error=arguments.server_error,
        job_failure=arguments.job_failure,
        cut_download=arguments.cut_download,
        expired_url=arguments.expired_url,
        text_plain=arguments.text_plain,
        retry_after_seconds=arguments.retry_after,
        failing_exports=arguments.failing_exports,
        direct_download=arguments.direct_download,
        redirect_hops=arguments.redirect_hops,
        late_url_polls=arguments.late_url_polls,
        gzip_storage=arguments.gzip_storage,
        access_tokens=arguments.access_tokens,
        missing_exports=arguments.missing_exports,
        refused_exports=arguments.refused_exports,
        unknown_state_polls=arguments.unknown_state_polls,
        closed_empty_detail_polls=arguments.closed_empty_detail_polls,
        empty_exports=arguments.empty_exports,
        empty_form=arguments.empty_form,
        ids_only_creates=arguments.ids_only_creates,
        early_download_url=arguments.early_download_url,
    )
    return FakeConfig(
        username=arguments.username,
        password=arguments.password,
        company_key=arguments.company_key,
        job_duration=arguments.job_seconds,
        job_duration_by_export=dict(arguments.job_seconds_for),
        url_ttl_seconds=arguments.url_ttl,
        max_running_per_company=arguments.max_running,
        rows_per_day=arguments.rows_per_day,
        seed=arguments.seed,
        public_host=arguments.public_host,
        faults=faults,
    )
