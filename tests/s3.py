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
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing-key-id/20240101/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=0",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "Content-Type": "application/octet-stream",
}
"""A signature header moto takes without checking it: an unsigned request to an object is an
anonymous one, which moto refuses (the bucket's ACL is private)."""


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

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        """An object's body and its headers (names lowercased: `x-amz-meta-sha256`, ...)."""
        return self._send("GET", f"/{bucket}/{key}")

    def put(self, bucket: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        """Write an object as another client would, with the headers given (metadata among them)."""
        self._send("PUT", f"/{bucket}/{key}", body, headers)

    def _call(self, method: str, path: str) -> str:
        return self._send(method, path)[0].decode()

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(  # noqa: S310 - loopback http
            self.endpoint + path, data=body, headers={**SIGNED, **(headers or {})}, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback http
            return answer.read(), {name.lower(): value for name, value in answer.headers.items()}


@cache
def moto_s3() -> MotoS3:
    """The process's moto server, started on first use (it stops with the process)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoS3(f"http://{host}:{port}")
