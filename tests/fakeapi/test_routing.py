"""How raw request paths map to create, status and download."""

from __future__ import annotations

import pytest

from orchestrator.fakeapi.routing import Route, parse_route

P = "/api/public/reports/report/"


@pytest.mark.parametrize(
    ("path", "route"),
    [
        (P + "conversation?companyKey=k", Route("create", "care", "conversation")),
        (P + "report/conversation", Route("create", "care", "conversation")),
        (P + "marketing/raw_brand_post", Route("create", "publishing", "raw_brand_post")),
        (P + "report/status", Route("create", "care", "status")),
        (
            P + "wf/23a%2Bb%2Fc%3D/status?x=1",
            Route("status", workflow_id="wf", run_segment="23a%2Bb%2Fc%3D"),
        ),
        (P + "wf/run/download", Route("download", workflow_id="wf", run_segment="run")),
        (P + "wf/23a/b=/status", Route("status", workflow_id="wf")),
        (P + "wf/status", Route("status", workflow_id="wf")),
        (P + "a/b/c", None),
        (P, None),
        ("/api/public/teams", None),
    ],
)
def test_parse_route(path: str, route: Route | None) -> None:
    """report/ and marketing/ first segments are creates; a mis-split runId stays a job route."""
    assert parse_route(path) == route
