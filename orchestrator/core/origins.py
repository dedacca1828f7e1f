"""Which URLs may carry what: the rules the client applies to every server-given URL."""

from __future__ import annotations

import ipaddress

from yarl import URL


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
