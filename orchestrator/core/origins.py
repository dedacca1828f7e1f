"""Which URLs may carry what: the rules the client applies to every server-given URL."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from yarl import URL

Origin = tuple[str, str, int | None]
"""scheme, lower-case host, port (the scheme's default port when the URL names none)."""


@lru_cache(maxsize=256)
def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_enough(url: URL) -> bool:
    """https anywhere, or plain http to a loopback host (the fake API, a local proxy)."""
    return url.scheme == "https" or (url.scheme == "http" and is_loopback(url.host))


def origin_of(url: URL) -> Origin:
    """The origin of `url` with default ports normalised: `https://h:443` is `https://h`.

    yarl prints both the same but does not compare them equal, so origins are compared as these
    tuples, never as `URL` objects."""
    return (url.scheme.lower(), (url.host or "").lower(), url.port)
