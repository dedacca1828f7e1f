"""Window lengths as written in the manifest: `Nh`, `Nd`, `Nw`, `Nmo`.

Hours are elapsed time; days, weeks and months are calendar steps in the manifest's zone, which is
why a `Duration` is a count and a unit rather than a `timedelta`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

Unit = Literal["h", "d", "w", "mo"]

MAX_COUNT = 100_000
"""The largest count accepted: far beyond any real window, small enough for safe arithmetic."""

HINT = "(use 1h, 1d, 7d, 1mo)"
_PATTERN = re.compile(r"(\d{1,12})(h|d|w|mo)")


@dataclass(frozen=True, slots=True)
class Duration:
    """A positive count of hours, days, weeks or calendar months."""

    count: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in ("h", "d", "w", "mo"):
            raise ValueError(f"unknown duration unit {self.unit!r} {HINT}")
        if not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"duration count must be between 1 and {MAX_COUNT}, not {self.count}")

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_duration(text: object) -> Duration:
    """Read `7d` and the like; anything else raises ValueError with a message fit for the user."""
    if not isinstance(text, str):
        message = f"{text!r} is not a duration {HINT}"
        raise ValueError(message)  # noqa: TRY004 pydantic turns only ValueError into its errors
    stripped = text.strip()
    match = _PATTERN.fullmatch(stripped)
    if match is None:
        if _PATTERN.fullmatch(stripped.removeprefix("-")):
            raise ValueError(f"{text!r} is negative: a duration must be at least 1 {HINT}")
        raise ValueError(f"{text!r} is not a duration {HINT}")
    count = int(match.group(1))
    if count == 0:
        raise ValueError(f"{text!r} is zero: a duration must be at least 1 {HINT}")
    if count > MAX_COUNT:
        raise ValueError(f"{text!r} is too long: the count may be at most {MAX_COUNT}")
    return Duration(count, cast(Unit, match.group(2)))
