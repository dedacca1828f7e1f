"""`orchestrator fake-api`: serve the embedded fake API on its own, for benchmarks and for clients
in another process or container. Every fault and answer form is a flag, off by default."""

from __future__ import annotations

import argparse
import contextlib

import anyio

from orchestrator.cli.arguments import Argument, Commands
from orchestrator.errors import UsageError
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import (
    MAX_REDIRECT_HOPS,
    Duration,
    FakeConfig,
    Faults,
    describe,
    parse_duration,
    serve_forever,
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


def _flag(flag: str, text: str, **options: object) -> Argument:
    return Argument((flag,), {**options, "help": text})


def _chance(flag: str, text: str) -> Argument:
    """A probability per request, off by default."""
    return _flag(flag, text, type=float, default=0.0, metavar="P")


def _count(flag: str, text: str, metavar: str = "K") -> Argument:
    return _flag(flag, text, type=int, default=0, metavar=metavar)


def _export_ids(flag: str, text: str) -> Argument:
    return _flag(flag, text, type=_ids, default="", metavar="ID,ID")


SERVER = (
    _flag("--host", "address both servers listen on", default="127.0.0.1"),
    _flag(
        "--public-host",
        "host named in the URLs the API hands out (status, download, storage), for clients "
        "that reach the fake by another name (a container's service name)",
        default="127.0.0.1",
    ),
    _flag("--port", "API port (0 picks a free one)", type=int, default=8080),
    _flag("--storage-port", "object-storage port (0 picks a free one)", type=int, default=0),
    _flag("--username", "the Basic-auth user the API accepts", default="demo"),
    _flag("--password", "the Basic-auth password the API accepts", default="demo-password"),
    _flag("--company-key", "the companyKey the API accepts", default="demo-company"),
    _flag(
        "--job-seconds",
        "how long each export runs: S, MIN:MAX (uniform) or lognormal:MEDIAN:SIGMA",
        type=_duration,
        default="0.2:1.0",
        metavar="SPEC",
    ),
    _flag(
        "--job-seconds-for",
        "the same, for one export id only (repeatable)",
        type=_export_duration,
        action="append",
        default=[],  # argparse copies it before appending
        metavar="EXPORT_ID=SPEC",
    ),
    _flag("--url-ttl", "pre-signed URL lifetime", type=float, default=300.0, metavar="SECONDS"),
    _flag(
        "--max-running",
        "cap on running exports, past which a create answers 429; none: no cap",
        type=int,
        default=None,
        metavar="N",
    ),
    _flag("--rows-per-day", "about N rows per day of data", type=int, default=24, metavar="N"),
    _flag("--seed", "seed of every random draw (faults, durations)", type=int, default=0),
)

FAULTS = (
    _chance("--rate-limit", "an API request answers 429 with Retry-After"),
    _chance("--server-error", "an API request answers 500, 502 or 503 with an HTML body"),
    _chance("--job-failure", "a created export ends CLOSED/FAILED"),
    _chance("--cut-download", "a file body stops halfway after announcing its full Content-Length"),
    _chance("--expired-url", "the download redirects to an already-expired pre-signed URL"),
    _chance("--text-plain", "a JSON answer is labelled text/plain"),
    _flag("--retry-after", "Retry-After of the 429s", type=int, default=1, metavar="SECONDS"),
    _export_ids("--failing-exports", "export ids whose exports always end CLOSED/FAILED"),
)

ANSWER_FORMS = (
    _chance(
        "--direct-download",
        "the download endpoint answers 200 with the file itself instead of a 307",
    ),
    _count(
        "--redirect-hops",
        f"extra redirects (0-{MAX_REDIRECT_HOPS}) before the storage object, alternating "
        "API and storage origins; none takes credentials",
        metavar="N",
    ),
    _count(
        "--late-url-polls",
        "a COMPLETED export shows an empty downloadUrl for its first K polls after it ended",
    ),
    _chance(
        "--gzip-storage",
        "storage sends the body with Content-Encoding: gzip whatever was asked "
        "(Content-Length counts the compressed bytes)",
    ),
    _flag(
        "--access-tokens",
        "status and download URLs carry a per-job analyticsAccessToken, and a status or "
        "download request carrying a companyKey is refused with 403",
        action="store_true",
    ),
    _export_ids("--missing-exports", "export ids whose create answers 404"),
    _export_ids(
        "--refused-exports",
        "export ids whose create answers 403, as when Publishing is not enabled",
    ),
    _count(
        "--unknown-state-polls",
        "an export's first K polls answer runnerState QUEUED with an empty detail",
    ),
    _count(
        "--closed-empty-detail-polls",
        "after an export ended, its first K polls answer CLOSED with an empty detail",
    ),
    _export_ids(
        "--empty-exports", "export ids whose files are empty: [] for JSON, for CSV see --empty-form"
    ),
    _flag(
        "--empty-form",
        "an empty CSV file is its header line alone, or 0 bytes",
        choices=("header", "zero"),
        default="header",
    ),
    _chance(
        "--ids-only-creates",
        "a create answers {workflowId, runId} alone, as the vendor's generic endpoint does "
        "(for the report types it serves)",
    ),
    _flag(
        "--early-download-url",
        "the user export's create answer carries its downloadUrl at once, as the vendor's "
        "example does",
        action="store_true",
    ),
)


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default; an empty or absent default reads "none"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in ("", [], None) and action.help is not None:
            return f"{action.help} (default: none)"
        if action.default is False and action.help is not None:
            return f"{action.help} (default: off)"
        return super()._get_help_string(action)


def add_commands(commands: Commands) -> None:
    """Register `fake-api`."""
    fake = commands.add_parser(
        "fake-api",
        help="serve the fake Analytics Reports API",
        description="Serve the fake Analytics Reports API and its object storage on loopback "
        "ports until Ctrl-C. Every fault and answer form is off by default; probabilities (P) "
        "are drawn per request from one generator seeded by --seed.",
        formatter_class=_DefaultsHelpFormatter,
    )
    for argument in SERVER:
        argument.add_to(fake)
    faults = fake.add_argument_group("faults", "what goes wrong; P is a probability per request")
    for argument in FAULTS:
        argument.add_to(faults)
    forms = fake.add_argument_group(
        "answer forms", "answers the quick start allows and a client must accept (all off)"
    )
    for argument in ANSWER_FORMS:
        argument.add_to(forms)
    fake.set_defaults(command=command_fake_api)


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
        faults=_faults(arguments),
    )


def _faults(arguments: argparse.Namespace) -> Faults:
    return Faults(
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
