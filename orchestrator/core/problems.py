"""A problem with the manifest, located at its YAML node, and the error that carries them all.

Both live in `errors.py`, which imports nothing of ours; they are re-exported here for the core.
"""

from __future__ import annotations

import re

from orchestrator.errors import ManifestError as ManifestError
from orchestrator.errors import Problem as Problem

FieldPath = tuple[object, ...]
"""A field's path in the document, e.g. ("exports", 1, "window")."""


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
