"""Hypothesis strategies and sample manifests shared by the core tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

ZONES = (
    "UTC",
    "America/Chicago",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "America/St_Johns",  # -03:30
    "Europe/London",
    "Europe/Berlin",
    "Africa/Casablanca",  # DST suspended each Ramadan
    "Asia/Kolkata",  # +05:30, no DST
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # 30-minute DST
    "Australia/Sydney",
    "Pacific/Chatham",  # +12:45 / +13:45
)

EXAMPLE = """\
version: 1
timezone: America/Chicago
defaults:
  source: care
  format: csv
  locale: en_US
  method: GET
  range: {start: 2024-01-01, end: today}
  window: 1d
exports:
  - name: conversations
    export_id: conversation
    columns: [CONVERSATION_ID, STATUS, ASSIGNED_AGENT_DISPLAY_ID]
    filters:
      - {}
      - {label: urgent, priorities: [0, 1], workqueueIds: [15, 21]}
  - name: agent-states
    export_id: raw_agent_states
    window: 7d
"""

AS_OF = date(2024, 6, 1)

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)
windows = st.one_of(
    st.sampled_from(["6h", "12h", "24h", "36h"]),
    st.integers(1, 10).map(lambda n: f"{n}d"),
    st.integers(1, 3).map(lambda n: f"{n}w"),
    st.sampled_from(["1mo", "2mo"]),
)


@st.composite
def date_ranges(draw: st.DrawFn) -> dict[str, Any]:
    """A non-empty range of at most about 60 days, absolute or relative to AS_OF."""
    if draw(st.booleans()):
        back = draw(st.integers(2, 60))
        return {"start": f"today-{back}d", "end": draw(st.sampled_from(["today", "yesterday"]))}
    start = draw(st.dates(date(2023, 1, 1), date(2024, 12, 31)))
    end = start + timedelta(days=draw(st.integers(1, 60)))
    if draw(st.booleans()):
        hour = draw(st.integers(0, 23))
        return {"start": datetime(start.year, start.month, start.day, hour), "end": end}
    return {"start": start, "end": end}


@st.composite
def filter_lists(draw: st.DrawFn) -> list[dict[str, Any]] | None:
    """None, or distinct filter sets (distinct parameters and labels)."""
    ids = draw(st.lists(st.integers(0, 99), min_size=1, max_size=3, unique=True) | st.none())
    if ids is None:
        return None
    sets: list[dict[str, Any]] = []
    for number in ids:
        entry: dict[str, Any] = {"smartViewId": number, "priorities": [number % 6]}
        if draw(st.booleans()):
            entry["label"] = f"set-{number}"
        if draw(st.booleans()):
            entry["teamId"] = [number, number + 1]
        sets.append(entry)
    return sets


@st.composite
def valid_manifests(draw: st.DrawFn) -> dict[str, Any]:
    """Manifests that must parse and plan (against AS_OF) without error."""
    export_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    exports = []
    for name in export_names:
        export: dict[str, Any] = {
            "name": name,
            "export_id": draw(st.sampled_from(["conversation", "user"])),
        }
        export["range"] = draw(date_ranges())
        export["window"] = draw(windows)
        filters = draw(filter_lists())
        if filters is not None:
            export["filters"] = filters
        if draw(st.booleans()):
            export["columns"] = draw(st.lists(st.sampled_from(["A", "B", "C_D"]), unique=True))
        exports.append(export)
    return {"version": 1, "timezone": draw(st.sampled_from(ZONES)), "exports": exports}
