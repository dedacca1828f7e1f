"""Log lines mask the password, the company key and the Basic token by value, never the user name."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from orchestrator.edges.logs import configure_logging
from orchestrator.edges.settings import Settings, load_settings

USER, PASSWORD, COMPANY_KEY = "demo", "pa55-w0rd-mask", "company-key-mask"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("USERNAME", "PASSWORD", "COMPANY_KEY", "SECRETS_DIR"):
        monkeypatch.delenv(f"ORCHESTRATOR_{name}", raising=False)
    return load_settings(username=USER, password=PASSWORD, company_key=COMPANY_KEY)


@pytest.fixture
def lines(settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(log_format="json", secrets=settings.secret_values(), stream=stream)
    yield stream
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def test_the_user_name_is_not_a_secret(settings: Settings) -> None:
    """secret_values holds the password, the company key and the Basic token, not the user name."""
    assert settings.secret_values() == [PASSWORD, COMPANY_KEY, BASIC]


def test_words_that_contain_the_user_name_are_logged_whole(lines: io.StringIO) -> None:
    """With user `demo`, export `demographics` and folder `demo_out` are not turned into `***...`."""
    structlog.get_logger("orchestrator.run").info(
        "orchestrator.job_submitted", export="demographics", out="demo_out", user=USER
    )
    event = json.loads(lines.getvalue())
    assert event["export"] == "demographics"
    assert event["out"] == "demo_out"
    assert event["user"] == USER
    assert "***" not in lines.getvalue()


def test_password_company_key_and_basic_token_stay_masked_everywhere(lines: io.StringIO) -> None:
    """Each secret is masked by value in our events and in stdlib (aiohttp) lines alike."""
    log = structlog.get_logger("orchestrator.run")
    log.warning("orchestrator.odd", text=f"pw {PASSWORD} key {COMPANY_KEY} token {BASIC}")
    log.warning("orchestrator.odd", nested={"deep": [f"x{PASSWORD}x", f"Basic {BASIC}"]})
    logging.getLogger("aiohttp.client").warning(
        "sent Authorization: Basic %s to %s?companyKey=%s", BASIC, "https://h/demo", COMPANY_KEY
    )
    logging.getLogger("aiohttp.client").warning("token alone %s and %s", BASIC, PASSWORD)
    text = lines.getvalue()
    for secret in (PASSWORD, COMPANY_KEY, BASIC):
        assert secret not in text
    assert text.count("***") >= 8
    assert "https://h/demo" in text
