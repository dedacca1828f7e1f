"""What a scenario returns, and how the results are printed and saved.

A `Section` holds figures (name, value, unit, how it is measured) and targets (a figure against a
limit, pass or miss). A figure that could not be taken is None, and a target on it is a miss, so a
broken measurement never passes silently.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Comparison = Literal["<=", "<", ">=", ">"]


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    note: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    """The name of the figure the target is on."""
    comparison: Comparison
    limit: float
    value: float | None
    passed: bool


@dataclass
class Section:
    """One scenario's results."""

    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def add(self, name: str, value: float | None, unit: str, note: str = "") -> float | None:
        self.figures.append(Figure(name, None if value is None else round(value, 4), unit, note))
        return value

    def target(self, name: str, figure: str, comparison: Comparison, limit: float) -> None:
        """A target on the figure already added under `figure`."""
        value = next(item.value for item in self.figures if item.name == figure)
        self.targets.append(
            Target(name, figure, comparison, limit, value, _holds(value, comparison, limit))
        )


def _holds(value: float | None, comparison: Comparison, limit: float) -> bool:
    if value is None:
        return False
    return {
        "<=": value <= limit,
        "<": value < limit,
        ">=": value >= limit,
        ">": value > limit,
    }[comparison]


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def to_json(sections: list[Section], *, quick: bool, seconds: float) -> dict[str, Any]:
    targets = [target for section in sections for target in section.targets]
    return {
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "targets_passed": sum(target.passed for target in targets),
        "targets_total": len(targets),
        "sections": {section.key: asdict(section) for section in sections},
    }


def save(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"
    return f"{value:.3g}"


def table(sections: list[Section]) -> str:
    """Every figure, then every target with pass or miss, as plain aligned text."""
    lines: list[str] = []
    for section in sections:
        lines.append(f"\n{section.title}  ({section.seconds:.0f} s)")
        if section.error:
            lines.append(f"  ERROR: {section.error}")
        for figure in section.figures:
            lines.append(f"  {figure.name:<44} {_number(figure.value):>12} {figure.unit}")
        for target in section.targets:
            verdict = "pass" if target.passed else "MISS"
            rule = f"{target.figure} {target.comparison} {_number(target.limit)}"
            lines.append(f"  [{verdict}] {target.name:<38} {rule} (is {_number(target.value)})")
    return "\n".join(lines)
