"""The account's helper endpoints as services, for `check` and `teams`.

`check_account` proves the settings with one authenticated request (the account's time zones) and
submits nothing; given a manifest, it also confirms that every `timezone` parameter is one of the
account's zones. `list_teams` lists the teams, whose `teamId`s `teamIds` filters take. Both use
the client of `orchestrator.app.client`: the same budget, origin rules and redaction as a run.

Each returns a value for the face to print, or an ApiFailure when the API could not be used (exit
code 3 for refused credentials, else 1). Missing settings and an invalid manifest raise, as in
every command (exit code 2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.app.client import access_from, open_client, tls_context
from orchestrator.core.catalog_check import unknown_zones
from orchestrator.core.manifest import Manifest, load_manifest
from orchestrator.core.problems import Problem
from orchestrator.core.redact import sanitize
from orchestrator.edges.client import AccountCheck, ApiAccess, ReportsClient
from orchestrator.edges.settings import Settings
from orchestrator.errors import CredentialsRejected, OrchestratorError
from orchestrator.exit_codes import ExitCode

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """Why the API could not be used, secrets removed, and the exit code that says so."""

    message: str
    code: ExitCode


@dataclass(frozen=True, slots=True)
class ZoneCheck:
    """A manifest's `timezone` parameters against the account's zone ids."""

    path: Path
    uses: int
    problems: tuple[Problem, ...]
    """Each parameter that is not one of the account's zones, located."""
    confirmable: bool
    """False when the manifest has such parameters and the account's answer held no zone ids."""

    @property
    def code(self) -> ExitCode:
        if not self.confirmable:
            return ExitCode.SOME_FAILED
        return ExitCode.USAGE if self.problems else ExitCode.OK


@dataclass(frozen=True, slots=True)
class AccountAnswer:
    """What `check` learned: who we are to which API, the account's zones, the manifest's."""

    access: ApiAccess
    check: AccountCheck
    zones: ZoneCheck | None = None
    """None without a manifest."""

    @property
    def code(self) -> ExitCode:
        return ExitCode.OK if self.zones is None else self.zones.code


async def check_account(settings: Settings, manifest: Path | None) -> AccountAnswer | ApiFailure:
    """Prove the credentials (a SettingsError first when they are missing) and read the account's
    zones; a manifest is loaded before asking, so an invalid one costs no request."""
    access = access_from(settings)
    loaded = load_manifest(manifest) if manifest else None
    check = await call_api(settings, access, lambda client: client.check_access())
    if isinstance(check, ApiFailure):
        return check
    zones = None if manifest is None or loaded is None else zone_check(loaded, manifest, check)
    return AccountAnswer(access, check, zones)


async def list_teams(settings: Settings) -> list[Any] | ApiFailure:
    """The account's teams, as the API lists them."""
    return await call_api(settings, access_from(settings), lambda client: client.teams())


def zone_check(manifest: Manifest, path: Path, check: AccountCheck) -> ZoneCheck:
    """Every `timezone` parameter of the manifest must be one of the account's zone ids."""
    uses = [use for export in manifest.exports for use in export.catalog.zones]
    if uses and not check.zone_ids:
        return ZoneCheck(path, len(uses), (), confirmable=False)
    problems = tuple(unknown_zones(uses, check.zone_ids))
    return ZoneCheck(path, len(uses), problems, confirmable=True)


async def call_api(
    settings: Settings, access: ApiAccess, call: Callable[[ReportsClient], Awaitable[T]]
) -> T | ApiFailure:
    """One client call as a run would make it; an API problem becomes an ApiFailure (a broken CA
    bundle stays a SettingsError)."""
    tls = tls_context(settings)
    try:
        async with open_client(settings, access, tls) as client:
            return await call(client)
    except CredentialsRejected as error:
        message = f"refused: {sanitize(str(error), access.secrets)}"
        return ApiFailure(message, ExitCode.CREDENTIALS)
    except OrchestratorError as error:
        message = f"cannot use the API at {access.base_url}: {sanitize(str(error), access.secrets)}"
        return ApiFailure(message, ExitCode.SOME_FAILED)
