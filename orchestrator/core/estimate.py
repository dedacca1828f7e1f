"""How long the rest of a run will take: bound by the request budget or by the exports themselves.

    budget-bound    remaining x requests per export / requests per minute
    export-bound    ceil(remaining / in flight) x typical seconds an export takes to be ready
    estimate        the larger of the two, until a tenth of the run is done;
    then            remaining x elapsed / finished: the run's own pace, which already holds the
                    budget, the limits and the durations as they really are

Pure: the caller passes the counts and rates it has (from the plan, the settings, the journal's
history or what this run has seen so far).
"""

from __future__ import annotations

import math

COLD_REQUESTS_PER_EXPORT = 5.0
"""With no history: create, download, and about three polls while the durations are learned."""
WARM_REQUESTS_PER_EXPORT = 3.4
"""With a learned model: create, download, and about 1.4 polls (see core.polling)."""


PACE_AFTER = 0.1
"""The share of a run done after which its own pace predicts the rest better than any model."""


def paced(remaining: int, finished: int, elapsed: float) -> float | None:
    """The rest at the pace so far, once a tenth of the run is done (else None)."""
    if remaining <= 0:
        return 0.0
    if finished <= 0 or elapsed <= 0 or finished < PACE_AFTER * (finished + remaining):
        return None
    return remaining * elapsed / finished


def seconds_left(
    remaining: int,
    *,
    requests_per_export: float,
    requests_per_minute: float,
    in_flight: int,
    typical_seconds: float | None,
) -> float:
    """Seconds until `remaining` exports are done, at best, given the budget and the limits."""
    if remaining <= 0:
        return 0.0
    budget_bound = remaining * requests_per_export / max(requests_per_minute, 1e-9) * 60.0
    export_bound = 0.0
    if typical_seconds is not None:
        export_bound = math.ceil(remaining / max(in_flight, 1)) * typical_seconds
    return max(budget_bound, export_bound)
