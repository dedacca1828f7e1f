"""`teams` and `check` read the helper answers in the shapes the vendor publishes
(API-CATALOG.md 4.1), and `check MANIFEST` confirms its timezone parameters with the account."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from orchestrator.cli import main
from orchestrator.cli.account import team_table
from orchestrator.core.account_rows import Zone, read_team, read_zone
from tests.integration.fakes import in_thread
from tests.integration.sites import COMPANY_KEY, PASSWORD, USERNAME, Site, envelope, sites

TIMEZONES = "/api/public/config/timezones"
TEAMS = "/api/public/teams"
ZONES = [
    {
        "id": "Etc/GMT+12",
        "name": "GMT-12:00",
        "shortName": "GMT-12:00",
        "offsetString": "-12:00",
        "offsetMillis": -43200000,
    },
    {
        "id": "America/Chicago",
        "name": "Central Standard Time",
        "shortName": "CST",
        "offsetString": "-06:00",
        "offsetMillis": -21600000,
    },
]
PUBLISHED_TEAMS = [
    {"uuid": "u-1", "teamId": 6222, "name": "Tier 1", "description": None, "numberOfMembers": 14},
    {
        "uuid": "u-2",
        "teamId": 6223,
        "name": "VIP",
        "description": "Top accounts",
        "numberOfMembers": 3,
    },
]
MANIFEST = """\
version: 1
defaults:
  range: {start: 2024-03-09, end: 2024-03-10}
exports:
  - name: a
    export_id: conversation
    filters: [{timezone: America/Chicago}, {timezone: Europe/Paris}]
"""


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
        "RETRY_ATTEMPTS": "1",
        "LOG_FORMAT": "json",
    }.items():
        monkeypatch.setenv(f"ORCHESTRATOR_{name}", value)


def serve(api: Site, path: str, result: Any) -> None:
    async def answer(_: web.Request) -> web.StreamResponse:
        return web.json_response(envelope(result))

    api.routes[path] = answer


def test_teams_shows_team_id_name_members_and_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The published rows: teamId (what teamIds takes), name, numberOfMembers, description."""
    with in_thread(lambda: sites("api")) as found:
        serve(found["api"], TEAMS, PUBLISHED_TEAMS)
        assert main(["teams", "--base-url", found["api"].url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "MEMBERS", "DESCRIPTION"]
    assert lines[1].split() == ["6222", "Tier", "1", "14"]
    assert lines[2].split() == ["6223", "VIP", "3", "Top", "accounts"]


def test_both_team_shapes_read_into_the_same_row() -> None:
    """A published row and a row of the guessed shape give the id, name and member count."""
    published = read_team(PUBLISHED_TEAMS[0])
    guessed = read_team({"id": 7, "name": "Tier 1", "members": [11, {"id": 12}]})
    assert (published.team_id, published.members, published.member_ids) == ("6222", 14, None)
    assert (guessed.team_id, guessed.members, guessed.member_ids) == ("7", 2, ("11", "12"))
    table = team_table([PUBLISHED_TEAMS[0], {"id": 7, "name": "Old", "members": [11]}])
    assert table.splitlines()[0].split() == [
        "ID",
        "NAME",
        "MEMBERS",
        "MEMBER",
        "IDS",
        "DESCRIPTION",
    ]


def test_time_zone_rows_are_read_in_either_shape() -> None:
    """A published row gives its id, names and offset; a bare id string still reads."""
    zone = read_zone(ZONES[0])
    assert zone is not None and (zone.short_name, zone.offset_millis) == ("GMT-12:00", -43200000)
    assert [read_zone(row) for row in ("UTC", {"name": "no id"}, 5)] == [Zone("UTC"), None, None]


def test_check_reads_the_published_time_zone_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """`check` against published rows prints how many zones the account lists and the first as
    its row describes it."""
    with in_thread(lambda: sites("api")) as found:
        serve(found["api"], TIMEZONES, ZONES)
        assert main(["check", "--base-url", found["api"].url]) == 0
    assert "time zones:   2 (the first: Etc/GMT+12, GMT-12:00, -12:00)" in capsys.readouterr().out


def test_check_manifest_confirms_its_timezone_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zone the account lacks exits 2, located; once every zone is the account's, exit 0."""
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(MANIFEST)
    with in_thread(lambda: sites("api")) as found:
        api = found["api"]
        serve(api, TIMEZONES, ZONES)
        assert main(["check", str(manifest), "--base-url", api.url]) == 2
        err = capsys.readouterr().err
        assert "jobs.yaml:7:55: exports[0].filters[1].timezone: timezone 'Europe/Paris'" in err
        assert "not one of the account's 2 time zones" in err
        manifest.write_text(MANIFEST.replace("Europe/Paris", "Etc/GMT+12"))
        assert main(["check", str(manifest), "--base-url", api.url]) == 0
        assert len(api.seen) == 2  # one request each: the time zones
    assert "2 timezone parameters, each one of the account's zones" in capsys.readouterr().out
