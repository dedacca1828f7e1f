"""Origins compare with default ports normalised, everywhere credentials are decided."""

from __future__ import annotations

from yarl import URL

from orchestrator.core.origins import origin_of
from orchestrator.edges.client import ApiAccess


def test_default_ports_spelled_out_are_the_same_origin() -> None:
    """https://h:443 is https://h and http://h:80 is http://h; other ports and schemes differ."""
    assert origin_of(URL("https://H.example:443/a")) == origin_of(URL("https://h.example/b"))
    assert origin_of(URL("http://h:80")) == origin_of(URL("http://h"))
    assert origin_of(URL("https://h:8443")) != origin_of(URL("https://h"))
    assert origin_of(URL("http://h:443")) != origin_of(URL("https://h"))


def test_allowed_origins_match_with_default_ports_normalised() -> None:
    """An allowed origin written with its default port admits the same origin without it."""
    access = ApiAccess(
        URL("https://api.example"),
        "u",
        "p",
        "k",
        allowed_origins=frozenset({URL("https://mirror.example:443")}),
    )
    assert access.may_receive_credentials(URL("https://api.example:443/x"))
    assert access.may_receive_credentials(URL("https://mirror.example/y"))
    assert not access.may_receive_credentials(URL("https://other.example/z"))
