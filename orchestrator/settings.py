"""Run configuration: environment (`ORCHESTRATOR_*`), `.env`, mounted secret files, CLI flags.

Precedence, highest first: command-line flags, environment variables, the `.env` file, secret files
in `secrets_dir`, built-in defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL

ENV_PREFIX = "ORCHESTRATOR_"
DEFAULT_SECRETS_DIR = Path("/run/secrets/orchestrator")


class SettingsError(Exception):
    """Configuration that cannot be used; the message names the variable or flag to fix."""


class Settings(BaseSettings):
    """Everything a run needs that is not in the manifest."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        secrets_dir=DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None,
        hide_input_in_errors=True,
    )

    base_url: str = "https://analytics-api.app.lithium.com"
    username: SecretStr | None = None
    password: SecretStr | None = None
    company_key: SecretStr | None = None
    out: Path = Path("out")
    journal: Path | None = None

    max_in_flight: int = Field(default=10, gt=0)
    max_downloads: int = Field(default=4, gt=0)
    requests_per_minute: float = Field(default=20, gt=0)

    poll_first_seconds: float = Field(default=5.0, gt=0)
    poll_max_seconds: float = Field(default=60.0, gt=0)
    retry_attempts: int = Field(default=8, gt=0)
    retry_base_seconds: float = Field(default=1.0, ge=0)
    retry_max_seconds: float = Field(default=60.0, ge=0)
    resubmit_attempts: int = Field(default=3, gt=0)
    resubmit_cooldown_seconds: float = Field(default=30.0, ge=0)
    min_window_seconds: float = Field(default=3600.0, gt=0)
    job_timeout_seconds: float = Field(default=6 * 3600.0, gt=0)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    grace_seconds: float = Field(default=20.0, ge=0)
    max_runtime_seconds: float | None = Field(default=None, gt=0)

    care_path: str = "/api/public/reports/report/{export_id}"
    publishing_path: str = "/api/public/reports/report/marketing/{export_id}"

    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        url = URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        return str(url.origin()) + url.path.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def credentials(self) -> tuple[str, str, str]:
        """Username, password and company key, or a SettingsError naming what is missing."""
        missing = [
            f"{ENV_PREFIX}{name.upper()}"
            for name in ("username", "password", "company_key")
            if not _present(getattr(self, name))
        ]
        if missing:
            raise SettingsError(f"missing credentials: set {', '.join(missing)}")
        assert self.username and self.password and self.company_key
        return (
            self.username.get_secret_value(),
            self.password.get_secret_value(),
            self.company_key.get_secret_value(),
        )

    def journal_path(self) -> Path:
        return self.journal or self.out / ".orchestrator" / "journal.sqlite"

    def secret_values(self) -> list[str]:
        """The secrets this configuration holds, for the redaction of logs and messages."""
        secrets = (self.username, self.password, self.company_key)
        return [s.get_secret_value() for s in secrets if s is not None and _present(s)]


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with CLI overrides on top, or a SettingsError naming them."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error, set(given))) from None


def _describe(error: ValidationError, from_flags: set[str]) -> str:
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        where = (
            f"--{field.replace('_', '-')}"
            if field in from_flags
            else f"{ENV_PREFIX}{field.upper()}"
        )
        lines.append(f"{where}: {problem['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)
