"""A fast static file server for the download benchmark: `python static_server.py FILE`.

Serves FILE (with sendfile, through aiohttp's FileResponse) for a GET of any path on a free port of
127.0.0.1, so a pre-signed URL of the fake's redirect, whatever its object id, lands on it. Prints
one line, "Static server at http://127.0.0.1:PORT ", once it listens. Runs until terminated.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


async def serve(path: Path) -> None:
    async def any_path(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": "text/csv"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", any_path)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print(f"Static server at http://127.0.0.1:{port} serving {path.name}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
