"""`orchestrator check` and `orchestrator teams` end to end against a small server on loopback:
what they print, that they submit nothing, and their exit codes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from aiohttp import web

from orchestrator.cli import main
from orchestrator.cli.account import mask, team_table
from tests.integration.fakes import in_thread
from tests.integration.sites import COMPANY_KEY, PASSWORD, USERNAME, Site, envelope, sites

TIMEZONES = "/api/public/config/timezones"
TEAMS = "/api/public/teams"
TEAM_LIST = [
    {"id": 7, "name": "Tier 1", "members": [11, 12, 13]},
    {"id": 9, "name": "Escalations", "members": [{"id": 21}]},
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "USERNAME": USERNAME,
        "PASSWORD": PASSWORD,
        "COMPANY_KEY": COMPANY_KEY,
        "RETRY_ATTEMPTS": "2",
        "RETRY_BASE_SECONDS": "0.01",
        "RETRY_MAX_SECONDS": "0.02",
        "LOG_FORMAT": "json",
    }.items():
        monkeypatch.setenv(f"ORCHESTRATOR_{name}", value)


def serve(api: Site, status: int = 200) -> None:
    async def timezones(_: web.Request) -> web.StreamResponse:
        if status != 200:
            return web.Response(status=status, text="Access is denied")
        return web.json_response(envelope(["America/Chicago", "Europe/Paris", "UTC"]))

    async def teams(_: web.Request) -> web.StreamResponse:
        if status != 200:
            return web.Response(status=status, text="Access is denied")
        return web.json_response(envelope(TEAM_LIST))

    api.routes.update({TIMEZONES: timezones, TEAMS: teams})


def test_check_prints_who_and_where_and_submits_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`check` makes one authenticated request of the time zones and exits 0, key masked."""
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api)
        code = main(["check", "--base-url", api.url])
    out, err = capsys.readouterr()
    assert code == 0
    assert [hit.path_qs for hit in api.seen] == [f"{TIMEZONES}?companyKey={COMPANY_KEY}"]
    assert api.seen[0].authorization
    assert api.url in out and USERNAME in out and "time zones:   3" in out
    assert COMPANY_KEY not in out + err and PASSWORD not in out + err
    assert mask(COMPANY_KEY) in out


@pytest.mark.parametrize("status", [401, 403])
def test_check_exits_3_when_the_credentials_are_refused(
    status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 401 or 403 on the time zones is exit code 3, with no secret in the message."""
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api, status)
        code = main(["check", "--base-url", api.url])
    _, err = capsys.readouterr()
    assert code == 3 and str(status) in err
    assert len(api.seen) == 1
    assert PASSWORD not in err and COMPANY_KEY not in err


def test_check_exits_1_when_the_api_cannot_be_reached(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening on the base URL's port is exit code 1, after the retries."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["check", "--base-url", f"http://127.0.0.1:{port}"])
    _, err = capsys.readouterr()
    assert code == 1 and "cannot use the API" in err
    assert COMPANY_KEY not in err


def test_teams_prints_a_table_of_ids_names_and_members(capsys: pytest.CaptureFixture[str]) -> None:
    """`teams` lists id, name, member count and member ids of each team."""
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api)
        code = main(["teams", "--base-url", api.url])
    out, _ = capsys.readouterr()
    assert code == 0
    assert [hit.path_qs for hit in api.seen] == [f"{TEAMS}?companyKey={COMPANY_KEY}"]
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "MEMBERS", "MEMBER", "IDS"]
    assert lines[1].split() == ["7", "Tier", "1", "3", "11,", "12,", "13"]
    assert "2 teams" in out


def test_teams_json_prints_the_apis_list(capsys: pytest.CaptureFixture[str]) -> None:
    """`teams --json` prints the API's list unchanged."""
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api)
        code = main(["teams", "--json", "--base-url", api.url])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == TEAM_LIST


def test_teams_exits_3_when_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A 403 on the teams is exit code 3."""
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api, 403)
        code = main(["teams", "--base-url", api.url])
    assert code == 3 and "refused" in capsys.readouterr().err


def test_the_table_shows_what_it_finds_of_unexpected_shapes() -> None:
    """Teams without members, or bare ids, still make a row each."""
    table = team_table([{"id": 1, "name": "A"}, 5])
    rows = table.splitlines()
    assert rows[1].split() == ["1", "A", "?"] and rows[2].split() == ["5", "?"]
    assert "2 teams" in table


def test_short_company_keys_are_masked_whole() -> None:
    """A key shorter than 12 characters shows nothing of itself."""
    assert mask("short-key") == "***"
    assert mask("a-much-longer-key") == "a-***ey"
