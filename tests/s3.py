"""A real S3 API on 127.0.0.1 for tests: moto's server, started once per test process, a fresh
bucket per test, and the standard AWS variables pointing at it (see the `bucket` fixture in
tests/conftest.py). Buckets are made and inspected with plain HTTP (moto checks no signature),
so no AWS SDK is imported; only the code under test talks through obstore."""

from __future__ import annotations

import logging
import re
import secrets
import urllib.request
from dataclasses import dataclass
from functools import cache

from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@dataclass(frozen=True)
class MotoS3:
    endpoint: str

    def environment(self) -> dict[str, str]:
        """The standard variables a user of an S3-compatible store sets (MinIO, Ceph, moto)."""
        return {
            "AWS_ACCESS_KEY_ID": "testing-key-id",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def new_bucket(self) -> str:
        name = f"test-{secrets.token_hex(6)}"
        self._call("PUT", f"/{name}")
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`."""
        body = self._call("GET", f"/{bucket}?list-type=2&prefix={prefix}")
        return re.findall(r"<Key>([^<]*)</Key>", body)

    def uploads(self, bucket: str) -> list[str]:
        """The keys of the multipart uploads begun in the bucket and neither completed nor aborted."""
        body = self._call("GET", f"/{bucket}?uploads")
        return re.findall(r"<Key>([^<]*)</Key>", body)

    def _call(self, method: str, path: str) -> str:
        request = urllib.request.Request(self.endpoint + path, method=method)  # noqa: S310 - loopback http
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback http
            return str(answer.read().decode())


@cache
def moto_s3() -> MotoS3:
    """The process's moto server, started on first use (it stops with the process)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoS3(f"http://{host}:{port}")
