"""The helper endpoints: the account's time zones and teams, behind the same checks as exports.

`GET /api/public/config/timezones?companyKey=...` and `GET /api/public/teams?companyKey=...`, each
answering a list in the usual envelope, in the shapes the vendor's reference publishes
(API-CATALOG.md §4.1): a time zone is `{id, name, shortName, offsetString, offsetMillis}`, a team
`{uuid, teamId (an integer), name, description (null in the examples), numberOfMembers}` with no
`id`. The rows themselves are the fake's account; the two zones of the reference's example come
first.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .guard import guard, maybe_text_plain
from .state import FakeState
from .views import envelope, json_reply

TIMEZONES_PATH = "/api/public/config/timezones"
TEAMS_PATH = "/api/public/teams"


def _zone(zone_id: str, name: str, short: str, offset: str, millis: int) -> dict[str, Any]:
    return {
        "id": zone_id,
        "name": name,
        "shortName": short,
        "offsetString": offset,
        "offsetMillis": millis,
    }


TIMEZONES: tuple[dict[str, Any], ...] = (
    _zone("Etc/GMT+12", "GMT-12:00", "GMT-12:00", "-12:00", -43_200_000),
    _zone("Pacific/Apia", "Samoa Daylight Time", "SDT", "+14:00", 50_400_000),
    _zone("America/Chicago", "Central Standard Time", "CST", "-06:00", -21_600_000),
    _zone("America/Los_Angeles", "Pacific Standard Time", "PST", "-08:00", -28_800_000),
    _zone("America/New_York", "Eastern Standard Time", "EST", "-05:00", -18_000_000),
    _zone("Europe/Berlin", "Central European Time", "CET", "+01:00", 3_600_000),
    _zone("Europe/London", "Greenwich Mean Time", "GMT", "+00:00", 0),
    _zone("UTC", "Coordinated Universal Time", "UTC", "+00:00", 0),
)
"""The account's time zones, in the published row shape."""

TEAMS: tuple[dict[str, Any], ...] = (
    {
        "uuid": "5b0c7a52-3d0e-4a57-9a3c-0d6f1e6f2a01",
        "teamId": 101,
        "name": "Tier 1 Support",
        "description": None,
        "numberOfMembers": 3,
    },
    {
        "uuid": "5b0c7a52-3d0e-4a57-9a3c-0d6f1e6f2a02",
        "teamId": 102,
        "name": "Escalations",
        "description": "Hard cases from tier 1",
        "numberOfMembers": 2,
    },
    {
        "uuid": "5b0c7a52-3d0e-4a57-9a3c-0d6f1e6f2a03",
        "teamId": 103,
        "name": "Social Care, EMEA",
        "description": None,
        "numberOfMembers": 0,
    },
)
"""The account's teams, in the published row shape; `teamId` is what `teamIds` filters take."""


class AccountHandlers:
    """Handlers of the helper endpoints over the shared state."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def timezones(self, request: web.Request) -> web.StreamResponse:
        return self._answer(request, "timezones", [dict(zone) for zone in TIMEZONES])

    async def teams(self, request: web.Request) -> web.StreamResponse:
        return self._answer(request, "teams", [dict(team) for team in TEAMS])

    def _answer(self, request: web.Request, kind: str, result: Any) -> web.StreamResponse:
        state = self._state
        state.counters.requests[kind] += 1
        rejection = guard(state, request, check_company_key=True)
        if rejection is not None:
            return rejection
        return maybe_text_plain(state, json_reply(envelope("PASS", None, result)))


def add_account_routes(app: web.Application, state: FakeState) -> None:
    handlers = AccountHandlers(state)
    app.router.add_get(TIMEZONES_PATH, handlers.timezones, allow_head=False)
    app.router.add_get(TEAMS_PATH, handlers.teams, allow_head=False)
