"""`orchestrator fake-api`: its options map onto FakeConfig, all off by default, and a taken port
is one clear line with exit code 2."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orchestrator.cli import build_parser, main
from orchestrator.cli.fake_api import _fake_config
from orchestrator.fakeapi import FakeConfig, Faults, LogNormal

FORM_OPTIONS = (
    "--direct-download",
    "--redirect-hops",
    "--late-url-polls",
    "--gzip-storage",
    "--access-tokens",
    "--missing-exports",
    "--refused-exports",
    "--unknown-state-polls",
    "--closed-empty-detail-polls",
    "--empty-exports",
    "--empty-form",
    "--job-seconds-for",
    "--ids-only-creates",
    "--early-download-url",
)


def config_of(*argv: str) -> FakeConfig:
    return _fake_config(build_parser().parse_args(["fake-api", *argv]))


def test_defaults_turn_every_fault_and_form_off() -> None:
    """With no options the fake's Faults are the all-off defaults."""
    config = config_of()
    assert config.faults == Faults()
    assert config.job_duration == (0.2, 1.0)
    assert dict(config.job_duration_by_export) == {}


def test_every_option_reaches_the_config() -> None:
    """Each answer-form option sets its FakeConfig/Faults field."""
    config = config_of(
        "--direct-download", "0.25",
        "--redirect-hops", "3",
        "--late-url-polls", "2",
        "--gzip-storage", "0.5",
        "--access-tokens",
        "--missing-exports", "author, user",
        "--refused-exports", "raw_brand_post",
        "--unknown-state-polls", "1",
        "--closed-empty-detail-polls", "4",
        "--empty-exports", "combined",
        "--empty-form", "zero",
        "--text-plain", "0.1",
        "--failing-exports", "response",
        "--job-seconds", "lognormal:20:0.5",
        "--job-seconds-for", "user=3",
        "--job-seconds-for", "author=1:2",
    )  # fmt: skip
    assert config.faults == Faults(
        direct_download=0.25,
        redirect_hops=3,
        late_url_polls=2,
        gzip_storage=0.5,
        access_tokens=True,
        missing_exports=frozenset({"author", "user"}),
        refused_exports=frozenset({"raw_brand_post"}),
        unknown_state_polls=1,
        closed_empty_detail_polls=4,
        empty_exports=frozenset({"combined"}),
        empty_form="zero",
        text_plain=0.1,
        failing_exports=frozenset({"response"}),
    )
    assert config.job_duration == LogNormal(20.0, 0.5)
    assert dict(config.job_duration_by_export) == {"user": 3.0, "author": (1.0, 2.0)}


def test_the_create_answer_options_reach_the_config() -> None:
    """--ids-only-creates and --early-download-url set their Faults fields."""
    config = config_of("--ids-only-creates", "0.5", "--early-download-url")
    assert config.faults == Faults(ids_only_creates=0.5, early_download_url=True)


def test_the_public_host_names_the_fake_in_the_urls_it_hands_out() -> None:
    """--public-host (for compose.yaml, where the run reaches the fake by its service name) sets
    the host of the URLs; by default they name loopback, as before."""
    assert config_of().public_host == "127.0.0.1"
    assert config_of("--public-host", "fake-api").public_host == "fake-api"


@pytest.mark.parametrize(
    "argv",
    [["--job-seconds", "lognormal:x:1"], ["--job-seconds-for", "user"], ["--empty-form", "none"]],
)
def test_bad_option_values_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed duration spec or choice exits 2 with argparse's message, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        config_of(*argv)
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_explains_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    """`fake-api --help` lists each answer form, and every option's help ends with its default."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fake-api", "--help"])
    stdout = capsys.readouterr().out
    chunks = re.split(r"\n  (?=-)|\n\n", stdout.split("\noptions:", 1)[1])
    entries = [chunk.strip() for chunk in chunks if chunk.strip().startswith("-")]
    described = {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries}
    assert set(FORM_OPTIONS) <= set(described)
    assert len(described) == 35
    for option, entry in described.items():
        if option != "-h":
            assert "(default:" in entry, entry
            assert len(entry.split()) > 6, f"{option} has no explanation: {entry}"


@contextmanager
def port_taken() -> Iterator[int]:
    """A loopback port held by a listening socket for the duration of the block."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def test_a_taken_port_is_one_line_and_exit_2() -> None:
    """When the API port is taken, fake-api prints one line on stderr and exits 2."""
    with port_taken() as port:
        result = subprocess.run(
            [sys.executable, "-m", "orchestrator", "fake-api", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot listen" in lines[0]
    assert str(port) in lines[0]
    assert result.stdout == ""


def test_a_taken_storage_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A taken --storage-port is exit 2 with one line on stderr as well."""
    with port_taken() as port:
        code = main(["fake-api", "--port", "0", "--storage-port", str(port)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert "cannot listen" in line and str(port) in line
