"""`orchestrator check` and `orchestrator teams`: the account's helper endpoints, for users.

`check` proves the settings with one authenticated request (the account's time zones) and submits
nothing; given a manifest, it also confirms that every `timezone` parameter is one of the account's
zones. `teams` lists the teams, whose `teamId`s `teamIds` filters take. The services are
`orchestrator.app.account`'s; this module parses and prints.

Exit codes: 0 accepted; 3 credentials or company key refused (401 or 403); 1 the API could not be
reached or answered something unusable; 2 invalid settings, an invalid manifest, or a `timezone`
parameter the account does not list.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from orchestrator.app.account import (
    AccountAnswer,
    ApiFailure,
    ZoneCheck,
    check_account,
    list_teams,
)
from orchestrator.cli.arguments import SETTINGS, Commands, add, settings_from
from orchestrator.cli.output import log_as_set, say
from orchestrator.core.account_rows import read_team
from orchestrator.core.redact import MASK
from orchestrator.edges.client import AccountCheck
from orchestrator.exit_codes import ExitCode

MEMBER_IDS_SHOWN = 8
FLAGS = (SETTINGS["base_url"], SETTINGS["log_format"], SETTINGS["log_level"])
"""The settings `check` and `teams` take as flags."""


def add_commands(commands: Commands) -> None:
    """Register `check` and `teams`."""
    check = commands.add_parser(
        "check", help="prove the credentials with one request; submits nothing"
    )
    check.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        help="also confirm that its `timezone` parameters are the account's zones (default: none)",
    )
    add(check, *FLAGS)
    check.set_defaults(command=command_check)

    teams = commands.add_parser("teams", help="list the account's teams (ids for teamIds filters)")
    add(teams, *FLAGS)
    teams.add_argument("--json", action="store_true", help="print the API's list as JSON")
    teams.set_defaults(command=command_teams)


def command_check(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    log_as_set(settings)
    answer = anyio.run(partial(check_account, settings, arguments.manifest))
    if isinstance(answer, ApiFailure):
        say(answer.message)
        return answer.code
    _show_account(answer)
    if answer.zones is not None:
        _show_zones(answer.zones)
    return answer.code


def _show_account(answer: AccountAnswer) -> None:
    access = answer.access
    print(f"API:          {access.base_url}")
    print(f"user:         {access.username}")
    print(f"company key:  {mask(access.company_key)}")
    print(f"time zones:   {answer.check.timezones}{_first_zone(answer.check)}")
    print("credentials accepted")


def _first_zone(check: AccountCheck) -> str:
    """The first zone the account lists, as its row describes it (id, name, offset)."""
    if not check.zones:
        return ""
    zone = check.zones[0]
    words = ", ".join(word for word in (zone.name, zone.offset_string) if word)
    return f" (the first: {zone.id}{f', {words}' if words else ''})"


def _show_zones(zones: ZoneCheck) -> None:
    if not zones.confirmable:
        say("cannot confirm the manifest's time zones: the account's answer held no zone ids")
        return
    for problem in zones.problems:
        say(str(problem))
    if not zones.problems:
        print(
            f"manifest:     {zones.path}: {zones.uses} timezone parameters, each one of the "
            "account's zones"
        )


def command_teams(arguments: argparse.Namespace) -> ExitCode:
    settings = settings_from(arguments)
    log_as_set(settings)
    teams = anyio.run(list_teams, settings)
    if isinstance(teams, ApiFailure):
        say(teams.message)
        return teams.code
    print(json.dumps(teams, indent=2) if arguments.json else team_table(teams))
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


__all__ = ["add_commands", "mask", "team_table"]
