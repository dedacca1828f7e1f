"""Sealed journal URLs: nothing secret readable, exactly the server's URL back, and a clear
SealBroken for anything that cannot be opened."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.edges.sealing import PREFIX, Sealer, derive_key
from orchestrator.errors import SealBroken

URL = (
    "https://api.example/api/public/reports/report/wf/23g%2BOx%3D/status"
    "?analyticsAccessToken=53u6j8zjSLAe6e%2F8s80LtA%3D%3D&reportFormat=csv"
)
TOKEN = "53u6j8zjSLAe6e%2F8s80LtA%3D%3D"


def counting_random() -> Sealer:
    counter = itertools.count()
    return Sealer(
        "the-password",
        "acme-key",
        random_bytes=lambda n: bytes((next(counter) + i) % 256 for i in range(n)),
    )


def test_a_sealed_url_keeps_everything_but_its_secret_values() -> None:
    """Path, encoded run id and other parameters stay byte for byte; the token is replaced."""
    sealed = counting_random().seal(URL)
    assert sealed.startswith(URL.split("analyticsAccessToken=")[0] + "analyticsAccessToken=")
    assert sealed.endswith("&reportFormat=csv")
    assert PREFIX in sealed
    for secret in (TOKEN, "53u6j8zjSLAe6e", "the-password", "acme-key"):
        assert secret not in sealed


@given(value=st.text(alphabet="abcXYZ019%+/=-._~", max_size=40))
def test_unsealing_gives_back_exactly_the_url_sealed(value: str) -> None:
    """Any value, percent-encoded or not, comes back exactly, in companyKey as in a token."""
    sealer = Sealer("pw", "key")
    for url in (f"https://h/s?companyKey={value}", f"https://h/s?x=1&analyticsAccessToken={value}"):
        assert sealer.unseal(sealer.seal(url)) == url


def test_each_value_gets_a_fresh_nonce_from_the_random_source() -> None:
    """Sealing the same URL twice gives different texts, both opening to the same URL."""
    sealer = counting_random()
    first, second = sealer.seal(URL), sealer.seal(URL)
    assert first != second and sealer.unseal(first) == sealer.unseal(second) == URL


@pytest.mark.parametrize(
    ("password", "company_key"), [("another-password", "acme-key"), ("the-password", "other")]
)
def test_another_password_or_company_key_cannot_unseal(password: str, company_key: str) -> None:
    """A changed password or company key raises SealBroken (InvalidTag), never a crash."""
    sealed = counting_random().seal(URL)
    with pytest.raises(SealBroken, match="cannot be unsealed"):
        Sealer(password, company_key).unseal(sealed)


@pytest.mark.parametrize(
    "stored",
    [
        "https://h/s?companyKey=REDACTED",  # the journal format before sealing was encryption
        "https://h/s?analyticsAccessToken=sealed1.AAAA",  # too short to hold a nonce and tag
        "https://h/s?analyticsAccessToken=sealed1.@@@",  # not base64
    ],
)
def test_old_or_damaged_sealed_values_are_seal_broken(stored: str) -> None:
    """The old REDACTED marker and damaged values raise SealBroken with a located message."""
    with pytest.raises(SealBroken):
        Sealer("pw", "key").unseal(stored)


def test_a_value_moved_to_another_parameter_does_not_open() -> None:
    """The parameter name is bound to its value: a sealed token pasted as companyKey fails."""
    sealer = counting_random()
    sealed = sealer.seal("https://h/s?analyticsAccessToken=tok")
    with pytest.raises(SealBroken):
        sealer.unseal(sealed.replace("analyticsAccessToken=", "companyKey="))


def test_keys_differ_by_password_and_company_key_without_ambiguity() -> None:
    """("ab", "c") and ("a", "bc") derive different keys: the parts are length-prefixed."""
    assert derive_key("ab", "c") != derive_key("a", "bc")
    assert len(derive_key("pw", "key")) == 32


def test_urls_without_secrets_pass_through() -> None:
    """A URL with no companyKey or token is stored and returned unchanged."""
    sealer = Sealer("pw", "key")
    assert sealer.seal("https://h/p?reportFormat=csv") == "https://h/p?reportFormat=csv"
    assert sealer.unseal("https://h/p?reportFormat=csv") == "https://h/p?reportFormat=csv"


def test_values_never_sealed_are_unsealed_as_they_stand() -> None:
    """A clear value (a journal written by hand) is not a broken seal: it is used unchanged."""
    assert (
        Sealer("pw", "key").unseal("https://h/s?companyKey=acme") == "https://h/s?companyKey=acme"
    )
