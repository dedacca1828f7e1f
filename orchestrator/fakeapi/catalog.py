"""What the fake enforces of the vendor's published reference: its own copy, so the fake stays an
honest stand-in that imports nothing of the client it tests.

Facts from API-CATALOG.md (the vendor's reference reduced to facts; "§N" is its section); where it
states nothing, the fake's choice is marked as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CARE_EXPORTS = frozenset(
    {
        "conversation",
        "conversation_actions",
        "conversation_history_action",
        "author",
        "combined",
        "raw_agent_states",
        "raw_expert_help",
        "incoming_post",
        "response",
        "response_approval",
        "team_performance",
        "team_performance_interval",
        "user",
    }
)
"""The 13 Care export IDs (§3)."""

BODY_EXPORTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "conversation_actions": frozenset({"companyKey"}),
        "user": frozenset({"companyKey"}),
        "conversation_history_action": frozenset({"companyKey", "raiselimit"}),
    }
)
"""Exports whose POST takes a body (declared JSON, sent as a form in the examples), with the
parameters that stay in the query (§3, §6 surprise 4). Every other Care export's POST takes all its
parameters in the query (§3). The fake reads a body export's other parameters from the form body
only; a query export also reads a form body (what clients sent before the reference was read; the
reference does not say the API refuses it)."""

REQUIRED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"team_performance_interval": ("timeInterval",)}
)
"""Required parameters beyond companyKey, startTime and endTime (§2)."""

WEEK_MS = 604_800_000
DAY_MS = 86_400_000
TIME_INTERVALS = frozenset(
    {300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000}
    | {43_200_000, DAY_MS, WEEK_MS}
)
"""timeInterval values (§5); above 1 week means monthly, below 1 week and unlisted is an error."""
WEEK_RANGE = frozenset({28_800_000, 43_200_000, DAY_MS})
MONTH_RANGE = frozenset({DAY_MS, WEEK_MS})
"""The only intervals for a 1-week and a 1-month range; any other: "Too many buckets" (§5)."""
HOUR_MS = 3_600_000
"""A range's length may differ from whole days by an hour: windows cut at local midnight across a
daylight-saving change (the fake's allowance; the reference says only "1-week", "1-month")."""

GENERIC_REPORT_TYPES = frozenset(
    {
        "author",
        "combined",
        "conversation",
        "incoming_post",
        "raw_expert_help",
        "raw_agent_states",
        "response_approval",
        "team_performance",
        "team_performance_interval",
    }
)
"""The report types of the generic create endpoint, which shares their path and answers with
`workflowId` and `runId` alone (§3, §4.2, §6 surprise 7)."""


def too_many_buckets(buckets: int) -> str:
    """The vendor's answer to an over-fine interval, word for word (§4.4)."""
    return (
        "Unable to hydrate filter for export info: "
        "com.lithium.socialweb.analytics.webapp.models.filter.HydrationException: "
        f"Too many buckets ({buckets}) requested. Select a larger interval?"
    )


class TooManyBuckets(ValueError):
    """An interval the range rules forbid; `buckets` as the vendor counts them (a guess: its
    example says 745 for what reads as 31 days of hours, so the fake counts span // interval + 1)."""

    def __init__(self, buckets: int) -> None:
        super().__init__(too_many_buckets(buckets))
        self.buckets = buckets


def check_interval(export_id: str, pairs: list[tuple[str, str]], span_ms: int) -> None:
    """Required parameters present, and a timeInterval the API takes for the range's length;
    ValueError (TooManyBuckets for the range rules) says what is wrong."""
    names = {name for name, _ in pairs}
    for name in REQUIRED.get(export_id, ()):
        if name not in names:
            raise ValueError(f"{name} is required for {export_id}")
    values = [value for name, value in pairs if name == "timeInterval"]
    if not values:
        return
    if len(values) > 1 or not values[0].isascii() or not values[0].isdigit():
        raise ValueError(f"timeInterval must be one number of ms, got {values!r}")
    interval = int(values[0])
    if interval < WEEK_MS and interval not in TIME_INTERVALS:
        raise ValueError(f"timeInterval {interval} is not an allowed value")
    allowed = _range_rule(span_ms)
    if allowed is not None and interval not in allowed:
        raise TooManyBuckets(span_ms // interval + 1)


def _range_rule(span_ms: int) -> frozenset[int] | None:
    """The intervals a 1-week or 1-month range takes; None for any other length (not stated)."""
    if abs(span_ms - 7 * DAY_MS) <= HOUR_MS:
        return WEEK_RANGE
    if 28 * DAY_MS - HOUR_MS <= span_ms <= 31 * DAY_MS + HOUR_MS:
        return MONTH_RANGE
    return None
