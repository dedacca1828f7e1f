"""Run configuration: environment (`ORCHESTRATOR_*`), `.env`, mounted secret files, CLI flags.

Precedence, highest first: command-line flags, environment variables, the `.env` file, secret files,
built-in defaults. Secret files live in `ORCHESTRATOR_SECRETS_DIR` (default
`/run/secrets/orchestrator` when it exists), one file per setting, named with or without the prefix
(`password` or `ORCHESTRATOR_PASSWORD`), as a Kubernetes secret mounted as a folder provides them.

`value_origins` tells, for each setting, which of these gave its value (`orchestrator config`), by
calling the same sources in the same order as the settings themselves do.
"""

from __future__ import annotations

import base64
import os
import re
import string
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as LibrarySettingsError
from yarl import URL

from orchestrator.core.jobs import CARE_PATH, PUBLISHING_PATH
from orchestrator.core.layout import JOURNAL_FILE, STATE_FOLDER
from orchestrator.core.location import SETTING as LOCATION_SETTING
from orchestrator.core.location import Location, parse_location
from orchestrator.core.origins import secure_enough
from orchestrator.core.planner import MAX_JOBS
from orchestrator.core.redact import sanitize
from orchestrator.core.shard import MAX_SHARDS, Shard, ShardError, parse_shard
from orchestrator.edges.folders import is_dir, is_file, not_regular
from orchestrator.errors import SettingsError

ENV_PREFIX = "ORCHESTRATOR_"
COMPLETION_INDEX = "JOB_COMPLETION_INDEX"
"""Set by Kubernetes in each pod of an Indexed Job: that pod's index, the default shard index."""
DEFAULT_SECRETS_DIR = Path("/run/secrets/orchestrator")
SECRET_FIELDS = ("username", "password", "company_key")
"""The credentials a run needs."""
MASKED_FIELDS = ("password", "company_key")
"""The credentials shown as `***`; the user name is not a secret."""
DEFAULT_JOURNAL = (
    f"<out>/{STATE_FOLDER}/{JOURNAL_FILE}; with a bucket output, <prefix>/{STATE_FOLDER}/journal "
    "in the bucket"
)
"""The journal's place when ORCHESTRATOR_JOURNAL is not set, as help texts show it."""
MAX_SECONDS = 10**9
"""Longest duration any setting takes (about 31 years): a bound that keeps timers finite."""
MIN_REQUESTS_PER_MINUTE = 0.1
"""The smallest request budget: one request every ten minutes. Less would make a run wait for
ages (1e-300 a minute waits forever) while `plan` promises a figure nobody can reach."""
DOTENV = Path(".env")
"""The `.env` file read from the working folder (the model's `env_file`)."""
PATH_FIELD = "export_id"
"""The only field the API path templates (CARE_PATH, PUBLISHING_PATH) may hold."""


class Settings(BaseSettings):
    """Everything a run needs that is not in the manifest."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        hide_input_in_errors=True,
        allow_inf_nan=False,
    )

    allow_insecure_http: bool = False
    """Allow plain http:// to a host other than loopback (credentials would cross in clear text)."""
    base_url: str = "https://analytics-api.app.lithium.com"
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Origins besides the API's that may receive credentials in a server-given URL."""
    ca_bundle: Path | None = None
    secrets_dir: Path | None = None
    max_jobs: int = Field(default=MAX_JOBS, gt=0)
    username: SecretStr | None = None
    password: SecretStr | None = None
    company_key: SecretStr | None = None
    out: str | Path = Path("out")
    """The output: a local folder (a Path, as given or from a file:// URL) or a bucket's prefix
    (its canonical URL, `s3://bucket/prefix`); see core.location and `location`."""
    journal: Path | None = None
    journal_mode: Literal["auto", "wal", "rollback"] = "auto"
    """SQLite's journal mode: WAL on a local filesystem, the rollback journal with exclusive
    locking on a network one (NFS, CIFS, CephFS, FUSE; WAL does not work there); `auto` tells
    them apart from /proc/self/mountinfo (see edges.filesystems)."""
    lease_seconds: float = Field(default=30.0, ge=0.5, le=3600)
    """With a bucket output: the lease TTL. A run renews its shard's lease every third of it; a
    run that meets the lease of a killed one waits this long before taking it over."""

    max_in_flight: int = Field(default=10, gt=0)
    max_downloads: int = Field(default=4, gt=0)
    requests_per_minute: float = Field(default=20, gt=0)

    poll_first_seconds: float = Field(default=1.0, gt=0, le=MAX_SECONDS)
    poll_max_seconds: float = Field(default=60.0, gt=0, le=MAX_SECONDS)
    retry_attempts: int = Field(default=8, gt=0)
    retry_base_seconds: float = Field(default=1.0, ge=0, le=MAX_SECONDS)
    retry_max_seconds: float = Field(default=60.0, ge=0, le=MAX_SECONDS)
    resubmit_attempts: int = Field(default=3, gt=0)
    resubmit_cooldown_seconds: float = Field(default=30.0, ge=0, le=MAX_SECONDS)
    min_window_seconds: float = Field(default=3600.0, gt=0, le=MAX_SECONDS)
    job_timeout_seconds: float = Field(default=6 * 3600.0, gt=0, le=MAX_SECONDS)
    request_timeout_seconds: float = Field(default=60.0, gt=0, le=MAX_SECONDS)
    grace_seconds: float = Field(default=20.0, ge=0, le=MAX_SECONDS)
    progress_seconds: float = Field(default=30.0, gt=0, le=MAX_SECONDS)
    """Without a terminal, how often an `orchestrator.progress` log event reports the counts."""
    max_runtime_seconds: float | None = Field(default=None, gt=0, le=MAX_SECONDS)

    care_path: str = CARE_PATH
    publishing_path: str = PUBLISHING_PATH

    shards: int = Field(default=1, gt=0, le=MAX_SHARDS)
    """How many pods split the planned jobs between them; each runs its own `--shard I`."""
    metrics_file: Path | None = None
    """Prometheus text written at the end of every run (node-exporter's textfile collector)."""
    pushgateway: str | None = None
    """A Pushgateway the same metrics are pushed to at the end of every run."""
    pushgateway_grouping: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Labels added to the push's grouping key, `instance=nightly,env=prod` (see edges.metrics)."""

    success_markers: bool = True
    """A `_SUCCESS` file in each date folder once all its planned exports are final."""
    keep_reports: int = Field(default=100, gt=0)
    """Run reports kept under `_runs/`, the oldest removed first (never the current run's)."""

    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, environment, `.env`, then secret files named with or without the prefix."""
        labelled = _labelled_sources(settings_cls, init_settings, env_settings, dotenv_settings)
        return tuple(source for _, source in labelled)

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str, info: ValidationInfo) -> str:
        url = _http_origin(value)
        if not info.data.get("allow_insecure_http") and not secure_enough(url):
            raise ValueError(
                f"{value!r} is plain http to a host other than loopback: use https, or set "
                f"{ENV_PREFIX}ALLOW_INSECURE_HTTP=true"
            )
        return str(url.origin()) + url.path.rstrip("/")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object, info: ValidationInfo) -> object:
        """Origins (default ports dropped: `https://h:443` is `https://h`); plain http only to
        loopback, unless ALLOW_INSECURE_HTTP, since these origins receive the credentials."""
        if isinstance(value, str):
            value = [item for item in value.replace(",", " ").split() if item]
        if isinstance(value, list | tuple):
            origins = [_http_origin(str(item)) for item in value]
            insecure = [str(url.origin()) for url in origins if not secure_enough(url)]
            if insecure and not info.data.get("allow_insecure_http"):
                raise ValueError(
                    f"{', '.join(insecure)}: plain http to a host other than loopback would carry "
                    f"the credentials in clear text: use https, or set "
                    f"{ENV_PREFIX}ALLOW_INSECURE_HTTP=true"
                )
            return tuple(str(url.origin()) for url in origins)
        return value

    @field_validator("out", mode="before")
    @classmethod
    def _output_location(cls, value: object) -> object:
        """A URL or a plain path, parsed once: a folder becomes a Path (exactly as before), a
        bucket its canonical URL; a malformed URL or an unknown scheme is refused here, so it
        never becomes a folder called `s3:`. A Path given by code is a folder as it is."""
        if not isinstance(value, str):
            return value
        try:
            location = parse_location(value)
        except SettingsError as error:
            raise ValueError(str(error).removeprefix(f"{LOCATION_SETTING}: ")) from None
        return Path(location.path) if location.local else location.url()

    @field_validator("ca_bundle")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        """A regular file: a FIFO there would block the TLS set-up forever."""
        if value is None:
            return value
        problem = not_regular(value)
        if problem is not None:
            raise ValueError(f"{value} {problem}: give a readable file of CA certificates")
        if not is_file(value):
            raise ValueError(f"{value} is not a readable file of CA certificates")
        return value

    @field_validator("metrics_file")
    @classmethod
    def _in_a_folder(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """Checked before the run, not discovered after hours of work (a FIFO in its place would
        block the run's end, when the previous file is read). A folder inside the output folder
        may be missing: the run creates it with the output tree, before any request."""
        if value is None:
            return value
        out = info.data.get("out")
        if not is_dir(value.parent) and not (out is not None and inside(value.parent, out)):
            raise ValueError(f"{value}: its folder {value.parent} does not exist")
        problem = not_regular(value)
        if problem is not None:
            raise ValueError(f"{value} {problem}: give the path of a metrics file")
        return value

    @field_validator("requests_per_minute")
    @classmethod
    def _finite_wait(cls, value: float) -> float:
        if value < MIN_REQUESTS_PER_MINUTE:
            raise ValueError(
                f"{value:g} requests a minute would make the run wait for ages: "
                f"give at least {MIN_REQUESTS_PER_MINUTE}"
            )
        return value

    @field_validator("care_path", "publishing_path")
    @classmethod
    def _export_path_template(cls, value: str) -> str:
        """Only `{export_id}`: any other field fails every job, and one like
        `{export_id.__class__}` would be evaluated by str.format."""
        try:
            others = _foreign_fields(value)
        except ValueError as error:
            raise ValueError(
                f"{value!r} is not a path template ({error}); the only field is {{{PATH_FIELD}}}"
            ) from None
        if others:
            raise ValueError(
                f"{value!r} holds {', '.join(others)}: the only field a path may hold is "
                f"{{{PATH_FIELD}}}"
            )
        return value

    @field_validator("pushgateway")
    @classmethod
    def _gateway_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        url = _http_origin(value)
        return str(url.origin()) + url.path.rstrip("/")

    @field_validator("pushgateway_grouping", mode="before")
    @classmethod
    def _grouping_pairs(cls, value: object) -> object:
        return parse_grouping(value) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def credentials(self) -> tuple[str, str, str]:
        """Username, password and company key, or a SettingsError naming what is missing."""
        missing = [
            f"{ENV_PREFIX}{name.upper()}"
            for name in SECRET_FIELDS
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

    @property
    def location(self) -> Location:
        """Where the output goes: a local folder, or a prefix in a bucket."""
        if isinstance(self.out, Path):
            return Location("file", path=str(self.out))
        return parse_location(self.out)

    def journal_path(self, shard: Shard | None = None) -> Path | None:
        """The SQLite journal file; a shard of several keeps its own beside it (see core.shard).
        None for a bucket output without ORCHESTRATOR_JOURNAL: its journal is in the bucket."""
        if self.journal is None and not isinstance(self.out, Path):
            return None
        base = self.journal or Path(self.out) / STATE_FOLDER / JOURNAL_FILE
        return Path(shard.file_for(base)) if shard is not None else base

    def shown(self) -> dict[str, object]:
        """The settings as JSON values for `orchestrator config`: password and company key masked,
        the user name as it is."""
        shown: dict[str, object] = self.model_dump(mode="json")
        for name in MASKED_FIELDS:
            shown[name] = "***" if _present(getattr(self, name)) else None
        shown["username"] = self.username.get_secret_value() if self.username else None
        folder = _secrets_folder()  # the folder read: the environment's, never `.env`'s
        shown["secrets_dir"] = None if folder is None else str(folder)
        return shown

    def secret_values(self) -> list[str]:
        """The secrets this configuration holds, for the redaction of logs and messages: the
        password, the company key and the Basic token (base64 of `user:password`, as the
        `Authorization` header carries it). Never the user name: it is not a secret, and masking
        it by value would mangle every word it appears in (user `demo`, export `demographics`)."""
        secrets = (self.password, self.company_key)
        values = [s.get_secret_value() for s in secrets if s is not None and _present(s)]
        if _present(self.username) and _present(self.password):
            assert self.username and self.password
            user, password = self.username.get_secret_value(), self.password.get_secret_value()
            values.append(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))
        return values


def _labelled_sources(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """The sources of the settings, highest priority first, each with the origin it stands for."""
    sources = [("flag", init_settings), ("env", env_settings), (".env", dotenv_settings)]
    folder = _secrets_folder()
    if folder is not None:
        for prefix in (ENV_PREFIX, ""):
            secrets = SecretsSettingsSource(settings_cls, secrets_dir=folder, env_prefix=prefix)
            sources.append((f"secret file in {folder}", secrets))
    return sources


def value_origins(**overrides: object) -> dict[str, str]:
    """Where each setting's value comes from: "flag", "env", ".env", "secret file in <folder>" or
    "default". Call it after `load_settings(**overrides)` succeeded: it reads the same sources."""
    given = {name: value for name, value in overrides.items() if value is not None}
    _refuse_special_files()
    labelled = _labelled_sources(
        Settings,
        InitSettingsSource(Settings, init_kwargs=given),
        EnvSettingsSource(Settings),
        DotEnvSettingsSource(Settings),
    )
    origins: dict[str, str] = {}
    try:
        for origin, source in labelled:
            for name in source():
                origins.setdefault(name, origin)
    except (UnicodeDecodeError, OSError, LibrarySettingsError) as error:
        raise SettingsError(f"cannot read the settings: {type(error).__name__}") from None
    named = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    origins["secrets_dir"] = "env" if named else "default"  # read from the environment alone
    return {name: origins.get(name, "default") for name in Settings.model_fields}


def secrets_dir_notes() -> list[str]:
    """What `config` says of ORCHESTRATOR_SECRETS_DIR beyond its value: a named folder that
    does not exist, and a `.env` line that cannot set it (call after `load_settings`)."""
    notes = []
    named = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    if named and _secrets_folder() is None:
        notes.append(f"{ENV_PREFIX}SECRETS_DIR={named} is not a folder: no secret files are read")
    try:
        in_dotenv = "secrets_dir" in DotEnvSettingsSource(Settings)()
    except (UnicodeDecodeError, OSError, LibrarySettingsError) as error:
        raise SettingsError(f"cannot read the settings: {type(error).__name__}") from None
    if in_dotenv:
        notes.append(
            f"{DOTENV} sets {ENV_PREFIX}SECRETS_DIR, which is read from the process environment "
            "only: that line is ignored (export the variable instead)"
        )
    return notes


def setting_help(name: str, text: str) -> str:
    """`text` followed by the setting's variable and its default, from the model itself."""
    field = Settings.model_fields[name]
    if name == "journal":
        default = DEFAULT_JOURNAL
    elif field.default is None:
        default = "none"
    else:
        default = str(field.default)
    return f"{text} (${ENV_PREFIX}{name.upper()}; default: {default})".replace("%", "%%")


def _foreign_fields(template: str) -> list[str]:
    """The replacement fields of a str.format template other than a bare `{export_id}`, as
    written; ValueError for unbalanced braces."""
    foreign = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (name != PATH_FIELD or spec or conversion):
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            foreign.append(f"{{{shown}}}")
    return foreign


def _http_origin(text: str) -> URL:
    try:
        url = URL(text)
    except (ValueError, TypeError):
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text!r} is not an http(s) URL with a host")
    return url


GROUPING_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
RESERVED_GROUPING = ("job", "shard")
"""Labels of the grouping key the tool sets itself: the push job, and a sharded run's shard."""


def parse_grouping(text: str) -> dict[str, str]:
    """`name=value,name=value` as a dict; a ValueError names the pair to fix. Names are Prometheus
    label names (not `__`-prefixed, not `job` or `shard`); values are non-empty."""
    pairs: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, equals, label_value = (side.strip() for side in item.partition("="))
        if not equals or not label_value or not GROUPING_LABEL.fullmatch(name):
            raise ValueError(f"{item!r} is not name=value with a Prometheus label name")
        if name in RESERVED_GROUPING:
            raise ValueError(f"{name!r}: the tool sets this label itself")
        if name.startswith("__"):
            raise ValueError(f"{name!r}: names starting with __ are reserved by Prometheus")
        pairs[name] = label_value
    return pairs


def _secrets_folder() -> Path | None:
    """The secret-files folder: $ORCHESTRATOR_SECRETS_DIR, else the default when it exists."""
    named = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    if named:
        return Path(named) if is_dir(Path(named)) else None
    return DEFAULT_SECRETS_DIR if is_dir(DEFAULT_SECRETS_DIR) else None


def _refuse_special_files() -> None:
    """`.env` and the secret files must be regular files, checked before pydantic-settings opens
    them: it would wait forever on a FIFO at `.env`, and skip one among the secrets with a bare
    warning. A SettingsError names the file."""
    problem = not_regular(DOTENV)
    if problem is not None:
        raise SettingsError(f"{DOTENV} {problem}: remove it, or make it a file of NAME=value lines")
    folder = _secrets_folder()
    if folder is None:
        return
    names = {n for field in Settings.model_fields for n in (field, f"{ENV_PREFIX}{field}".lower())}
    try:
        entries = [entry for entry in folder.iterdir() if entry.name.lower() in names]
    except OSError:
        return  # an unreadable folder is pydantic-settings' to report
    for entry in sorted(entries):
        problem = not_regular(entry)
        if problem is not None:
            raise SettingsError(
                f"{ENV_PREFIX}SECRETS_DIR: {entry} {problem}: each secret must be a file"
            )


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies in it, by their absolute paths (links not followed)."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))  # noqa: PTH100


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def shard_of_run(flag: str | None, shards: int) -> Shard:
    """This process's shard: `--shard I/N` or `--shard I`, else $JOB_COMPLETION_INDEX of
    $ORCHESTRATOR_SHARDS, else the only shard; a SettingsError names the value to fix."""
    index = os.environ.get(COMPLETION_INDEX, "").strip()
    try:
        if flag is not None:
            return parse_shard(flag, shards)
        if index:
            return parse_shard(index, shards)
    except ShardError as error:
        given = flag if flag is not None else index
        where = f"--shard {flag!r}" if flag is not None else f"{COMPLETION_INDEX}={index!r}"
        if "/" not in given:
            where += f" with {ENV_PREFIX}SHARDS={shards}"
        raise SettingsError(f"{where}: {error}") from None
    if shards > 1:
        raise SettingsError(
            f"{ENV_PREFIX}SHARDS is {shards}: give this process's shard with --shard I "
            f"(0 to {shards - 1}) or set {COMPLETION_INDEX}"
        )
    return Shard()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with CLI overrides on top, or a SettingsError naming them."""
    given = {name: value for name, value in overrides.items() if value is not None}
    _refuse_special_files()
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error, set(given))) from None
    except (UnicodeDecodeError, OSError, LibrarySettingsError) as error:
        raise SettingsError(
            f"cannot read the settings (.env file or {ENV_PREFIX}SECRETS_DIR files): "
            f"{type(error).__name__}: {sanitize(str(error))}"
        ) from None


def _describe(error: ValidationError, from_flags: set[str]) -> str:
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        where = (
            f"--{field.replace('_', '-')}"
            if field in from_flags
            else f"{ENV_PREFIX}{field.upper()}"
        )
        lines.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "invalid settings:\n  " + "\n  ".join(lines)
