"""A faithful fake of the Khoros Analytics Reports API and its object storage, for tests.

It imports nothing from the rest of `orchestrator` (stdlib and aiohttp only), so it stays an honest
stand-in for the vendor: it knows the published API, not our client. Start it with
`async with FakeApi(FakeConfig(...)) as fake:` and point a client at `fake.base_url`; assert on
`fake.counters`; recompute any export file with `expected_file(export_id, params)`.
"""

from .api import CARE_EXPORTS
from .clock import Clock, ManualClock
from .config import Duration, FakeConfig, Faults
from .content import (
    DEFAULT_COLUMNS,
    DEFAULT_ROWS_PER_DAY,
    default_columns,
    expected_file,
    iter_export,
    render_export,
    row_count,
)
from .counters import REJECTION_KINDS, REQUEST_KINDS, Counters
from .params import ExportRequest, parse_export_params, request_key
from .server import FakeApi, describe, serve_forever

__all__ = [
    "CARE_EXPORTS",
    "DEFAULT_COLUMNS",
    "DEFAULT_ROWS_PER_DAY",
    "REJECTION_KINDS",
    "REQUEST_KINDS",
    "Clock",
    "Counters",
    "Duration",
    "ExportRequest",
    "FakeApi",
    "FakeConfig",
    "Faults",
    "ManualClock",
    "default_columns",
    "describe",
    "expected_file",
    "iter_export",
    "parse_export_params",
    "render_export",
    "request_key",
    "row_count",
    "serve_forever",
]
