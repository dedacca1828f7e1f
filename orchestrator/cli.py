"""The `orchestrator` command: a thin layer that parses arguments and calls the application.

Every expected problem ends as one clear message on stderr and a documented exit code (see
`orchestrator.exit_codes`); a traceback only ever means a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from orchestrator.app import RunRequest, execute
from orchestrator.core.manifest import Manifest, load_manifest
from orchestrator.core.planner import MAX_JOBS, Plan, plan
from orchestrator.edges.folders import is_file
from orchestrator.edges.logs import configure_logging
from orchestrator.edges.settings import SECRET_FIELDS, Settings, load_settings
from orchestrator.edges.status import describe_journal
from orchestrator.errors import OrchestratorError, SettingsError, UsageError
from orchestrator.exit_codes import ExitCode, describe_error, exit_code_for
from orchestrator.summary import describe_outcome

DEFAULT_MANIFEST = Path("jobs.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return int(arguments.command(arguments))
    except OrchestratorError as error:
        _say(describe_error(error))
        return exit_code_for(error)
    except KeyboardInterrupt:
        return ExitCode.SIGINT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Bulk exports from the Khoros Care Analytics Reports API.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run every job of a manifest into the output tree")
    manifest_arguments(run)
    _settings_arguments(run)
    run.add_argument("--force", action="store_true", help="redo jobs already downloaded")
    run.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every finished file before reusing it (default: only those whose size, "
        "mtime or inode changed)",
    )
    run.set_defaults(command=command_run)

    plan_parser = commands.add_parser("plan", help="print the jobs a manifest expands into")
    manifest_arguments(plan_parser)
    plan_parser.add_argument("--json", action="store_true", help="machine-readable output")
    plan_parser.set_defaults(command=command_plan)

    validate = commands.add_parser("validate", help="check a manifest and nothing else")
    manifest_arguments(validate)
    validate.set_defaults(command=command_validate)

    config = commands.add_parser("config", help="check the settings and print them, secrets masked")
    _settings_arguments(config)
    config.set_defaults(command=command_config)

    status = commands.add_parser("status", help="what the journal knows about past runs")
    status.add_argument("--out", type=Path, help="output folder (default: $ORCHESTRATOR_OUT)")
    status.add_argument("--journal", type=Path, help="journal file (default: <out>/.orchestrator)")
    status.set_defaults(command=command_status)

    from orchestrator.demo import add_demo_commands

    add_demo_commands(commands)
    from orchestrator.account import add_account_commands

    add_account_commands(commands)
    return parser


def manifest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "manifest", nargs="?", type=Path, default=DEFAULT_MANIFEST, help="default: ./jobs.yaml"
    )
    parser.add_argument(
        "--max-jobs",
        type=int,
        help="refuse manifests that plan more jobs ($ORCHESTRATOR_MAX_JOBS, 100000)",
    )
    parser.add_argument(
        "--as-of",
        type=_iso_date,
        help="the run date that 'today' means, YYYY-MM-DD (default: today in the manifest's zone)",
    )


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that override ORCHESTRATOR_* environment variables of the same name."""
    parser.add_argument("--out", type=Path, help="output folder ($ORCHESTRATOR_OUT, ./out)")
    parser.add_argument("--journal", type=Path, help="journal file ($ORCHESTRATOR_JOURNAL)")
    parser.add_argument("--base-url", help="API origin ($ORCHESTRATOR_BASE_URL)")
    parser.add_argument("--max-in-flight", type=int, help="exports submitted and not finished")
    parser.add_argument("--max-downloads", type=int, help="downloads at once")
    parser.add_argument("--requests-per-minute", type=float, help="API request budget")
    parser.add_argument("--max-runtime", type=float, dest="max_runtime_seconds", metavar="SECONDS")
    parser.add_argument("--grace", type=float, dest="grace_seconds", metavar="SECONDS")
    parser.add_argument("--log-format", choices=("auto", "console", "json"))
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))


_SETTINGS_FLAGS = (
    "max_jobs",
    "out",
    "journal",
    "base_url",
    "max_in_flight",
    "max_downloads",
    "requests_per_minute",
    "max_runtime_seconds",
    "grace_seconds",
    "log_format",
    "log_level",
)


def settings_from(arguments: argparse.Namespace, **extra: Any) -> Settings:
    flags = {name: getattr(arguments, name, None) for name in _SETTINGS_FLAGS}
    return load_settings(**flags, **extra)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def planned(
    arguments: argparse.Namespace, max_jobs: int | None = None
) -> tuple[Manifest, Plan, date]:
    """Load the manifest, resolve the run date in its zone and expand it; warnings go to stderr."""
    path: Path = arguments.manifest
    if not is_file(path):
        raise UsageError(
            f"{path}: no such manifest file (give its path, or run where jobs.yaml is)"
        )
    manifest = load_manifest(path)
    as_of = arguments.as_of or datetime.now(manifest.timezone).date()
    ceiling = next((n for n in (max_jobs, arguments.max_jobs) if n is not None), MAX_JOBS)
    if ceiling <= 0:
        raise UsageError(f"--max-jobs must be a positive number, not {ceiling}")
    expanded = plan(manifest, as_of=as_of, max_jobs=ceiling)
    for warning in expanded.warnings:
        _say(f"warning: {warning}")
    return manifest, expanded, as_of


def command_validate(arguments: argparse.Namespace) -> ExitCode:
    _, expanded, as_of = planned(arguments)
    print(f"{arguments.manifest}: valid, {len(expanded.jobs)} jobs as of {as_of}")
    return ExitCode.OK


def command_plan(arguments: argparse.Namespace) -> ExitCode:
    _, expanded, as_of = planned(arguments)
    jobs = expanded.jobs
    if arguments.json:
        document = {
            "as_of": as_of.isoformat(),
            "total": len(jobs),
            "jobs": [
                {
                    "key": job.key,
                    "export": job.export_name,
                    "export_id": job.export_id,
                    "source": job.source,
                    "format": job.format,
                    "window_start": job.window.start.isoformat(),
                    "window_end": job.window.end.isoformat(),
                    "label": job.filter_label,
                    "params": [list(pair) for pair in job.request_params()],
                }
                for job in jobs
            ],
        }
        print(json.dumps(document, indent=2))
        return ExitCode.OK
    print(f"{'KEY':<16}  {'EXPORT':<20}  {'WINDOW START':<25}  {'WINDOW END':<25}  LABEL")
    for job in jobs:
        print(
            f"{job.key:<16}  {job.export_name:<20}  {job.window.start.isoformat():<25}  "
            f"{job.window.end.isoformat():<25}  {job.filter_label or ''}"
        )
    per_export = Counter(job.export_name for job in jobs)
    breakdown = ", ".join(f"{name} {count}" for name, count in per_export.items())
    print(f"\n{len(jobs)} jobs as of {as_of}" + (f" ({breakdown})" if breakdown else ""))
    return ExitCode.OK


def command_run(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    settings.credentials()
    _, expanded, as_of = planned(arguments, settings.max_jobs)
    manifest = str(arguments.manifest)
    run = partial(
        run_and_report,
        manifest=manifest,
        as_of=as_of,
        force=arguments.force,
        verify=arguments.verify,
    )
    return anyio.run(run, settings, expanded)


async def run_and_report(
    settings: Settings,
    expanded: Plan,
    *,
    manifest: str,
    as_of: date,
    force: bool = False,
    verify: bool = False,
) -> ExitCode:
    """Run a plan with logging configured from `settings`; print the human summary on stdout."""
    configure_logging(
        log_format=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    request = RunRequest(
        jobs=expanded.jobs,
        manifest=manifest,
        as_of=as_of.isoformat(),
        force=force,
        verify=verify,
    )
    outcome = await execute(settings, request)
    print(describe_outcome(outcome, settings.out))
    return outcome.exit_code


def command_config(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    shown = settings.model_dump(mode="json")
    for name in SECRET_FIELDS:
        shown[name] = "***" if shown[name] else None
    print(json.dumps(shown, indent=2))
    try:
        settings.credentials()
    except SettingsError as error:
        _say(f"warning: {error} (needed by `run`)")
    return ExitCode.OK


def command_status(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    print(describe_journal(settings.journal_path()))
    return ExitCode.OK


def _say(message: str) -> None:
    print(f"orchestrator: {message}", file=sys.stderr)
