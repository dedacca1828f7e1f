"""One sanitizer masks every kind of secret the tool handles."""

from __future__ import annotations

from orchestrator.core.redact import excerpt, sanitize


def test_secret_query_values_are_masked() -> None:
    """companyKey, analyticsAccessToken and signatures lose their values, other params stay."""
    url = (
        "https://h/r/w/23%2B/status?companyKey=acme&analyticsAccessToken=oMq%3D%3D&reportFormat=csv"
    )
    clean = sanitize(url)
    assert "acme" not in clean and "oMq" not in clean
    assert "reportFormat=csv" in clean and "23%2B" in clean


def test_user_info_and_authorization_values_are_masked() -> None:
    """Credentials in a URL or an Authorization header never survive."""
    assert "hunter2" not in sanitize("https://bob:hunter2@host/path")
    assert "Ym9iOmh1bnRlcjI=" not in sanitize("Authorization: Basic Ym9iOmh1bnRlcjI=")


def test_known_secrets_are_masked_anywhere() -> None:
    """A secret value given explicitly is masked wherever it appears."""
    assert sanitize("password is hunter2!", ["hunter2"]) == "password is ***!"


def test_excerpts_are_short_single_lines() -> None:
    """An excerpt of a big HTML page is one line, capped in length."""
    page = b"<html>\n<body>" + b"x" * 5000 + b"</body></html>"
    short = excerpt(page, limit=50)
    assert "\n" not in short and len(short) <= 51


def test_short_known_secrets_do_not_mangle_every_line() -> None:
    """A one-letter user name is not masked by value; structured secrets still are."""
    line = "orchestrator.run_started user=u url=https://h/s?companyKey=u"
    assert sanitize(line, ["u"]) == "orchestrator.run_started user=u url=https://h/s?companyKey=***"
