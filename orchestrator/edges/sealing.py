"""Sealing the secrets in server-given URLs before they reach the journal, recoverably.

A status URL carries a companyKey or a per-job `analyticsAccessToken`. The journal must not hold
them in clear text, yet a resumed run must call exactly the URL the server gave. So each secret
query value is encrypted with AES-GCM (a 96-bit random nonce per value, the parameter name as
associated data) under a key derived with HKDF-SHA256 from the configured password and company
key and a fixed context string. A journal copied elsewhere reveals nothing without the password;
a value that cannot be opened (password changed, or the old `REDACTED` marker) raises SealBroken,
and the job is submitted again. A value without the sealed prefix was never sealed and is used as
it stands.

Sealed value: `sealed1.` + base64url(nonce || ciphertext || tag), unpadded: only URL-safe bytes,
so the rest of the URL stays byte for byte as the server sent it.

Note: HKDF is not a password hash. Someone holding the journal and guessing a weak password
could test guesses offline; the API password should be a long random one anyway.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orchestrator.core.redact import replace_secret_values
from orchestrator.errors import SealBroken

PREFIX = "sealed1."
NONCE_BYTES = 12
CONTEXT = b"orchestrator: journal URL secrets, AES-256-GCM, v1"
SALT = b"orchestrator/sealing/v1"
OLD_MARKER = "REDACTED"
"""What versions before sealing was encryption stored in place of a secret value."""


def derive_key(password: str, company_key: str) -> bytes:
    """32 bytes from the password and company key (each length-prefixed, so no two pairs meet)."""
    material = b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (password.encode("utf-8"), company_key.encode("utf-8"))
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=CONTEXT).derive(material)


class Sealer:
    """Seals and unseals the secret query values of URLs with one derived key."""

    def __init__(
        self,
        password: str,
        company_key: str,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._aead = AESGCM(derive_key(password, company_key))
        self._random_bytes = random_bytes

    def __repr__(self) -> str:
        return "Sealer(AES-256-GCM, key=***)"

    def seal(self, url: str) -> str:
        """`url` with each companyKey or analyticsAccessToken value encrypted."""
        return replace_secret_values(url, self._seal_value)

    def unseal(self, url: str) -> str:
        """Exactly the URL that was sealed, or SealBroken."""
        return replace_secret_values(url, self._unseal_value)

    def _seal_value(self, name: str, value: str) -> str:
        nonce = self._random_bytes(NONCE_BYTES)
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"the random source gave {len(nonce)} bytes, not {NONCE_BYTES}")
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), name.encode("ascii"))
        text = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return PREFIX + text

    def _unseal_value(self, name: str, value: str) -> str:
        if value == OLD_MARKER:
            raise SealBroken(
                f"the journaled URL's {name} was sealed by an older version, which kept no way "
                "back to it: the job will be submitted again"
            )
        if not value.startswith(PREFIX):
            return value  # never sealed (written by hand, or by a test): used as it stands
        text = value.removeprefix(PREFIX)
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
            return self._aead.decrypt(nonce, sealed, name.encode("ascii")).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise SealBroken(
                f"the journaled URL's {name} cannot be unsealed ({type(error).__name__}: the "
                "password or company key changed since it was sealed, or the journal was "
                "altered): the job will be submitted again"
            ) from None
