"""The helper endpoints: the account's time zones and teams, behind the same checks as exports.

`GET /api/public/config/timezones?companyKey=...` and `GET /api/public/teams?companyKey=...`
(named in Khoros's "About Care Response Analytics Reports" page: "Retrieve timezone IDs",
"Retrieve team IDs"). Their response shapes are NOT published where we could read them: searches
of the vendor's developer pages found the endpoints' purpose but no example body. So the `result`
of each is a plain, clearly labelled guess inside the API's usual envelope: time zones are a list
of zone id strings (the form the export's `timezone` parameter takes, e.g. "America/Chicago"), and
teams a list of `{"id": int, "name": str, "members": [agent ids as int]}` (the ids the exports'
`teamIds` filter takes). Change both here once the real shapes are known.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .guard import guard, maybe_text_plain
from .state import FakeState
from .views import envelope, json_reply

TIMEZONES_PATH = "/api/public/config/timezones"
TEAMS_PATH = "/api/public/teams"

TIMEZONES: tuple[str, ...] = (
    "America/Chicago",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
)
"""GUESS (see module docstring): zone ids the account may use."""

TEAMS: tuple[dict[str, Any], ...] = (
    {"id": 101, "name": "Tier 1 Support", "members": [2001, 2002, 2003]},
    {"id": 102, "name": "Escalations", "members": [2004, 2005]},
    {"id": 103, "name": "Social Care, EMEA", "members": []},
)
"""GUESS (see module docstring): the account's teams with their agents' ids."""


class AccountHandlers:
    """Handlers of the helper endpoints over the shared state."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def timezones(self, request: web.Request) -> web.StreamResponse:
        return self._answer(request, "timezones", list(TIMEZONES))

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
