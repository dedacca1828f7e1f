"""Pre-signed object-storage URLs: an HMAC over object id and expiry, like S3's query signatures.

The API signs, the storage server verifies; the secret never leaves the fake, so a URL cannot be
forged or stretched, and an expired one can only be replaced by asking the API again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class UrlSigner:
    """Signs and checks (object id, expiry in Unix ms) pairs with one random secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def sign(self, object_id: str, expires_ms: int) -> str:
        """Hex HMAC-SHA256 of `object_id` and `expires_ms`, joined by a newline."""
        message = f"{object_id}\n{expires_ms}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, object_id: str, expires_ms: int, signature: str) -> bool:
        """True when `signature` is the one `sign` gives, compared in constant time."""
        return hmac.compare_digest(self.sign(object_id, expires_ms), signature)

    def __repr__(self) -> str:
        return "UrlSigner(secret=<hidden>)"
