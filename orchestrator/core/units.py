"""Quantities as a person reads them at a glance: durations and sizes."""

from __future__ import annotations


def describe_seconds(seconds: float) -> str:
    """`1 h 10 min`, `4 min 30 s`, `12 s`: a duration a person reads at a glance."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if minutes < 10 else f"{minutes} min"
    return f"{secs} s"


def describe_bytes(count: int) -> str:
    """`512 B`, `3.4 MiB`, `1.2 GiB`."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def describe_cut(received: int, expected: int | None, detail: str | None = None) -> str:
    """`download cut after 552 of 1,105 bytes (detail)`: a cut download as a sentence."""
    of = f" of {expected:,}" if expected is not None else ""
    return f"download cut after {received:,}{of} bytes" + (f" ({detail})" if detail else "")
