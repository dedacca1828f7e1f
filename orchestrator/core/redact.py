"""One place that knows what a secret looks like in text, so logs, reports and errors share it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

MASK = "***"

_SECRET_QUERY = re.compile(
    r"(?i)((?:companyKey|analyticsAccessToken|X-Signature|X-Amz-Signature|X-Amz-Credential"
    r"|Signature|token|password)=)[^&#\s\"'<>]*"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)?\s*[^\s\"',}]+")


_URL_SECRET = re.compile(r"([?&](companyKey|analyticsAccessToken)=)([^&#]*)")


def replace_secret_values(url: str, replace: Callable[[str, str], str]) -> str:
    """`url` with each companyKey or access-token value `v` of parameter `name` replaced by
    `replace(name, v)`; every other byte stays as the server sent it (values stay encoded)."""
    return _URL_SECRET.sub(
        lambda match: match.group(1) + replace(match.group(2), match.group(3)), url
    )


MIN_SECRET_LENGTH = 4
"""Known secrets shorter than this are not masked by value: a one-letter user name would turn every
line into asterisks and, by the pattern of the masked letters, give itself away. The patterns above
still mask such values wherever they stand as a password, header or query value."""


def sanitize(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query values, URL user-info, Authorization values and each known secret."""
    text = _SECRET_QUERY.sub(rf"\1{MASK}", text)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _AUTH_HEADER.sub(rf"\1{MASK}", text)
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text


def excerpt(body: bytes | str, limit: int = 200, secrets: Iterable[str] = ()) -> str:
    """A short, single-line, sanitised piece of a server's answer, for an error message."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit] + "…"
    return sanitize(flat, secrets)
