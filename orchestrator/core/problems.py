"""A problem with the manifest, located at its YAML node, and the error that carries them all."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.errors import ManifestError as ManifestError  # its home; re-exported here

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
