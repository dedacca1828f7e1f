"""How deep the fuzz tests and soaks go: `make test` keeps them quick, `make soak` goes deep.

`ORCHESTRATOR_TEST_DEPTH` scales every fuzz test's number of examples and every soak's number of
rounds: 1 (the default, `make test`) or more (`make soak` sets 4). The same test bodies run at
either depth; only how many inputs they try changes.
"""

from __future__ import annotations

import os

DEPTH = max(float(os.environ.get("ORCHESTRATOR_TEST_DEPTH", "1")), 0.1)


def scaled(count: int, *, quick: float = 1.0) -> int:
    """`count` at the quick depth `quick` (a share of the full count), times the depth."""
    return max(1, round(count * quick * DEPTH))
