"""Settings come from flags, the environment, `.env` and mounted secret files, in that order, and
every problem names the variable or flag to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.edges.settings import load_settings
from orchestrator.errors import SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def kubernetes_secret(folder: Path, values: dict[str, str]) -> Path:
    """A secret volume as the kubelet lays it out: files are symlinks into a `..data` folder."""
    data = folder / "..2024_01_01_00_00_00.000000000"
    data.mkdir(parents=True)
    (folder / "..data").symlink_to(data.name)
    for name, value in values.items():
        (data / name).write_text(value)
        (folder / name).symlink_to(Path("..data") / name)
    return folder


def test_secrets_are_read_from_a_mounted_kubernetes_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unprefixed keys of a symlinked secret volume become the credentials."""
    folder = kubernetes_secret(
        tmp_path / "secret", {"username": "svc", "password": "s3cr3t-pw", "company_key": "acme"}
    )
    monkeypatch.setenv("ORCHESTRATOR_SECRETS_DIR", str(folder))
    assert load_settings().credentials() == ("svc", "s3cr3t-pw", "acme")


def test_prefixed_secret_files_work_too_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named ORCHESTRATOR_PASSWORD is read; an environment variable overrides any file."""
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "ORCHESTRATOR_PASSWORD").write_text("from-file")
    (folder / "username").write_text("file-user")
    monkeypatch.setenv("ORCHESTRATOR_SECRETS_DIR", str(folder))
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "env-user")
    monkeypatch.setenv("ORCHESTRATOR_COMPANY_KEY", "k")
    assert load_settings().credentials() == ("env-user", "from-file", "k")


def test_flags_override_the_environment_which_overrides_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented precedence: flag, then environment, then `.env`."""
    (tmp_path / ".env").write_text(
        "ORCHESTRATOR_MAX_IN_FLIGHT=3\nORCHESTRATOR_MAX_DOWNLOADS=7\nORCHESTRATOR_OUT=from-dotenv\n"
    )
    monkeypatch.setenv("ORCHESTRATOR_MAX_IN_FLIGHT", "5")
    monkeypatch.setenv("ORCHESTRATOR_OUT", "from-env")
    settings = load_settings(out=Path("from-flag"))
    assert (settings.max_in_flight, settings.max_downloads, settings.out) == (
        5,
        7,
        Path("from-flag"),
    )


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("ORCHESTRATOR_BASE_URL", "not a url", "is not an http(s) URL"),
        ("ORCHESTRATOR_BASE_URL", "http://analytics.example.com", "ALLOW_INSECURE_HTTP"),
        ("ORCHESTRATOR_MAX_IN_FLIGHT", "0", "greater than 0"),
        ("ORCHESTRATOR_REQUESTS_PER_MINUTE", "-5", "greater than 0"),
        ("ORCHESTRATOR_LOG_FORMAT", "xml", "auto"),
        ("ORCHESTRATOR_CA_BUNDLE", "/no/such/bundle.pem", "CA certificates"),
    ],
)
def test_bad_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    """Each invalid value is reported with the environment variable that holds it."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)
    assert words in str(caught.value)


def test_plain_http_to_another_host_needs_an_explicit_opt_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http:// is fine to loopback, and elsewhere only with ALLOW_INSECURE_HTTP."""
    assert load_settings(base_url="http://127.0.0.1:8080").base_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("ORCHESTRATOR_ALLOW_INSECURE_HTTP", "true")
    assert (
        load_settings(base_url="http://proxy.internal:8080").base_url
        == "http://proxy.internal:8080"
    )


def test_missing_credentials_name_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a password and company key, the message lists both variables."""
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "u")
    with pytest.raises(SettingsError, match="ORCHESTRATOR_PASSWORD, ORCHESTRATOR_COMPANY_KEY"):
        load_settings().credentials()


def test_secrets_never_show_in_repr_config_or_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """repr(settings), `orchestrator config` and every --help keep the secrets out."""
    monkeypatch.setenv("ORCHESTRATOR_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("ORCHESTRATOR_COMPANY_KEY", "acme-key-secret")
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "u")
    shown = repr(load_settings())
    assert main(["config"]) == 0
    for command in ([], ["run"], ["config"], ["demo"], ["fake-api"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
    shown += capsys.readouterr().out
    assert "hunter2-secret" not in shown
    assert "acme-key-secret" not in shown


def test_a_ca_bundle_that_holds_no_certificates_is_a_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA bundle file that is not PEM is reported against ORCHESTRATOR_CA_BUNDLE before any work."""
    from orchestrator.app import tls_context

    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    monkeypatch.setenv("ORCHESTRATOR_CA_BUNDLE", str(bundle))
    with pytest.raises(SettingsError, match="ORCHESTRATOR_CA_BUNDLE"):
        tls_context(load_settings())


def test_a_plain_http_allowed_origin_elsewhere_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ALLOWED_ORIGINS with http:// to a host other than loopback is exit 2, naming the variable."""
    monkeypatch.setenv("ORCHESTRATOR_ALLOWED_ORIGINS", "https://ok.example http://mirror.example")
    assert main(["config"]) == 2
    error = capsys.readouterr().err
    assert "ORCHESTRATOR_ALLOWED_ORIGINS" in error and "http://mirror.example" in error
    assert "ORCHESTRATOR_ALLOW_INSECURE_HTTP" in error


def test_insecure_allowed_origins_need_the_opt_in_and_loopback_is_fine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loopback http origins pass; others pass only with ALLOW_INSECURE_HTTP; ports normalised."""
    monkeypatch.setenv(
        "ORCHESTRATOR_ALLOWED_ORIGINS", "http://127.0.0.1:8080,https://h.example:443"
    )
    assert load_settings().allowed_origins == ("http://127.0.0.1:8080", "https://h.example")
    monkeypatch.setenv("ORCHESTRATOR_ALLOWED_ORIGINS", "http://mirror.example:80/path")
    monkeypatch.setenv("ORCHESTRATOR_ALLOW_INSECURE_HTTP", "true")
    assert load_settings().allowed_origins == ("http://mirror.example",)


def test_the_pushgateway_grouping_is_read_as_label_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """ORCHESTRATOR_PUSHGATEWAY_GROUPING="instance=nightly, env=prod" gives two labels; none is
    the default."""
    assert load_settings().pushgateway_grouping == {}
    monkeypatch.setenv("ORCHESTRATOR_PUSHGATEWAY_GROUPING", "instance=nightly, env=prod")
    assert load_settings().pushgateway_grouping == {"instance": "nightly", "env": "prod"}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("instance", "'instance' is not name=value"),
        ("in stance=x", "'in stance=x' is not name=value"),
        ("instance=", "'instance=' is not name=value"),
        ("job=other", "'job': the tool sets this label itself"),
        ("shard=0", "'shard': the tool sets this label itself"),
        ("__name__=x", "'__name__': names starting with __ are reserved"),
    ],
)
def test_an_unusable_grouping_pair_is_a_settings_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    """A pair that is not name=value, names a label the tool sets itself, or a reserved name is
    refused before any run, with the variable and the pair in the message."""
    monkeypatch.setenv("ORCHESTRATOR_PUSHGATEWAY_GROUPING", f"env=prod,{value}")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "ORCHESTRATOR_PUSHGATEWAY_GROUPING" in str(caught.value)
    assert said in str(caught.value)
