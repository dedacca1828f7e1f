"""An S3 API for the bucket scenario: `python moto_s3.py BUCKET`, moto's server on 127.0.0.1 in a
process of its own (so its memory is never the orchestrator's), with BUCKET created. Prints
"moto S3 at http://127.0.0.1:PORT (bucket BUCKET)" once it answers."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import urllib.request

from moto.server import ThreadedMotoServer


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    create = urllib.request.Request(f"{endpoint}/{sys.argv[1]}", method="PUT")  # noqa: S310 - loopback
    urllib.request.urlopen(create, timeout=30).close()  # noqa: S310 - loopback
    print(f"moto S3 at {endpoint} (bucket {sys.argv[1]})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


if __name__ == "__main__":
    main()
