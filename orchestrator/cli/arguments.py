"""The arguments several commands share, each defined once as a value (as pip's cmdoptions), and
what they turn into: the settings (flags over ORCHESTRATOR_* variables) and a manifest's plan.

A command module adds the values it takes with `add(parser, ...)`; a flag that overrides a
setting takes its type, choices and default from the Settings model, so it cannot drift from it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeAlias, get_args, get_origin

from orchestrator.app.planning import Planned, planned
from orchestrator.cli.output import say
from orchestrator.core.dates import DateRange, parse_range
from orchestrator.edges.settings import Settings, load_settings, setting_help

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The sub-command parsers of `orchestrator`, on which each command module adds its own."""

DEFAULT_MANIFEST = Path("jobs.yaml")


@dataclass(frozen=True, slots=True)
class Argument:
    """One argument's names and options, added as it is to every parser that takes it."""

    names: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        parser.add_argument(*self.names, **self.options)


def add(parser: argparse.ArgumentParser, *arguments: Argument) -> None:
    """Add each argument to `parser`, in order (the order of its --help)."""
    for argument in arguments:
        argument.add_to(parser)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def date_range(text: str) -> DateRange:
    try:
        return parse_range(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _typed(name: str) -> dict[str, Any]:
    """argparse's type (or choices) and metavar for a setting, from its annotation."""
    annotation = Settings.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return {"choices": get_args(annotation)}
    kind = next(a for a in (*get_args(annotation), annotation) if a is not type(None))
    metavar = "SECONDS" if name.endswith("_seconds") else None
    return {"type": kind, "metavar": metavar}


def setting_flag(flag: str, name: str, text: str) -> Argument:
    """A flag that overrides the ORCHESTRATOR_* setting `name`; `text` says what it is."""
    return Argument((flag,), {"dest": name, "help": setting_help(name, text), **_typed(name)})


SETTINGS: dict[str, Argument] = {
    argument.options["dest"]: argument
    for argument in (
        setting_flag(
            "--out", "out", "output folder, or a bucket's prefix: s3://, gs://, az://bucket/prefix"
        ),
        setting_flag("--journal", "journal", "journal file"),
        setting_flag("--base-url", "base_url", "API origin"),
        setting_flag("--max-in-flight", "max_in_flight", "exports submitted and not finished"),
        setting_flag("--max-downloads", "max_downloads", "downloads at once"),
        setting_flag(
            "--requests-per-minute", "requests_per_minute", "one budget for every API request"
        ),
        setting_flag(
            "--max-runtime", "max_runtime_seconds", "run deadline: stop submitting to exit by then"
        ),
        setting_flag(
            "--grace",
            "grace_seconds",
            "on SIGTERM/SIGINT or the deadline, how long downloads may finish",
        ),
        setting_flag(
            "--log-format", "log_format", "auto: console on a terminal, JSON lines otherwise"
        ),
        setting_flag("--log-level", "log_level", "the least severe log lines written"),
        setting_flag(
            "--progress-seconds",
            "progress_seconds",
            "without a terminal, how often progress is logged",
        ),
        setting_flag(
            "--metrics-file",
            "metrics_file",
            "Prometheus metrics written here at the end of every run",
        ),
        setting_flag(
            "--pushgateway", "pushgateway", "Prometheus Pushgateway the same metrics are pushed to"
        ),
    )
}
"""The flags of `run` and `config`, by setting; other commands take the few they need."""

MAX_JOBS = setting_flag("--max-jobs", "max_jobs", "refuse manifests that plan more jobs")
MANIFEST = Argument(
    ("manifest",),
    {
        "nargs": "?",
        "type": Path,
        "default": DEFAULT_MANIFEST,
        "help": f"the manifest file (default: ./{DEFAULT_MANIFEST})",
    },
)
AS_OF = Argument(
    ("--as-of",),
    {
        "type": iso_date,
        "help": "the run date that 'today' means, YYYY-MM-DD (default: today in the manifest's "
        "zone)",
    },
)
RANGE = Argument(
    ("--range",),
    {
        "type": date_range,
        "metavar": "START..END",
        "help": "replace every export's range for this invocation, a backfill without editing "
        "the manifest: two of the manifest's date forms, e.g. 2024-01-01..2024-02-01 or "
        "today-7d..today, half-open (default: each export's own range)",
    },
)
STRICT = Argument(
    ("--strict",),
    {
        "action": "store_true",
        "help": "treat every manifest warning as an error, exit code 2 (default: warn and go on)",
    },
)
MANIFEST_ARGUMENTS = (MANIFEST, MAX_JOBS, AS_OF)
"""What every command that plans a manifest takes."""


def settings_from(arguments: argparse.Namespace, **extra: Any) -> Settings:
    """The settings, with every setting flag the command was given on top."""
    return load_settings(**setting_flags(arguments), **extra)


def setting_flags(arguments: argparse.Namespace) -> dict[str, Any]:
    """Each setting flag's value (None when not given or not taken by the command)."""
    names = ("max_jobs", *SETTINGS)
    return {name: getattr(arguments, name, None) for name in names}


def plan_from(
    arguments: argparse.Namespace, settings: Settings, *, show_findings: bool = True
) -> Planned:
    """The plan of the manifest arguments; its warnings and the catalog's notes go to stderr
    (StrictWarnings under --strict)."""
    found = planned(
        arguments.manifest,
        settings,
        as_of=arguments.as_of,
        strict=getattr(arguments, "strict", False),
        date_range=getattr(arguments, "range", None),
    )
    if show_findings:
        for warning in found.plan.warnings:
            say(f"warning: {warning}")
        for note in found.notes:
            say(f"note: {note}")
    return found
