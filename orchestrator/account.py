"""`orchestrator check` and `orchestrator teams`: the account's helper endpoints, for users.

`check` proves the settings with one authenticated request (the account's time zones) and submits
nothing; given a manifest, it also confirms that every `timezone` parameter is one of the account's
zones. `teams` lists the teams, whose `teamId`s `teamIds` filters take. Both go through the same
client, budget, origin rules and redaction as a run, built by the same helpers of `orchestrator.app`.

Exit codes: 0 accepted; 3 credentials or company key refused (401 or 403); 1 the API could not be
reached or answered something unusable; 2 invalid settings, an invalid manifest, or a `timezone`
parameter the account does not list.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from orchestrator.app import access_from, http_session, policies_from, tls_context
from orchestrator.core.account_rows import read_team
from orchestrator.core.catalog_check import unknown_zones
from orchestrator.core.manifest import Manifest, load_manifest
from orchestrator.core.redact import MASK, sanitize
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import AccountCheck, ReportsClient
from orchestrator.edges.logs import configure_logging
from orchestrator.edges.settings import Settings
from orchestrator.errors import CredentialsRejected, OrchestratorError
from orchestrator.exit_codes import ExitCode

T = TypeVar("T")
MEMBER_IDS_SHOWN = 8


def add_account_commands(commands: Any) -> None:
    """Register `check` and `teams` on the CLI's sub-command parser."""
    check = commands.add_parser(
        "check", help="prove the credentials with one request; submits nothing"
    )
    check.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        help="also confirm that its `timezone` parameters are the account's zones (default: none)",
    )
    _flags(check)
    check.set_defaults(command=command_check)

    teams = commands.add_parser("teams", help="list the account's teams (ids for teamIds filters)")
    _flags(teams)
    teams.add_argument("--json", action="store_true", help="print the API's list as JSON")
    teams.set_defaults(command=command_teams)


def _flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="API origin ($ORCHESTRATOR_BASE_URL)")
    parser.add_argument("--log-format", choices=("auto", "console", "json"))
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))


def command_check(arguments: argparse.Namespace) -> ExitCode:
    from orchestrator.cli import settings_from

    settings = settings_from(arguments)
    access = access_from(settings)
    manifest = load_manifest(arguments.manifest) if arguments.manifest else None  # before asking
    check = _with_client(settings, lambda client: client.check_access())
    if isinstance(check, ExitCode):
        return check
    print(f"API:          {access.base_url}")
    print(f"user:         {access.username}")
    print(f"company key:  {mask(access.company_key)}")
    print(f"time zones:   {check.timezones}{_first_zone(check)}")
    print("credentials accepted")
    return ExitCode.OK if manifest is None else _check_zones(manifest, arguments.manifest, check)


def _first_zone(check: AccountCheck) -> str:
    """The first zone the account lists, as its row describes it (id, name, offset)."""
    if not check.zones:
        return ""
    zone = check.zones[0]
    words = ", ".join(word for word in (zone.name, zone.offset_string) if word)
    return f" (the first: {zone.id}{f', {words}' if words else ''})"


def _check_zones(manifest: Manifest, path: Path, check: AccountCheck) -> ExitCode:
    """Every `timezone` parameter of the manifest must be one of the account's zone ids."""
    uses = [use for export in manifest.exports for use in export.catalog.zones]
    if uses and not check.zone_ids:
        _say("cannot confirm the manifest's time zones: the account's answer held no zone ids")
        return ExitCode.SOME_FAILED
    problems = unknown_zones(uses, check.zone_ids)
    for problem in problems:
        _say(str(problem))
    if problems:
        return ExitCode.USAGE
    print(f"manifest:     {path}: {len(uses)} timezone parameters, each one of the account's zones")
    return ExitCode.OK


def command_teams(arguments: argparse.Namespace) -> ExitCode:
    from orchestrator.cli import settings_from

    settings = settings_from(arguments)
    teams = _with_client(settings, lambda client: client.teams())
    if isinstance(teams, ExitCode):
        return teams
    if arguments.json:
        print(json.dumps(teams, indent=2))
        return ExitCode.OK
    print(team_table(teams))
    return ExitCode.OK


def mask(secret: str) -> str:
    """Enough of a secret to recognise it (its first and last two characters when it is long),
    never enough to use it."""
    return f"{secret[:2]}{MASK}{secret[-2:]}" if len(secret) >= 12 else MASK


def team_table(teams: list[Any]) -> str:
    """Each team's id (the `teamId` that `teamIds` filters take), name, member count and
    description, in the published shape (API-CATALOG.md §4.1); the shape guessed before it,
    `{id, name, members}`, still reads, its member ids shown instead of a description."""
    read = [read_team(team) for team in teams]
    header = ["ID", "NAME", "MEMBERS"]
    listed = any(team.member_ids is not None for team in read)
    described = any(isinstance(team, dict) and "description" in team for team in teams)
    header += ["MEMBER IDS"] * listed + ["DESCRIPTION"] * described
    rows = [header]
    for team in read:
        count = "?" if team.members is None else str(team.members)
        row = [team.team_id, team.name, count]
        if listed:
            ids = team.member_ids or ()
            more = " …" if len(ids) > MEMBER_IDS_SHOWN else ""
            row.append(", ".join(ids[:MEMBER_IDS_SHOWN]) + more)
        rows.append(row + [team.description] * described)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(_cell(row, widths)).rstrip() for row in rows]
    lines.append(f"\n{len(teams)} teams")
    return "\n".join(lines)


def _cell(row: list[str], widths: list[int]) -> list[str]:
    """Left-aligned cells, the member count right-aligned."""
    return [
        f"{text:>{widths[i]}}" if i == 2 else f"{text:<{widths[i]}}" for i, text in enumerate(row)
    ]


def _with_client(settings: Settings, call: Callable[[ReportsClient], Awaitable[T]]) -> T | ExitCode:
    """Run one client call as a run would make it; an API problem becomes its exit code."""
    configure_logging(
        log_format=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    access = access_from(settings)
    tls = tls_context(settings)

    async def go() -> T:
        async with http_session(settings, tls, connections=2) as session:
            client = ReportsClient(
                session,
                access,
                RequestBudget(settings.requests_per_minute),
                policies_from(settings).retry,
                jitter=random.Random().random,  # noqa: S311 - backoff jitter, not cryptography
                request_timeout=settings.request_timeout_seconds,
            )
            return await call(client)

    try:
        return anyio.run(go)
    except CredentialsRejected as error:
        _say(f"refused: {sanitize(str(error), access.secrets)}")
        return ExitCode.CREDENTIALS
    except OrchestratorError as error:
        _say(f"cannot use the API at {access.base_url}: {sanitize(str(error), access.secrets)}")
        return ExitCode.SOME_FAILED


def _say(message: str) -> None:
    print(f"orchestrator: {message}", file=sys.stderr)


__all__ = ["add_account_commands", "mask", "team_table"]
