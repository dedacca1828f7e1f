"""`orchestrator run`, `plan`, `validate`, `config` and `status`: a manifest's jobs, the settings,
and what the journals know. Each command parses, calls the application, and prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console

from orchestrator.app.forecast import forecast
from orchestrator.app.planning import Planned, StrictWarnings, ready_to_run, request_for
from orchestrator.app.run import RunRequest, execute, output_for
from orchestrator.cli.arguments import (
    AS_OF,
    MANIFEST_ARGUMENTS,
    MAX_JOBS,
    RANGE,
    SETTINGS,
    STRICT,
    Argument,
    Commands,
    add,
    plan_from,
    setting_flags,
    settings_from,
)
from orchestrator.cli.display import LiveDisplay, ProgressLog, calm
from orchestrator.cli.output import log_as_set, reader_went_away, say
from orchestrator.cli.summary import describe_outcome
from orchestrator.core.dates import DateRange
from orchestrator.core.jobs import Job
from orchestrator.core.shard import Shard
from orchestrator.edges.folders import is_file
from orchestrator.edges.settings import Settings, secrets_dir_notes, shard_of_run, value_origins
from orchestrator.edges.status import status_of
from orchestrator.edges.storage import Output
from orchestrator.errors import ManifestError, SettingsError, UsageError
from orchestrator.exit_codes import ExitCode

SHARD = Argument(
    ("--shard",),
    {
        "metavar": "I[/N]",
        "help": "run only shard I (0-based) of N of the planned jobs, with 1/N of the request "
        "budget and a journal of its own (default: I from $JOB_COMPLETION_INDEX when set, "
        "N from $ORCHESTRATOR_SHARDS, default 1: every job)",
    },
)
RUN = (
    Argument(
        ("--force",),
        {"action": "store_true", "help": "redo jobs already downloaded (default: reuse them)"},
    ),
    Argument(
        ("--verify",),
        {
            "action": "store_true",
            "help": "re-hash every finished file before reusing it (default: only those whose "
            "size, mtime or inode changed)",
        },
    ),
    SHARD,
)
CONFIG = (*SETTINGS.values(), MAX_JOBS, SHARD)
"""Every flag of `run` that sets a setting: `config` takes them all and shows their effect."""


def add_commands(commands: Commands) -> None:
    """Register `run`, `plan`, `validate`, `config` and `status`."""
    run = commands.add_parser("run", help="run every job of a manifest into the output tree")
    add(run, *MANIFEST_ARGUMENTS, RANGE, STRICT, *SETTINGS.values(), *RUN)
    run.set_defaults(command=command_run)

    plan = commands.add_parser(
        "plan",
        help="print the jobs a manifest expands into, and how long they will take",
        description="Print the jobs a manifest expands into and an estimate of the time they "
        "take, learned from the journal of the output folder (--out, --journal) when it has "
        "one; the journal read is named.",
    )
    add(plan, *MANIFEST_ARGUMENTS, RANGE, STRICT, SETTINGS["out"], SETTINGS["journal"])
    plan.add_argument(
        "--json", action="store_true", help="machine-readable output (default: a table)"
    )
    plan.set_defaults(command=command_plan)

    validate = commands.add_parser("validate", help="check a manifest and nothing else")
    add(validate, *MANIFEST_ARGUMENTS, RANGE, STRICT)
    validate.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: manifest, valid, jobs, as_of, warnings, problems, and "
        "range with --range (default: one line)",
    )
    validate.set_defaults(command=command_validate)
    _add_config(commands)
    _add_status(commands)


def _add_config(commands: Commands) -> None:
    config = commands.add_parser(
        "config",
        help="check the settings and print them as JSON, password and company key masked",
        description="Print the effective settings as one JSON object; it takes every flag of "
        "`run` that sets a setting. The keys that are not settings start with '_': '_sources' "
        "says where each value came from (flag, env, .env, secret file in <folder>, default) and "
        "'_journal_path' is the journal's effective path (the shard's, given --shard; a URL in "
        "the bucket with a bucket output). With a bucket output, '_output' describes the store: "
        "its kind, the journal and lease, and where its credentials come from (the cloud's "
        "standard variables that are set, secret values masked). Nothing is sent to the store.",
    )
    add(config, *CONFIG)
    config.set_defaults(command=command_config)


def _add_status(commands: Commands) -> None:
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
    add(status, AS_OF, RANGE)
    status.add_argument("--json", action="store_true", help="one JSON object (default: text)")
    add(status, SETTINGS["out"], SETTINGS["journal"])
    status.set_defaults(command=command_status)


def command_validate(arguments: argparse.Namespace) -> ExitCode:
    if arguments.json:
        return _validate_json(arguments)
    found = plan_from(arguments, settings_from(arguments))
    print(f"{arguments.manifest}: valid, {_jobs_line(found, breakdown=False)}")
    return ExitCode.OK


def _validate_json(arguments: argparse.Namespace) -> ExitCode:
    """One JSON object on stdout whatever the verdict; exit code 2 when the manifest is invalid."""
    document: dict[str, Any] = {
        "manifest": str(arguments.manifest),
        "valid": False,
        "jobs": None,
        "as_of": arguments.as_of.isoformat() if arguments.as_of else None,
        **_range_field(arguments.range),
        "warnings": [],
        "problems": [],
    }
    try:
        found = plan_from(arguments, settings_from(arguments), show_findings=False)
    except StrictWarnings as error:
        document["warnings"] = document["problems"] = str(error).splitlines()
    except ManifestError as error:
        document["problems"] = [str(problem) for problem in error.problems]
    except (SettingsError, UsageError) as error:
        document["problems"] = str(error).splitlines()
    else:
        document.update(
            valid=True,
            jobs=len(found.plan.jobs),
            as_of=found.as_of.isoformat(),
            warnings=found.plan.warnings,
        )
    print(json.dumps(document, indent=2))
    return ExitCode.OK if document["valid"] else ExitCode.USAGE


def command_plan(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    found = plan_from(arguments, settings)
    journal = settings.journal_path()
    expected = forecast(found.plan.jobs, settings, journal)
    if arguments.json:
        document = {
            "as_of": found.as_of.isoformat(),
            **_range_field(found.range),
            "total": len(found.plan.jobs),
            "journal": str(journal),
            "estimate": expected.fields(),
            "jobs": [_job_document(job) for job in found.plan.jobs],
        }
        print(json.dumps(document, indent=2))
        return ExitCode.OK
    print(f"{'KEY':<16}  {'EXPORT':<20}  {'WINDOW START':<25}  {'WINDOW END':<25}  LABEL")
    for job in found.plan.jobs:
        print(
            f"{job.key:<16}  {job.export_name:<20}  {job.window.start.isoformat():<25}  "
            f"{job.window.end.isoformat():<25}  {job.filter_label or ''}"
        )
    print(f"\n{_jobs_line(found)}")
    print(expected.describe(settings.requests_per_minute))
    print(_journal_line(journal))
    return ExitCode.OK


def _journal_line(journal: Path | None) -> str:
    """Which journal the estimate learned from, so a wrong --out is seen at once."""
    if journal is None:  # a bucket's journal is not read for the estimate
        return "no local journal: the estimate is a first guess (a bucket's is not read)"
    if is_file(journal):
        return f"journal read: {journal}"
    return f"no journal at {journal} yet (another output folder? give --out or --journal)"


def _range_field(date_range: DateRange | None) -> dict[str, str]:
    """`{"range": "START..END"}` when --range was given, else nothing: documents without a
    range keep the keys they always had."""
    return {} if date_range is None else {"range": str(date_range)}


def _job_document(job: Job) -> dict[str, Any]:
    return {
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


def _jobs_line(found: Planned, *, breakdown: bool = True) -> str:
    """`N jobs as of DATE[, every export over --range R] (export n, ...)`: the plan's size."""
    line = f"{len(found.plan.jobs)} jobs as of {found.as_of}"
    if found.range is not None:
        line += f", every export over --range {found.range}"
    counts = ", ".join(f"{total.name} {total.jobs}" for total in found.plan.totals)
    return line + (f" ({counts})" if counts and breakdown else "")


def command_run(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    found = plan_from(arguments, settings)  # a missing or invalid manifest is said first
    settings.credentials()
    shard = shard_of_run(arguments.shard, settings.shards)
    output = output_for(settings, shard)
    request = request_for(
        found,
        manifest=str(arguments.manifest),
        shard=shard,
        force=arguments.force,
        verify=arguments.verify,
    )

    async def checked_run() -> ExitCode:
        await ready_to_run(found, output, settings)  # before any request
        return await run_and_report(settings, request, output)

    return anyio.run(checked_run)


async def run_and_report(
    settings: Settings, request: RunRequest, output: Output | None = None
) -> ExitCode:
    """Run the request into `output` (the settings' by default) with logging configured from
    `settings`, the store's secrets masked too, showing progress as it goes (a live display with
    a bar per export on a terminal, progress log events otherwise); print the human summary on
    stdout."""
    output = output or output_for(settings, request.shard)
    if settings.log_format != "json" and sys.stderr.isatty():
        planned = Counter(job.export_name for job in request.jobs)  # manifest order
        display = LiveDisplay(Console(stderr=True), planned=planned)
        with display.showing() as stream:
            log_as_set(settings, stream, output.secrets())
            calm(settings.log_level)  # above the display: warnings, failures, retry notes
            outcome = await execute(settings, request, watch=display, output=output)
    else:
        log_as_set(settings, secrets=output.secrets())
        outcome = await execute(
            settings, request, watch=ProgressLog(settings.progress_seconds), output=output
        )
    try:
        print(describe_outcome(outcome, output.location.url()), flush=True)
    except BrokenPipeError:  # the reader of the summary left; the run's own code still stands
        reader_went_away()
    return outcome.exit_code


def command_config(arguments: argparse.Namespace) -> ExitCode:
    """The settings as one JSON object, plus `_sources`, `_journal_path` and `_output` (not
    settings): nothing is sent anywhere, not even to the bucket; what `run` would still refuse
    (no credentials, no shard) is a warning on stderr."""
    settings = settings_from(arguments)
    shown = settings.shown()
    shown["_sources"] = value_origins(**setting_flags(arguments))
    shard = _shard_shown(arguments.shard, settings, shown)
    try:
        described = output_for(settings, shard).describe()
    except SettingsError as error:
        described = {"store": settings.location.url(), "problem": str(error)}
        say(f"warning: {error} (needed by `run` and `status`)")
    shown["_journal_path"] = str(described.get("journal", settings.journal_path(shard)))
    if not settings.location.local:
        shown["_output"] = described
    notes = secrets_dir_notes()
    print(json.dumps(shown, indent=2))
    for note in notes:
        say(f"warning: {note}")
    try:
        settings.credentials()
    except SettingsError as error:
        say(f"warning: {error} (needed by `run`)")
    return ExitCode.OK


def _shard_shown(flag: str | None, settings: Settings, shown: dict[str, Any]) -> Shard | None:
    """This process's shard as `run` would take it; `--shard I/N` shows as `shards` N, from the
    flag. A bad --shard is an error (exit 2); no shard where `run` needs one, a warning."""
    if flag is None:
        try:
            return shard_of_run(None, settings.shards)
        except SettingsError as error:
            say(f"warning: {error} (needed by `run`)")
            return None
    shard = shard_of_run(flag, settings.shards)
    if "/" in flag:
        shown["shards"] = shard.count
        shown["_sources"]["shards"] = "flag"
    return shard


def command_status(arguments: argparse.Namespace) -> ExitCode:
    """What every shard's journal says, read without taking the run lock or the lease; exit 1
    when they hold failed jobs, 2 when there is none (a wrong --out says so instead of reporting
    an empty, healthy tree)."""
    settings = settings_from(arguments)
    jobs = None
    if arguments.manifest is not None:
        jobs = plan_from(arguments, settings, show_findings=False).plan.jobs
    output = output_for(settings)
    journals = anyio.run(output.journal_records)
    status = status_of(str(output.describe()["journal"]), journals, jobs)
    print(json.dumps(status.to_json(), indent=2) if arguments.json else status.describe())
    if not status.journals:
        sys.stdout.flush()  # a reader that left is found here: exit 141, as for every command
        say(f"no journal at {status.base}: check --out or --journal (no run wrote there yet)")
        return ExitCode.USAGE
    return ExitCode.SOME_FAILED if status.failed_jobs else ExitCode.OK
