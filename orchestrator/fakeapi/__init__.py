"""A faithful fake of the Khoros Analytics Reports API and its object storage, for tests.

It imports nothing from the rest of `orchestrator` (stdlib and aiohttp only), so it stays an honest
stand-in for the vendor: it knows the published API, not our client. Start it with
`async with FakeApi(FakeConfig(...)) as fake:` and point a client at `fake.base_url`; assert on
`fake.counters`; recompute any export file with `config.expected_file(export_id, params)`
(`expected_file(export_id, params)` when no empty_exports are configured).
"""

from .catalog import CARE_EXPORTS
from .clock import Clock, ManualClock
from .config import MAX_REDIRECT_HOPS, Duration, FakeConfig, Faults, LogNormal, parse_duration
from .content import (
    DEFAULT_COLUMNS,
    DEFAULT_ROWS_PER_DAY,
    EmptyForm,
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
    "MAX_REDIRECT_HOPS",
    "REJECTION_KINDS",
    "REQUEST_KINDS",
    "Clock",
    "Counters",
    "Duration",
    "EmptyForm",
    "ExportRequest",
    "FakeApi",
    "FakeConfig",
    "Faults",
    "LogNormal",
    "ManualClock",
    "default_columns",
    "describe",
    "expected_file",
    "iter_export",
    "parse_duration",
    "parse_export_params",
    "render_export",
    "request_key",
    "row_count",
    "serve_forever",
]
