"""The `orchestrator` command: a thin layer that parses arguments and calls the application.

Every expected problem ends as one clear message on stderr and a documented exit code (see
`orchestrator.exit_codes`); a traceback only ever means a bug. A reader that closes stdout early
(`| head`) ends the command quietly with exit code 141, as the shell reports a Unix tool it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import anyio
from rich.console import Console

from orchestrator.app import RunRequest, execute
from orchestrator.app.forecast import forecast
from orchestrator.core.catalog_check import verdict
from orchestrator.core.manifest import Manifest, load_manifest
from orchestrator.core.planner import Plan, plan
from orchestrator.core.shard import Shard, select
from orchestrator.display import LiveDisplay, ProgressLog
from orchestrator.edges.logs import configure_logging
from orchestrator.edges.preflight import check_output_tree, manifest_path_problem
from orchestrator.edges.settings import (
    Settings,
    load_settings,
    setting_help,
    shard_of_run,
    value_origins,
)
from orchestrator.edges.status import journal_status
from orchestrator.errors import ManifestError, OrchestratorError, SettingsError, UsageError
from orchestrator.exit_codes import ExitCode, describe_error, exit_code_for
from orchestrator.summary import describe_outcome

DEFAULT_MANIFEST = Path("jobs.yaml")


class StrictWarnings(UsageError):
    """Manifest warnings, which `--strict` turns into errors (exit code 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    try:
        arguments = build_parser().parse_args(argv)
        code = int(arguments.command(arguments))
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's final flush
    except BrokenPipeError:
        return _reader_went_away()
    except StrictWarnings as error:
        _say(f"invalid manifest (--strict makes warnings errors):\n{error}")
        return ExitCode.USAGE
    except OrchestratorError as error:
        _say(describe_error(error))
        return exit_code_for(error)
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    return code


def _reader_went_away() -> int:
    """stdout's reader is gone: point stdout at /dev/null so that nothing tries (and fails) to
    write there again, not even the interpreter's last flush, and exit quietly (141; `run`
    keeps its own code instead)."""
    with contextlib.suppress(OSError, ValueError):  # no real descriptor (a test's capture)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return ExitCode.BROKEN_PIPE


def _version() -> str:
    try:
        return metadata.version("orchestrator")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Bulk exports from the Khoros Care Analytics Reports API.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run every job of a manifest into the output tree")
    manifest_arguments(run)
    _strict_argument(run)
    _settings_arguments(run)
    run.add_argument(
        "--force", action="store_true", help="redo jobs already downloaded (default: reuse them)"
    )
    run.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every finished file before reusing it (default: only those whose size, "
        "mtime or inode changed)",
    )
    run.add_argument(
        "--shard",
        metavar="I[/N]",
        help="run only shard I (0-based) of N of the planned jobs, with 1/N of the request "
        "budget and a journal of its own (default: I from $JOB_COMPLETION_INDEX when set, "
        "N from $ORCHESTRATOR_SHARDS, default 1: every job)",
    )
    run.set_defaults(command=command_run)

    plan_parser = commands.add_parser("plan", help="print the jobs a manifest expands into")
    manifest_arguments(plan_parser)
    _strict_argument(plan_parser)
    plan_parser.add_argument(
        "--json", action="store_true", help="machine-readable output (default: a table)"
    )
    plan_parser.set_defaults(command=command_plan)

    validate = commands.add_parser("validate", help="check a manifest and nothing else")
    manifest_arguments(validate)
    _strict_argument(validate)
    validate.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: manifest, valid, jobs, as_of, warnings, problems "
        "(default: one line)",
    )
    validate.set_defaults(command=command_validate)

    config = commands.add_parser(
        "config",
        help="check the settings and print them as JSON, password and company key masked",
        description="Print the effective settings as one JSON object. Two keys that are not "
        "settings start with '_': '_sources' says where each value came from (flag, env, .env, "
        "secret file in <folder>, default) and '_journal_path' is the journal's effective path.",
    )
    _settings_arguments(config)
    config.set_defaults(command=command_config)

    status = commands.add_parser(
        "status",
        help="what the journals know (during a run too); exit 1 when they hold failed jobs",
    )
    status.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        help="with a manifest, where each planned job stands: done, pending, failed, not started "
        "(default: the journals alone)",
    )
    status.add_argument(
        "--as-of", type=_iso_date, help="the run date of the plan, YYYY-MM-DD (default: today)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object (default: text)")
    status.add_argument("--out", type=Path, help=setting_help("out", "output folder"))
    status.add_argument("--journal", type=Path, help=setting_help("journal", "journal file"))
    status.set_defaults(command=command_status)

    from orchestrator.demo import add_demo_commands

    add_demo_commands(commands)
    from orchestrator.account import add_account_commands

    add_account_commands(commands)
    from orchestrator.exports import add_exports_command

    add_exports_command(commands)
    return parser


def manifest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        default=DEFAULT_MANIFEST,
        help=f"the manifest file (default: ./{DEFAULT_MANIFEST})",
    )
    parser.add_argument(
        "--max-jobs",
        type=int,
        help=setting_help("max_jobs", "refuse manifests that plan more jobs"),
    )
    parser.add_argument(
        "--as-of",
        type=_iso_date,
        help="the run date that 'today' means, YYYY-MM-DD (default: today in the manifest's zone)",
    )


def _strict_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat every manifest warning as an error, exit code 2 (default: warn and go on)",
    )


_SETTING_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--out", "out", "output folder"),
    ("--journal", "journal", "journal file"),
    ("--base-url", "base_url", "API origin"),
    ("--max-in-flight", "max_in_flight", "exports submitted and not finished"),
    ("--max-downloads", "max_downloads", "downloads at once"),
    ("--requests-per-minute", "requests_per_minute", "one budget for every API request"),
    ("--max-runtime", "max_runtime_seconds", "run deadline: stop submitting to exit by then"),
    (
        "--grace",
        "grace_seconds",
        "on SIGTERM/SIGINT or the deadline, how long downloads may finish",
    ),
    ("--log-format", "log_format", "auto: console on a terminal, JSON lines otherwise"),
    ("--log-level", "log_level", "the least severe log lines written"),
    ("--progress-seconds", "progress_seconds", "without a terminal, how often progress is logged"),
    ("--metrics-file", "metrics_file", "Prometheus metrics written here at the end of every run"),
    ("--pushgateway", "pushgateway", "Prometheus Pushgateway the same metrics are pushed to"),
)
"""The flags of `run` and `config`: (flag, setting, what it is). Each overrides the ORCHESTRATOR_*
setting of that name; its type, choices and default come from the Settings model."""


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, name, text in _SETTING_FLAGS:
        parser.add_argument(flag, dest=name, help=setting_help(name, text), **_typed(name))


def _typed(name: str) -> dict[str, Any]:
    """argparse's type (or choices) and metavar for a setting, from its annotation."""
    annotation = Settings.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return {"choices": get_args(annotation)}
    kind = next(a for a in (*get_args(annotation), annotation) if a is not type(None))
    metavar = "SECONDS" if name.endswith("_seconds") else None
    return {"type": kind, "metavar": metavar}


def _flags(arguments: argparse.Namespace) -> dict[str, Any]:
    names = ("max_jobs", *(name for _, name, _ in _SETTING_FLAGS))
    return {name: getattr(arguments, name, None) for name in names}


def settings_from(arguments: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(**_flags(arguments), **extra)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def planned(
    arguments: argparse.Namespace,
    settings: Settings | None = None,
    *,
    show_warnings: bool = True,
) -> tuple[Manifest, Plan, date]:
    """Load the manifest, resolve the run date in its zone and expand it under the job ceiling of
    the settings (read from the arguments when not given); warnings go to stderr, or raise
    StrictWarnings under --strict."""
    if settings is None:
        settings = settings_from(arguments)
    path: Path = arguments.manifest
    problem = manifest_path_problem(path)
    if problem is not None:
        raise UsageError(problem)
    manifest = load_manifest(path)
    catalog = verdict(export.catalog for export in manifest.exports)  # the vendor's reference
    if catalog.problems:
        raise ManifestError(catalog.problems)
    now = datetime.now(UTC)
    as_of = arguments.as_of or now.astimezone(manifest.timezone).date()
    expanded = plan(manifest, as_of=as_of, max_jobs=settings.max_jobs, now=now)
    expanded = replace(expanded, warnings=(*expanded.warnings, *catalog.warnings))
    if getattr(arguments, "strict", False) and expanded.warnings:
        raise StrictWarnings("\n".join(expanded.warnings))
    if show_warnings:
        for warning in expanded.warnings:
            _say(f"warning: {warning}")
        for note in catalog.notes:
            _say(f"note: {note}")
    return manifest, expanded, as_of


def command_validate(arguments: argparse.Namespace) -> ExitCode:
    if arguments.json:
        return _validate_json(arguments)
    _, expanded, as_of = planned(arguments, settings_from(arguments))
    print(f"{arguments.manifest}: valid, {len(expanded.jobs)} jobs as of {as_of}")
    return ExitCode.OK


def _validate_json(arguments: argparse.Namespace) -> ExitCode:
    """One JSON object on stdout whatever the verdict; exit code 2 when the manifest is invalid."""
    document: dict[str, Any] = {
        "manifest": str(arguments.manifest),
        "valid": False,
        "jobs": None,
        "as_of": arguments.as_of.isoformat() if arguments.as_of else None,
        "warnings": [],
        "problems": [],
    }
    try:
        _, expanded, as_of = planned(arguments, settings_from(arguments), show_warnings=False)
    except StrictWarnings as error:
        document["warnings"] = document["problems"] = str(error).splitlines()
    except ManifestError as error:
        document["problems"] = [str(problem) for problem in error.problems]
    except (SettingsError, UsageError) as error:
        document["problems"] = str(error).splitlines()
    else:
        document.update(
            valid=True, jobs=len(expanded.jobs), as_of=as_of.isoformat(), warnings=expanded.warnings
        )
    print(json.dumps(document, indent=2))
    return ExitCode.OK if document["valid"] else ExitCode.USAGE


def command_plan(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    _, expanded, as_of = planned(arguments, settings)
    jobs = expanded.jobs
    expected = forecast(jobs, settings)
    if arguments.json:
        document = {
            "as_of": as_of.isoformat(),
            "total": len(jobs),
            "estimate": expected.fields(),
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
    breakdown = ", ".join(f"{total.name} {total.jobs}" for total in expanded.totals)
    print(f"\n{len(jobs)} jobs as of {as_of}" + (f" ({breakdown})" if breakdown else ""))
    print(expected.describe(settings.requests_per_minute))
    return ExitCode.OK


def command_run(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    settings.credentials()
    shard = shard_of_run(arguments.shard, settings.shards)
    loaded, expanded, as_of = planned(arguments, settings)
    exports = [export.name for export in loaded.exports]
    check_output_tree(settings.out, settings.journal_path(shard), exports)  # before any request
    manifest = str(arguments.manifest)
    run = partial(
        run_and_report,
        manifest=manifest,
        as_of=as_of,
        force=arguments.force,
        verify=arguments.verify,
        shard=shard,
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
    shard: Shard | None = None,
) -> ExitCode:
    """Run a plan with logging configured from `settings`, showing progress as it goes (a live
    table on a terminal, progress log events otherwise); print the human summary on stdout."""
    shard = shard or Shard()
    request = RunRequest(
        jobs=select(expanded.jobs, shard),
        manifest=manifest,
        as_of=as_of.isoformat(),
        force=force,
        verify=verify,
        shard=shard,
    )
    secrets = settings.secret_values()
    live = settings.log_format != "json" and sys.stderr.isatty()
    if live:
        display = LiveDisplay(Console(stderr=True))
        with display.showing() as stream:
            configure_logging(
                log_format="console", level=settings.log_level, secrets=secrets, stream=stream
            )
            outcome = await execute(settings, request, watch=display)
    else:
        configure_logging(log_format=settings.log_format, level=settings.log_level, secrets=secrets)
        outcome = await execute(settings, request, watch=ProgressLog(settings.progress_seconds))
    try:
        print(describe_outcome(outcome, settings.out), flush=True)
    except BrokenPipeError:  # the reader of the summary left; the run's own code still stands
        _reader_went_away()
    return outcome.exit_code


def command_config(arguments: argparse.Namespace) -> ExitCode:
    """The settings as one JSON object, plus `_sources` and `_journal_path` (not settings)."""
    settings = settings_from(arguments)
    shown = settings.shown()
    shown["_sources"] = value_origins(**_flags(arguments))
    shown["_journal_path"] = str(settings.journal_path())
    print(json.dumps(shown, indent=2))
    try:
        settings.credentials()
    except SettingsError as error:
        _say(f"warning: {error} (needed by `run`)")
    return ExitCode.OK


def command_status(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    jobs = None
    if arguments.manifest is not None:
        _, expanded, _ = planned(arguments, settings, show_warnings=False)
        jobs = expanded.jobs
    status = journal_status(settings.journal_path(), jobs)
    print(json.dumps(status.to_json(), indent=2) if arguments.json else status.describe())
    return ExitCode.SOME_FAILED if status.failed_jobs else ExitCode.OK


def _say(message: str) -> None:
    print(f"orchestrator: {message}", file=sys.stderr)
