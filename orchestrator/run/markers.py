"""Place the completion markers of a finished run (see `core.markers` for when a folder is done)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from orchestrator.core.markers import markers
from orchestrator.core.results import JobResult
from orchestrator.edges.ports import Sink
from orchestrator.errors import SinkError

_log = structlog.get_logger("orchestrator.markers")


async def place_markers(sink: Sink, results: Sequence[JobResult], run_id: str) -> int:
    """Write the marker of every complete date folder this run changed (or that has none), and
    remove the marker of every folder now incomplete; returns how many were written. A marker
    that cannot be written is an error in the log, never a lost file: the data is in place."""
    written = 0
    for marker in markers(results, run_id):
        try:
            if marker.content is None:
                await sink.remove(marker.path)
            elif marker.touched or not await sink.exists(marker.path):
                await sink.put(marker.path, marker.content)
                written += 1
        except SinkError as error:
            _log.error("orchestrator.marker_failed", path=str(marker.path), error=str(error))
    return written
