"""Which API operation a raw request path names.

Create, status and download share the prefix `/api/public/reports/report/`, and a runId holds
`%2F`, which aiohttp's own router would decode into a path separator. So the path is split here
from the raw request target, where an encoded slash is still `%2F`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from .jobs import Source
from .views import PREFIX

Kind = Literal["create", "status", "download"]
_JOB_ACTIONS: dict[str, Kind] = {"status": "status", "download": "download"}


@dataclass(frozen=True, slots=True)
class Route:
    """A create names source and export id; status and download name workflowId and raw runId."""

    kind: Kind
    source: Source = "care"
    export_id: str = ""
    workflow_id: str = ""
    run_segment: str | None = None
    """The runId segment as sent; None when the path has the wrong number of segments."""


def parse_route(raw_path: str) -> Route | None:
    """The operation `raw_path` (query string allowed) names, or None for no API operation.

    `report/<id>` and `marketing/<id>` are creates even though they have two segments, like
    `<id>` alone; `<wf>/<run>/status` and `/download` are job operations; a path ending in status or
    download with any other shape names a job that cannot exist (for example a runId whose `%2F` was
    decoded into `/` by the client).
    """
    path = raw_path.split("?", 1)[0]
    if not path.startswith(PREFIX):
        return None
    segments = path.removeprefix(PREFIX).split("/")
    if len(segments) == 1 and segments[0]:
        return Route("create", "care", unquote(segments[0]))
    if len(segments) == 2 and segments[0] in ("report", "marketing") and segments[1]:
        source: Source = "publishing" if segments[0] == "marketing" else "care"
        return Route("create", source, unquote(segments[1]))
    action = _JOB_ACTIONS.get(segments[-1])
    if action is None or len(segments) < 2:
        return None
    if len(segments) == 3:
        return Route(action, workflow_id=segments[0], run_segment=segments[1])
    return Route(action, workflow_id=segments[0])
