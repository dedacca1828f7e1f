"""The fake API whose download redirects to another server: `python fake_redirect.py STORAGE_URL`.

The fake's own object storage generates files row by row; to measure the client against a fast
static server, the fake's pre-signed URLs point at STORAGE_URL instead (its `storage_public_url`
knob). Jobs take no time. Prints the fake's one-line description once both ports are bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from orchestrator.fakeapi import FakeConfig, describe, serve_forever


def main() -> None:
    config = FakeConfig(job_duration=0.0, storage_public_url=sys.argv[1])
    ready = lambda fake: print(describe(fake), flush=True)  # noqa: E731
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config, port=0, on_ready=ready))


if __name__ == "__main__":
    main()
