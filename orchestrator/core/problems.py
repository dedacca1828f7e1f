"""A problem with the manifest, located at its YAML node, and the error that carries them all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SHOWN = 50
"""Problems listed in the message: enough to fix a file in one pass, few enough to read."""

FieldPath = tuple[object, ...]
"""A field's path in the document, e.g. ("exports", 1, "window")."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the manifest: where (`jobs.yaml:14:12`), which field, and what to do."""

    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.location, self.field, self.message) if part)


class ManifestError(Exception):
    """The manifest cannot be used; `problems` lists every problem, one per line in str().

    Problems are kept once each, in document order (by line and column), as a reader fixes them.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(dict.fromkeys(problems), key=_position)
        shown = [str(problem) for problem in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            shown.append(f"... and {len(self.problems) - MAX_SHOWN:,} more problems")
        super().__init__("\n".join(shown))


def _position(problem: Problem) -> tuple[int, int]:
    """(line, column) of `name:line:column`, or (0, 0) for a problem of the whole file."""
    match = re.search(r":(\d+):(\d+)$", problem.location)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def dotted(path: FieldPath) -> str:
    """`exports[1].window` from ("exports", 1, "window")."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text
